import type { Server } from 'node:http';
import { inspect } from 'node:util';
import { KsType, verifyKs } from '@kaltura-ks/core';
import { createKalturaClient, type KalturaAppTokenInput } from '@kaltura-ks/core/client';
import type { HasHeaders, KalturaKsOptions } from '@kaltura-ks/core/http';
import type { KsIssuerEvent } from '@kaltura-ks/core/issuer';
import { type Emulator, startEmulator } from '@kaltura-ks/emulator';
import request, { type Response } from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AdapterHarness, headerUser, serve, stop } from './harness.js';

/**
 * The middleware for each way that mints at Kaltura — `session.start` and an app token —
 * against the emulator on loopback. Each describe has its own emulator and one fake
 * clock, shared by the emulator (KS times) and every middleware (cache and refresh).
 * Failures are the emulator's faults. The middleware keeps the issuer's default deadlines,
 * which a loaded machine keeps; a hung request's deadline is reached on fake timers
 * (`throughHang`), never waited for.
 */

const PARTNER = 4201;
const ADMIN_SECRET = 'remote-contract-admin-secret-5c2e9a71';
const USER_SECRET = 'remote-contract-user-secret-8b1d7f03';
const START = 1_800_000_000_000;
const HOUR = 3_600_000;
const APP_ID = 'app.example.com';
/** What every KS is asked for: the contract's static privileges, then the appId. */
const ASKED = `sview:*,appid:${APP_ID}`;
/** The issuer's default: a KS with less life left than this is never handed out. */
const MIN_REMAINING_MS = 60_000;
/** The issuer's default `mintTimeoutMs`: a hung mint ends then. */
const MINT_TIMEOUT_MS = 10_000;
/**
 * Kaltura's clock as the issuer measures it on the shared clock (which stands on whole
 * seconds here): `system.getTime` answers whole seconds, so the offset is rounded up to the
 * end of that second — every `expiresAt` is this much before `validUntil`, never after.
 */
const OFFSET_MS = 1_000;

type EventType = KsIssuerEvent['type'];

interface Clock {
  now(): number;
  advance(ms: number): void;
}

interface AppToken {
  id: string;
  token: string;
}

/** One describe's world: the emulator and the clock it shares with every middleware. */
interface World {
  emulator: Emulator;
  clock: Clock;
  /** Credentials no answer or event may show. */
  secrets: string[];
}

interface Way {
  /** The action each mint makes, where mints are counted and faults set. */
  mint: { service: string; action: string };
  /** The way to mint, as middleware options. */
  options(): Partial<KalturaKsOptions<HasHeaders>>;
  /** The privileges Kaltura puts in a KS asked for `ASKED`. */
  privileges: () => string;
}

interface Intended {
  userId: string;
  type: number;
  privileges: string;
}

