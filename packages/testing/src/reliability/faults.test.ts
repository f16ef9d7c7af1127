import { KsType, verifyKs } from '@kaltura-ks/core';
import { createKalturaClient } from '@kaltura-ks/core/client';
import { createKsIssuer } from '@kaltura-ks/core/issuer';
import { type Emulator, type FaultRule, startEmulator } from '@kaltura-ks/emulator';
import type { ExpressKalturaKsOptions } from '@kaltura-ks/express';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  activeResources,
  addAppTokens,
  processListeners,
  type RouteApp,
  settleResources,
  startRoute,
  testClock,
} from './support.js';

/**
 * Kaltura failing in every way the emulator can fail, for every way to mint.
 *
 * The emulator and every issuer share one fake clock, so "the cached KS is in its
 * renewal window" is one move of the clock, and so is "the failure back-off is over".
 * The only real waits are the deadlines of requests Kaltura never answers in time
 * (`hang`, and `delay` past the deadline): mintTimeoutMs is 200 ms for that reason.
 *
 * The last test closes everything and checks that nothing is left behind: no socket,
 * server or timer beyond what was there before the suite, no new process listener,
 * no unhandled rejection.
 */

const PARTNER = 5301;
const ADMIN_SECRET = 'reliability-admin-secret-6f1d0b2c';
const USER_SECRET = 'reliability-user-secret-93ae57d4';
const LIFETIME_S = 3600;
const MINT_TIMEOUT_MS = 200;
/**
 * Scheduling and loopback slack on top of a deadline. A 2-core machine shared with other
 * test runs stalls for a few hundred ms now and then (a 450 ms bound once failed by 0.1 ms);
 * the bound keeps its meaning as long as it stays below what a caller who was not released
 * at the deadline would wait: a Kaltura answer slower than the deadline (1.5 s here), or a
 * few mints one after another (8 concurrent new users, 1.6 s).
 */
const SLACK_MS = 550;
/** No request may take longer than this while Kaltura fails. */
const BOUND_MS = MINT_TIMEOUT_MS + SLACK_MS;
const BACKOFF_MS = 1_000;
/** New users asking at once while Kaltura fails. */
const CONCURRENT_USERS = 8;

const clock = testClock();
let emulator: Emulator;
let appToken: { id: string; token: string };
const opened: RouteApp[] = [];
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => {
  rejections.push(reason);
};
let baselineResources: Map<string, number>;
let baselineListeners: Record<string, number>;

beforeAll(async () => {
  baselineResources = activeResources();
  baselineListeners = processListeners();
  process.on('unhandledRejection', onRejection);
  emulator = await startEmulator({
    partners: [{ id: PARTNER, adminSecret: ADMIN_SECRET, userSecret: USER_SECRET }],
    now: clock.now,
  });
  [appToken] = (await addAppTokens(emulator.url, PARTNER, ADMIN_SECRET, [{}])) as [
    { id: string; token: string },
  ];
});

afterEach(async () => {
  emulator.faults.clear();
  await Promise.all(opened.splice(0).map((app) => app.close()));
});

afterAll(async () => {
  await Promise.all(opened.splice(0).map((app) => app.close()));
  await emulator?.close();
  process.off('unhandledRejection', onRejection);
});

interface Way {
  name: string;
  options(): Partial<ExpressKalturaKsOptions>;
}

const WAYS: Way[] = [
  {
    name: 'session.start',
    options: () => ({ sessionStart: { secret: ADMIN_SECRET } }),
  },
  {
    name: 'an app token',
    options: () => ({ appToken: { id: appToken.id, token: appToken.token } }),
  },
];

const FAULTS: { label: string; rule: FaultRule }[] = [
  { label: 'HTTP 503', rule: { mode: 'http-5xx', status: 503 } },
  { label: 'connection resets', rule: { mode: 'reset' } },
  { label: 'hung requests', rule: { mode: 'hang' } },
  { label: 'answers slower than the deadline', rule: { mode: 'delay', latencyMs: 1_500 } },
  { label: 'malformed JSON', rule: { mode: 'malformed' } },
  { label: 'a Kaltura error', rule: { mode: 'kaltura-error' } },
];

/**
 * Per app: mint failures the issuer reported (to know when every mint in flight has
 * ended) and requests its Kaltura client sent (counted as they leave, unlike the
 * emulator's stats, which also count a request the client gave up on before it arrived).
 */
interface Counts {
  mintErrors: number;
  requests: number;
  /** Calls the Kaltura client started, and those that failed. */
  calls: number;
  failures: number;
  /** Called after each client event. */
  onClientEvent?: () => void;
}
const counters = new WeakMap<RouteApp, Counts>();

async function open(way: Way): Promise<RouteApp> {
  const counts: Counts = { mintErrors: 0, requests: 0, calls: 0, failures: 0 };
  const app = await startRoute({
    partnerId: PARTNER,
    serviceUrl: emulator.url,
    ...way.options(),
    now: clock.now,
    expiresInSeconds: LIFETIME_S,
    mintTimeoutMs: MINT_TIMEOUT_MS,
    failureBackoff: { baseMs: BACKOFF_MS, maxMs: BACKOFF_MS },
    onEvent: (event) => {
      if (event.type === 'mint-error') counts.mintErrors++;
    },
    clientOptions: {
      onEvent: (event) => {
        if (event.type === 'request') {
          counts.requests++;
          if (event.attempt === 1) counts.calls++;
        }
        if (event.type === 'failure') counts.failures++;
        counts.onClientEvent?.();
      },
    },
  });
  counters.set(app, counts);
  opened.push(app);
  return app;
}

/** Where the app's Kaltura calls stood when Kaltura began to fail. */
function faultBegins(app: RouteApp): { calls: number; failures: number } {
  const { calls, failures } = counters.get(app)!;
  return { calls, failures };
}

/**
 * Waits (for real: the calls are real requests ending at their deadline) until every call
 * the app's Kaltura client started since Kaltura began to fail has failed: a caller stops
 * waiting at mintTimeoutMs, but its mint (or a clock reading) may still be retrying
 * against Kaltura a few ms longer.
 */
async function callsEnded(
  app: RouteApp,
  since: { calls: number; failures: number },
): Promise<void> {
  const counts = counters.get(app)!;
  const done = () => counts.failures - since.failures >= counts.calls - since.calls;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    new Promise<void>((resolve) => {
      counts.onClientEvent = () => {
        if (done()) resolve();
      };
      counts.onClientEvent();
    }),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 4 * BOUND_MS); // a bound, not a wait: the assertion follows
    }),
  ]);
  clearTimeout(timer);
  counts.onClientEvent = undefined;
  expect(counts.failures - since.failures).toBe(counts.calls - since.calls);
}

/**
 * The first KS of a healthy Kaltura, before any fault: setup, not the subject. A cold mint
 * (a connection, the app-token flow's widget session, the clock reading) has only the 200 ms
 * deadline, which a heavily loaded machine can miss; then the next attempt, past the back-off,
 * joins the mint still under way, finds its late KS cached, or mints on a warm connection.
 */
async function warmUp(app: RouteApp, user: string) {
  let answer = await app.get(user);
  for (let attempt = 1; answer.status !== 200 && attempt < 5; attempt++) {
    clock.advance(BACKOFF_MS + 1);
    answer = await app.get(user);
  }
  return answer;
}

function expectValid(ks: string, userId: string) {
  const fields = verifyKs(ks, { secrets: ADMIN_SECRET, partnerId: PARTNER, now: clock.now });
  expect(fields.userId).toBe(userId);
  expect(fields.type).toBe(KsType.USER);
}