function fakeClock(): Clock {
  let t = START;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

/** Creates app tokens as an account owner would: an admin KS, then appToken.add, through the client. */
async function addAppTokens(
  emulator: Emulator,
  inputs: readonly KalturaAppTokenInput[],
): Promise<AppToken[]> {
  const client = createKalturaClient({ serviceUrl: emulator.url, partnerId: PARTNER });
  try {
    client.ks = await client.session.start({ secret: ADMIN_SECRET, type: KsType.ADMIN });
    const tokens: AppToken[] = [];
    for (const input of inputs) tokens.push(await client.appToken.add(input));
    return tokens;
  } finally {
    await client.close();
  }
}

/** Checks a KS the middleware handed out (the route's body or a handler's session). */
function expectIssued(res: Response, intended: Intended, now: number) {
  expect(res.status, res.text).toBe(200);
  const body = res.body as { ks: string; expiresAt: number };
  expect(body).toMatchObject({ partnerId: PARTNER, ...intended });
  const fields = verifyKs(body.ks, { secrets: ADMIN_SECRET, partnerId: PARTNER, now: () => now });
  expect({ userId: fields.userId, type: fields.type, privileges: fields.privileges }).toEqual(
    intended,
  );
  // In this server's frame: Kaltura's validUntil less its clock's offset.
  expect(body.expiresAt).toBe(fields.validUntil * 1000 - OFFSET_MS);
  // Never expired, never about to be.
  expect(body.expiresAt - now).toBeGreaterThan(MIN_REMAINING_MS);
  return body;
}

/**
 * The contract for one remote way: a fresh emulator for the describe, one app (and
 * server) per test, closed after it.
 */
function describeRemoteWay<Req extends HasHeaders>(
  harness: AdapterHarness<Req>,
  title: string,
  prepare: (world: World) => Promise<Way>,
  extra: (context: { world: () => World; open: Open }) => void,
): void {
  describe(`${harness.name}: ${title}`, () => {
    const clock = fakeClock();
    let world: World;
    let way: Way;
    const opened: { server: Server; close?: () => Promise<void> }[] = [];

    beforeAll(async () => {
      const emulator = await startEmulator({
        partners: [{ id: PARTNER, adminSecret: ADMIN_SECRET, userSecret: USER_SECRET }],
        now: clock.now,
      });
      world = { emulator, clock, secrets: [ADMIN_SECRET, USER_SECRET] };
      way = await prepare(world);
    });
    afterAll(async () => {
      await world?.emulator.close();
    });
    beforeEach(() => {
      world.emulator.resetStats();
    });
    afterEach(async () => {
      world.emulator.faults.clear();
      const closing = opened.splice(0);
      await Promise.all(closing.map(async (o) => Promise.all([stop(o.server), o.close?.()])));
    });

    const open: Open = async (overrides = {}) => {
      const events: KsIssuerEvent[] = [];
      const waiters: { type: EventType; resolve: (event: KsIssuerEvent) => void }[] = [];
      const texts: string[] = [];
      const app = harness.createApp({
        partnerId: PARTNER,
        serviceUrl: world.emulator.url,
        ...way.options(),
        getUser: headerUser(),
        privileges: { sview: '*' },
        appId: APP_ID,
        now: world.clock.now,
        failureBackoff: { baseMs: 1000, maxMs: 5000 },
        // A call's own deadline is later than the mint's: a hung mint ends at mintTimeoutMs.
        clientOptions: { retry: false, requestTimeoutMs: 2 * MINT_TIMEOUT_MS },
        onEvent: (event) => {
          events.push(event);
          for (const waiter of waiters.splice(0)) {
            if (waiter.type === event.type) waiter.resolve(event);
            else waiters.push(waiter);
          }
        },
        onWarning: () => {},
        ...overrides,
      });
      const server = await serve(app.target);
      opened.push({ server, close: app.close });
      const agent = request(server);
      const { service, action } = way.mint;
      return {
        async get(path, user) {
          const res = await (user === undefined
            ? agent.get(path)
            : agent.get(path).set('x-test-user', user));
          texts.push(res.text);
          return res;
        },
        async report(user, ks) {
          const res = await agent
            .get('/kaltura/ks')
            .set('x-test-user', user)
            .set('X-Kaltura-Rejected-Ks', ks);
          texts.push(res.text);
          return res;
        },
        events,
        next: (type) => new Promise((resolve) => waiters.push({ type, resolve })),
        mints: () => world.emulator.stats()[`${service}.${action}`] ?? 0,
        expectNoLeak() {
          const kss = new Set(texts.flatMap((text) => text.match(/"ks":"([^"]+)"/)?.[1] ?? []));
          const leaks: string[] = [];
          for (const text of new Set(texts)) {
            for (const secret of world.secrets) if (text.includes(secret)) leaks.push(text);
          }
          for (const event of events) {
            const shown = `${inspect(event, { depth: 10 })}${JSON.stringify(event)}`;
            for (const secret of [...world.secrets, ...kss]) {
              if (shown.includes(secret)) leaks.push(`${event.type} event`);
            }
          }
          expect(leaks).toEqual([]);
        },
      };
    };

    const intended = (userId: string): Intended => ({
      userId,
      type: KsType.USER,
      privileges: way.privileges(),
    });

    it('answers the route with JSON, headers and a KS from Kaltura with exactly the intended fields', async () => {
      const s = await open();
      const t0 = clock.now();
      const res = await s.get('/kaltura/ks', 'alice@example.com');
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers.vary).toBe('Cookie, Authorization');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['cross-origin-resource-policy']).toBe('same-origin');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      const body = expectIssued(res, intended('alice@example.com'), t0);
      expect(res.body).toEqual({
        ks: body.ks,
        partnerId: PARTNER,
        ...intended('alice@example.com'),
        expiresAt: t0 + HOUR - OFFSET_MS,
        renewableAt: t0 + 10_000,
        serverTime: t0,
      });
      expect(s.mints()).toBe(1);
      s.expectNoLeak();
    });

    it('answers 401 when nobody is signed in, and asks Kaltura for nothing', async () => {
      const s = await open();
      const res = await s.get('/kaltura/ks');
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: { code: 'ERR_KS_NO_USER', message: expect.any(String) } });
      expect(world.emulator.stats().total).toBe(0);
    });

    for (const mode of ['http-5xx', 'reset', 'hang'] as const) {
      it(`answers 503 while Kaltura fails (${mode}) with nothing cached, and recovers after`, async () => {
        const s = await open();
        world.emulator.faults.set({ ...way.mint, mode });
        const failed = s.next('mint-error');
        const res =
          mode === 'hang'
            ? await throughHang(s, () => s.get('/kaltura/ks', `cold-${mode}`))
            : await s.get('/kaltura/ks', `cold-${mode}`);
        expect(res.status).toBe(503);
        // Kaltura's failure, or (hung) the mint deadline: not a call's own, later one.
        expect(await failed).toMatchObject({
          consecutiveFailures: 1,
          error: {
            code: { 'http-5xx': 'ERR_KS_HTTP', reset: 'ERR_KS_NETWORK', hang: 'ERR_KS_TIMEOUT' }[
              mode
            ],
            ...(mode === 'hang' ? { message: expect.stringContaining('mintTimeoutMs') } : {}),
          },
        });
        expect(res.body.error.code).toBe('ERR_KS_UNAVAILABLE');
        expect(res.headers['retry-after']).toBe('5');
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.text).not.toMatch(/\bat .*\.ts:\d+/);
        expect(s.mints()).toBe(1);

        world.emulator.faults.clear();
        clock.advance(10_000); // past the failure backoff
        expectIssued(
          await s.get('/kaltura/ks', `cold-${mode}`),
          intended(`cold-${mode}`),
          clock.now(),
        );
        expect(s.mints()).toBe(2);
        s.expectNoLeak();
      });
    }

    it('mints lazily, and gives a handler the user and the KS the route serves', async () => {
      const s = await open();
      expect((await s.get('/static', 'lazy')).text).toBe('static');
      expect(await s.get('/api/user', 'lazy')).toMatchObject({ body: { user: { id: 'lazy' } } });
      expect(world.emulator.stats().total).toBe(0);
      const handler = expectIssued(await s.get('/api/ks', 'lazy'), intended('lazy'), clock.now());
      expect(s.mints()).toBe(1);
      const route = await s.get('/kaltura/ks', 'lazy');
      expect(route.body.ks).toBe(handler.ks);
      expect(s.mints()).toBe(1);
      s.expectNoLeak();
    });

    it('500 concurrent requests for one user make one mint at Kaltura and get one KS', async () => {
      const s = await open();
      const responses = await Promise.all(
        Array.from({ length: 500 }, () => s.get('/kaltura/ks', 'henry')),
      );
      expect(responses.filter((r) => r.status !== 200)).toEqual([]);
      expect(new Set(responses.map((r) => r.body.ks)).size).toBe(1);
      expectIssued(responses[0]!, intended('henry'), clock.now());
      expect(s.mints()).toBe(1);
      expect(world.emulator.stats()['session.startWidgetSession'] ?? 0).toBeLessThanOrEqual(1);
      expect(s.events.filter((e) => e.type === 'mint')).toHaveLength(1);
      s.expectNoLeak();
    });

    it('refreshes by the shared clock: before, inside and after the renewal window', async () => {
      const s = await open();
      const t0 = clock.now();
      const first = expectIssued(await s.get('/kaltura/ks', 'rita'), intended('rita'), t0);
      expect(first.expiresAt).toBe(t0 + HOUR - OFFSET_MS);

      // Before the window (it opens at 80% of the lifetime): the cached KS, nothing minted.
      clock.advance(2_000_000);
      expect((await s.get('/kaltura/ks', 'rita')).body.ks).toBe(first.ks);
      expect((await s.get('/api/ks', 'rita')).body.ks).toBe(first.ks);
      expect(s.mints()).toBe(1);

      // Inside it, a handler gets the cached KS at once while one background refresh runs.
      clock.advance(1_000_000);
      const refreshed = s.next('mint');
      expect((await s.get('/api/ks', 'rita')).body.ks).toBe(first.ks);
      await refreshed;
      expect(s.mints()).toBe(2);
      const second = expectIssued(await s.get('/api/ks', 'rita'), intended('rita'), clock.now());
      expect(second.ks).not.toBe(first.ks);
      expect(second.expiresAt).toBe(clock.now() + HOUR - OFFSET_MS);

      // The route hands a page a KS outside its window: inside it, it waits for a new one.
      clock.advance(3_000_000);
      const third = expectIssued(await s.get('/kaltura/ks', 'rita'), intended('rita'), clock.now());
      expect(third.ks).not.toBe(second.ks);
      expect(third.expiresAt).toBe(clock.now() + HOUR - OFFSET_MS);
      expect(s.mints()).toBe(3);

      // After the window, with less than a minute left, nobody gets it: everyone waits.
      clock.advance(HOUR - 50_000);
      const fourth = expectIssued(await s.get('/api/ks', 'rita'), intended('rita'), clock.now());
      expect(fourth.ks).not.toBe(third.ks);
      expect(s.mints()).toBe(4);
      s.expectNoLeak();
    });

    it('serves the still-valid KS while Kaltura fails, never an expired one, and recovers after', async () => {
      const s = await open();
      const t0 = clock.now();
      const first = expectIssued(await s.get('/kaltura/ks', 'sam'), intended('sam'), t0);

      world.emulator.faults.set({ ...way.mint, mode: 'http-5xx', status: 503 });
      clock.advance(3_000_000); // inside the renewal window
      const failed = s.next('mint-error');
      const stale = await s.get('/kaltura/ks', 'sam');
      expect(stale.status).toBe(200);
      expect(stale.body.ks).toBe(first.ks);
      expect(await failed).toMatchObject({
        consecutiveFailures: 1,
        error: { code: 'ERR_KS_HTTP' },
      });
      expect((await s.get('/api/ks', 'sam')).body.ks).toBe(first.ks);

      // A hung Kaltura: the answer still comes within the mint deadline, with the valid KS.
      world.emulator.faults.set({ ...way.mint, mode: 'hang' });
      clock.advance(10_000); // past the backoff
      const hung = await throughHang(s, () => s.get('/kaltura/ks', 'sam'));
      expect(hung.body.ks).toBe(first.ks);

      // Less than a minute left: never served again, 503 until Kaltura is back.
      world.emulator.faults.set({ ...way.mint, mode: 'reset' });
      clock.advance(t0 + HOUR - 50_000 - clock.now());
      const down = await s.get('/kaltura/ks', 'sam');
      expect(down.status).toBe(503);
      expect(down.body.error.code).toBe('ERR_KS_UNAVAILABLE');
      expect((await s.get('/api/ks', 'sam')).body).toEqual({ error: 'ERR_KS_UNAVAILABLE' });
      clock.advance(120_000); // past its expiry
      expect((await s.get('/kaltura/ks', 'sam')).status).toBe(503);

      world.emulator.faults.clear();
      clock.advance(10_000);
      const back = expectIssued(await s.get('/kaltura/ks', 'sam'), intended('sam'), clock.now());
      expect(back.ks).not.toBe(first.ks);
      expect(back.expiresAt).toBe(clock.now() + HOUR - OFFSET_MS);
      s.expectNoLeak();
    });

    it('a KS ended at Kaltura is replaced at once by one Kaltura accepts; nobody else can report it', async () => {
      const s = await open();
      const kaltura = createKalturaClient({ serviceUrl: world.emulator.url, partnerId: PARTNER });
      const pings = () => world.emulator.stats()['system.ping'] ?? 0;
      try {
        const first = expectIssued(await s.get('/kaltura/ks', 'kim'), intended('kim'), clock.now());
        const other = expectIssued(await s.get('/kaltura/ks', 'lee'), intended('lee'), clock.now());
        // A valid KS reported: Kaltura accepts it, the same KS comes back.
        expect((await s.report('kim', first.ks)).body.ks).toBe(first.ks);
        expect(pings()).toBe(1);

        await kaltura.session.end({ ks: first.ks });
        await expect(kaltura.system.ping({ ks: first.ks })).rejects.toMatchObject({
          kalturaCode: 'INVALID_KS',
        });
        const before = pings();

        // Another user reports it: refused, nothing asked, kim's KS untouched.
        expect((await s.report('lee', first.ks)).body.ks).toBe(other.ks);
        expect(pings()).toBe(before);

        clock.advance(10_000); // one check per key every minForcedRefreshIntervalMs
        const replaced = expectIssued(
          await s.report('kim', first.ks),
          intended('kim'),
          clock.now(),
        );
        expect(replaced.ks).not.toBe(first.ks);
        expect(pings()).toBe(before + 1);
        await expect(kaltura.system.ping({ ks: replaced.ks })).resolves.toBe(true);
        expect((await s.get('/kaltura/ks', 'kim')).body.ks).toBe(replaced.ks);
        expect(
          s.events.flatMap((e) => (e.type === 'rejected' ? [`${e.key.userId} ${e.outcome}`] : [])),
        ).toEqual(['kim accepted', 'lee stale', 'kim replaced']);
        s.expectNoLeak();
      } finally {
        await kaltura.close();
      }
    });

    extra({ world: () => world, open });
  });
}

type Session = Awaited<ReturnType<Open>>;

/**
 * `send`'s answer while Kaltura hangs the mint it makes: once the mint has reached Kaltura
 * (and Kaltura's clock has been read, so no reading is cut short), the issuer's mint deadline
 * is reached on fake timers. The answer comes from that deadline or nowhere.
 */
async function throughHang(s: Session, send: () => Promise<Response>): Promise<Response> {
  const mints = s.mints();
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  try {
    const answer = send();
    while (s.mints() === mints || !s.events.some((e) => e.type === 'clock')) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    await vi.advanceTimersByTimeAsync(MINT_TIMEOUT_MS);
    return await answer;
  } finally {
    vi.useRealTimers();
  }
}

type Open = (overrides?: Partial<KalturaKsOptions<HasHeaders>>) => Promise<{
  get(path: string, user?: string): Promise<Response>;
  /** The route, reporting `ks` as refused by Kaltura (what the browser client's `reportRejected` sends). */
  report(user: string, ks: string): Promise<Response>;
  events: KsIssuerEvent[];
  /** Resolves with the next issuer event of this type. */
  next(type: EventType): Promise<KsIssuerEvent>;
  /** Mints made at the emulator since the test began. */
  mints(): number;
  /** No answer or event so far shows a credential, and no event shows a KS. */
  expectNoLeak(): void;
}>;