describe.each(WAYS)('minting through $name while Kaltura fails', (way) => {
  it.each(FAULTS)(
    `$label: the cached KS is still served, new users get a prompt 503, and the same issuer recovers`,
    async ({ rule }) => {
      const route = await open(way);
      const first = await warmUp(route, 'cached');
      expect(first.status, first.text).toBe(200);
      const cachedKs: string = first.json.ks;

      // The KS is now due for renewal but still valid, and Kaltura starts failing.
      clock.advance(LIFETIME_S * 1000 * 0.85);
      emulator.faults.set(rule);
      const failing = faultBegins(route);

      const cached = await route.get('cached');
      expect(cached.status, cached.text).toBe(200);
      expect(cached.json.ks).toBe(cachedKs);
      expect(cached.ms).toBeLessThan(BOUND_MS);
      // Server-side code (no `fresh`) gets it at once, from memory.
      const direct = await route.engine.issuer.getKs({ userId: 'cached' });
      expect(direct.ks).toBe(cachedKs);

      const users = Array.from({ length: CONCURRENT_USERS }, (_, i) => `new-${i}`);
      const answers = await Promise.all(users.map((user) => route.get(user)));
      for (const answer of answers) {
        expect(answer.status, answer.text).toBe(503);
        expect(answer.json).toEqual({
          error: { code: 'ERR_KS_UNAVAILABLE', message: expect.any(String) },
        });
        expect(answer.headers['retry-after']).toBe('5');
        expect(answer.headers['cache-control']).toBe('no-store');
        expect(answer.ms).toBeLessThan(BOUND_MS);
      }

      // Kaltura is down for everyone: while backing off, the issuer answers every user at
      // once, without asking Kaltura again.
      await callsEnded(route, failing);
      expect(counters.get(route)!.mintErrors).toBeGreaterThanOrEqual(1);
      const sent = counters.get(route)!.requests;
      for (const user of [users[0], 'someone-else']) {
        const again = await route.get(user);
        expect(again.status).toBe(503);
        expect(again.json.error.code).toBe('ERR_KS_UNAVAILABLE');
        expect(again.ms).toBeLessThan(BOUND_MS);
      }
      expect(counters.get(route)!.requests).toBe(sent);

      // Kaltura recovers; once the back-off is over the same issuer mints again.
      emulator.faults.clear();
      clock.advance(BACKOFF_MS + 1);
      const recovered = await route.get(users[0]);
      expect(recovered.status, recovered.text).toBe(200);
      expectValid(recovered.json.ks, users[0]!);
      const renewed = await route.get('cached');
      expect(renewed.status, renewed.text).toBe(200);
      expect(renewed.json.ks).not.toBe(cachedKs);
      expectValid(renewed.json.ks, 'cached');
      expect(route.errors).toEqual([]);
    },
  );

  it('answers that are slow but within the deadline are simply slower', async () => {
    const route = await open(way);
    await warmUp(route, 'warm'); // the app-token way caches its widget session here
    emulator.faults.set({ mode: 'delay', latencyMs: 60 });
    const slow = await route.get('slow');
    expect(slow.status, slow.text).toBe(200);
    expectValid(slow.json.ks, 'slow');
    expect(slow.ms).toBeGreaterThanOrEqual(60);
    expect(slow.ms).toBeLessThan(BOUND_MS);
  });
});

describe('minting locally (adminSecret) while Kaltura fails', () => {
  it.each(FAULTS)(
    '$label: minting is unaffected, and revoke({ endSession }) returns within the deadline',
    async ({ rule }) => {
      const issuer = createKsIssuer({
        partnerId: PARTNER,
        adminSecret: ADMIN_SECRET,
        serviceUrl: emulator.url,
        now: clock.now,
        mintTimeoutMs: MINT_TIMEOUT_MS,
      });
      try {
        const before = await issuer.getKs({ userId: 'local' });
        emulator.faults.set(rule);
        const started = performance.now();
        expect(await issuer.revoke('local', { endSession: true })).toBe(1);
        expect(performance.now() - started).toBeLessThan(BOUND_MS);
        const after = await issuer.getKs({ userId: 'local' });
        expect(after.ks).not.toBe(before.ks);
        expectValid(after.ks, 'local');
      } finally {
        await issuer.close();
      }
    },
  );

  it('with Kaltura healthy, revoke({ endSession }) ends the KS at Kaltura', async () => {
    const issuer = createKsIssuer({
      partnerId: PARTNER,
      adminSecret: ADMIN_SECRET,
      serviceUrl: emulator.url,
      now: clock.now,
      mintTimeoutMs: MINT_TIMEOUT_MS,
    });
    const client = createKalturaClient({ serviceUrl: emulator.url, partnerId: PARTNER });
    try {
      const { ks } = await issuer.getKs({ userId: 'ended' });
      expect(await client.request('baseEntry', 'list', {}, { ks })).toBeTruthy();
      await issuer.revoke('ended', { endSession: true });
      await expect(client.request('baseEntry', 'list', {}, { ks })).rejects.toMatchObject({
        kalturaCode: 'INVALID_KS',
      });
    } finally {
      await Promise.all([issuer.close(), client.close()]);
    }
  });
});

// Runs last (tests in a file run in order): everything above must have let go.
describe('after every fault', () => {
  it('leaves no socket, server, timer or process listener behind, and no unhandled rejection', async () => {
    await Promise.all(opened.splice(0).map((app) => app.close()));
    await emulator.close();
    expect(await settleResources(baselineResources)).toEqual({});
    expect(processListeners()).toEqual({
      ...baselineListeners,
      unhandledRejection: baselineListeners.unhandledRejection! + 1, // ours, removed in afterAll
    });
    expect(rejections).toEqual([]);
  });
});