/** The middleware minting at Kaltura (the emulator): `session.start`, then an app token. */
export function remoteMintContract<Req extends HasHeaders>(harness: AdapterHarness<Req>): void {
  describeRemoteWay(
    harness,
    'minting with session.start at the emulator',
    async () => ({
      mint: { service: 'session', action: 'start' },
      options: () => ({ sessionStart: { secret: ADMIN_SECRET } }),
      privileges: () => ASKED,
    }),
    ({ world, open }) => {
      it('with the user secret: USER sessions; an ADMIN one is refused by Kaltura, nothing leaked', async () => {
        const { clock } = world();
        const s = await open({ sessionStart: { secret: USER_SECRET } });
        const t0 = clock.now();
        const body = expectIssued(
          await s.get('/kaltura/ks', 'uma'),
          { userId: 'uma', type: KsType.USER, privileges: ASKED },
          t0,
        );
        expect(body.expiresAt).toBe(t0 + HOUR - OFFSET_MS);

        const admin = await open({
          sessionStart: { secret: USER_SECRET },
          getUser: headerUser({ type: KsType.ADMIN }),
          allowAdminKs: true,
        });
        const failed = admin.next('mint-error');
        expect((await admin.get('/kaltura/ks', 'root')).status).toBe(503);
        expect(await failed).toMatchObject({
          error: { code: 'ERR_KS_API', kalturaCode: 'START_SESSION_ERROR' },
        });
        expect((await admin.get('/api/ks', 'root')).body).toEqual({ error: 'ERR_KS_UNAVAILABLE' });
        s.expectNoLeak();
        admin.expectNoLeak();
      });
    },
  );

  let tokens: { main: AppToken; user: AppToken };
  describeRemoteWay(
    harness,
    'minting with an app token at the emulator',
    async (world) => {
      const [main, user] = await addAppTokens(world.emulator, [
        { hashType: 'SHA256', sessionPrivileges: 'sview:*' },
        { hashType: 'SHA256', sessionPrivileges: 'sview:*', sessionUserId: 'svc-reader' },
      ]);
      tokens = { main: main!, user: user! };
      world.secrets.push(main!.token, user!.token);
      const { id, token } = tokens.main;
      return {
        mint: { service: 'appToken', action: 'startSession' },
        options: () => ({ appToken: { id, token, hashType: 'SHA256' } }),
        // Kaltura puts the token's id first; `sview:*` is the token's to narrow, `appid` is free.
        privileges: () => `sessionid:${id},apptoken:${id},${ASKED}`,
      };
    },
    ({ open }) => {
      it('with a token that names the user: nobody gets that user’s KS (503 ERR_KS_NOT_GRANTED), nothing leaked', async () => {
        const { id, token } = tokens.user;
        const s = await open({ appToken: { id, token, hashType: 'SHA256' } });
        const failed = s.next('mint-error');
        const route = await s.get('/kaltura/ks', 'alice');
        expect(route.status).toBe(503);
        expect(route.body.error.code).toBe('ERR_KS_NOT_GRANTED');
        expect(await failed).toMatchObject({
          error: {
            code: 'ERR_KS_NOT_GRANTED',
            message: expect.stringContaining('sessionUserId'),
          },
        });
        expect((await s.get('/api/ks', 'alice')).body).toEqual({ error: 'ERR_KS_NOT_GRANTED' });
        s.expectNoLeak();
      });

      it('with the wrong hash type: 503 ERR_KS_CREDENTIALS, INVALID_APP_TOKEN_HASH in the event, nothing leaked', async () => {
        const { id, token } = tokens.main;
        const s = await open({ appToken: { id, token, hashType: 'SHA1' } });
        const failed = s.next('mint-error');
        const refused = s.next('credentials-rejected');
        const res = await s.get('/kaltura/ks', 'alice');
        expect(res.status).toBe(503);
        expect(res.body.error.code).toBe('ERR_KS_CREDENTIALS');
        expect(res.text).not.toContain('INVALID_APP_TOKEN_HASH'); // the browser learns nothing more
        expect(await failed).toMatchObject({
          error: {
            code: 'ERR_KS_CREDENTIALS',
            message: expect.stringContaining('INVALID_APP_TOKEN_HASH'),
          },
        });
        expect(await refused).toMatchObject({ kalturaCode: 'INVALID_APP_TOKEN_HASH' });
        s.expectNoLeak();
      });
    },
  );
}
