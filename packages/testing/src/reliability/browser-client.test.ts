import type { IncomingMessage, ServerResponse } from 'node:http';
import { createKsClient, type KsClient, type KsEvent } from '@kaltura-ks/browser';
import { createKs, KsError, verifyKs } from '@kaltura-ks/core';
import { createKsEngine } from '@kaltura-ks/core/http';
import type { KsMinter } from '@kaltura-ks/core/issuer';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Listening, listen, ManualTimers } from './support.js';

/**
 * The browser client (`@kaltura-ks/browser`, real `fetch`) against a real KS route on
 * loopback: `createKsEngine` from `@kaltura-ks/core/http` behind plain `node:http`, with
 * failures injected in front of it. The client's clock and timers are manual and shared
 * with the server's issuer, so renewals and back-offs happen when a test moves time; the
 * HTTP exchanges are real.
 *
 * What packages/browser/src/client.test.ts already covers with a fake `fetch`: the
 * schedule, jitter, back-off arithmetic, Retry-After, status → code mapping, timeouts,
 * 401, clock jumps, stop(). What only this file covers: the real route's answers (its
 * 503 + Retry-After, its JSON), real sockets that hang or reset, bodies that are not
 * what the route sends, a flapping route over several renewals, and that the client
 * never puts a KS in a URL.
 */

const PARTNER = 5303;
const ADMIN_SECRET = 'browser-reliability-admin-secret-0b7e';
const LIFETIME_S = 600;
const REQUEST_TIMEOUT_MS = 5_000;
const RETRY = { baseMs: 1_000, maxMs: 16_000 };

type Mode =
  /** The real route. */
  | 'ok'
  /** The real route, with Kaltura down and nothing cached: its own 503. */
  | 'down'
  /** Odd requests down, even ones ok. */
  | 'flap'
  | 'hang'
  | 'reset'
  | 'html-200'
  | 'wrong-shape'
  | 'truncated-json'
  | 'html-502';

const timers = new ManualTimers();
let mode: Mode = 'ok';
let kalturaDown = false;
let requests = 0;
const urls: string[] = [];
const hung: ServerResponse[] = [];
let server: Listening;
let client: KsClient | undefined;

/** Mints locally, or fails like a Kaltura that is down. */
const minter: KsMinter = {
  kind: 'flaky',
  async mint(request) {
    if (kalturaDown) throw new KsError('ERR_KS_NETWORK', 'Kaltura is down');
    const issuedAt = timers.now();
    const ks = createKs({
      secret: ADMIN_SECRET,
      partnerId: PARTNER,
      userId: request.userId,
      type: request.type,
      privileges: request.privileges,
      expiresInSeconds: request.expiresInSeconds,
      now: () => issuedAt,
    });
    return {
      ks,
      partnerId: PARTNER,
      userId: request.userId,
      type: request.type,
      privileges: request.privileges,
      expiresAt: (Math.floor(issuedAt / 1000) + request.expiresInSeconds) * 1000,
      issuedAt,
    };
  },
};

const engine = createKsEngine<IncomingMessage>({
  partnerId: PARTNER,
  minter,
  getUser: () => ({ id: 'alice' }),
  privileges: { sview: '*' },
  expiresInSeconds: LIFETIME_S,
  now: timers.now,
  onWarning: () => {},
});

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  requests++;
  urls.push(req.url ?? '');
  let effective = mode;
  if (mode === 'flap') effective = requests % 2 === 1 ? 'down' : 'ok';
  switch (effective) {
    case 'hang':
      hung.push(res);
      return;
    case 'reset':
      req.socket.resetAndDestroy();
      return;
    case 'html-200':
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><p>Welcome');
      return;
    case 'wrong-shape':
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ks: 42, expiresAt: 'soon' }));
      return;
    case 'truncated-json':
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ks":"djJ8');
      return;
    case 'html-502':
      res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad Gateway</h1>');
      return;
  }
  kalturaDown = effective === 'down';
  // Kaltura down and the server's cache lost (a restart): the route's own 503.
  if (kalturaDown) await engine.issuer.clear();
  const context = await engine.context(req);
  const answer = await engine.respond(req, context, {
    method: req.method ?? 'GET',
    headers: req.headers,
    renew: new URL(req.url ?? '/', 'http://localhost').searchParams.get('renew') === '1',
  });
  res.writeHead(answer.status, answer.headers).end(answer.body);
}

beforeAll(async () => {
  server = await listen((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
});

afterEach(async () => {
  client?.stop();
  client = undefined;
  for (const res of hung.splice(0)) res.destroy();
  mode = 'ok';
  await engine.issuer.clear();
});

afterAll(async () => {
  await server.close();
  await engine.close();
});

function start(): { client: KsClient; events: KsEvent[]; next: () => Promise<KsEvent> } {
  const events: KsEvent[] = [];
  let waiting: ((event: KsEvent) => void) | undefined;
  const created = createKsClient({
    url: `${server.origin}/kaltura/ks`,
    now: timers.now,
    timers: timers.provider,
    random: () => 0.5,
    crossTab: false,
    failureBackoff: RETRY,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
  });
  created.subscribe((event) => {
    events.push(event);
    const resolve = waiting;
    waiting = undefined;
    resolve?.(event);
  });
  client = created;
  return {
    client: created,
    events,
    // The next event, which a real HTTP exchange started by a timer will bring.
    next: () =>
      new Promise((resolve) => {
        waiting = resolve;
      }),
  };
}

function expectValid(ks: string) {
  const fields = verifyKs(ks, { secrets: ADMIN_SECRET, partnerId: PARTNER, now: timers.now });
  expect(fields).toMatchObject({ userId: 'alice', type: 0, privileges: 'sview:*' });
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Moves time to the next renewal or retry, and returns the event the request brings. */
async function nextAttempt(
  c: KsClient,
  next: () => Promise<KsEvent>,
): Promise<KsEvent & { at: number }> {
  const event = next();
  const before = requests;
  timers.advanceTo(Math.max(c.timing!.renewAt, timers.now()));
  const result = await event;
  expect(requests).toBe(before + 1);
  // The event is reported mid-request: let the client finish and schedule what comes next.
  await settle();
  return { ...result, at: timers.now() };
}

function errorOf(event: KsEvent) {
  if (event.type !== 'error') throw new Error(`expected an error event, got ${event.type}`);
  return event.error;
}

describe('the browser client against a real KS route', () => {
  it('while the route answers 503: keeps the valid KS, honours Retry-After, reports, recovers', async () => {
    const { client: c, next } = start();
    const first = await c.getKs();
    expectValid(first);

    mode = 'down';
    const failed = await nextAttempt(c, next);
    expect(errorOf(failed)).toMatchObject({
      code: 'ERR_KS_UNAVAILABLE',
      status: 503,
      retryAfterMs: 5_000,
    });
    expect(c.current?.ks).toBe(first);
    const seen = requests;
    expect(await c.getKs()).toBe(first); // from memory: no request
    expect(requests).toBe(seen);

    // Backs off for at least Retry-After: nothing is sent before then.
    const retryAt = c.timing!.renewAt;
    expect(retryAt - timers.now()).toBeGreaterThanOrEqual(5_000);
    timers.advanceTo(retryAt - 1);
    await settle();
    expect(requests).toBe(seen);
    expect(errorOf(await nextAttempt(c, next)).code).toBe('ERR_KS_UNAVAILABLE');

    mode = 'ok';
    const recovered = await nextAttempt(c, next);
    expect(recovered.type).toBe('ks');
    expect(c.current?.ks).not.toBe(first);
    expectValid(c.current!.ks);
    // Back to the normal schedule: the next renewal is most of a lifetime away.
    expect(c.timing!.renewAt - timers.now()).toBeGreaterThan(LIFETIME_S * 1000 * 0.5);
  });

  it('answers that are not the route’s JSON: ERR_KS_RESPONSE / ERR_KS_HTTP, growing back-off, KS kept', async () => {
    const { client: c, next } = start();
    const first = await c.getKs();
    const delays: number[] = [];
    const codes: string[] = [];
    for (const garbage of ['html-200', 'wrong-shape', 'truncated-json', 'html-502'] as const) {
      mode = garbage;
      const event = await nextAttempt(c, next);
      codes.push(errorOf(event).code);
      expect(errorOf(event).message).not.toContain('Welcome');
      delays.push(c.timing!.renewAt - event.at);
      expect(c.current?.ks).toBe(first);
    }
    expect(codes).toEqual(['ERR_KS_RESPONSE', 'ERR_KS_RESPONSE', 'ERR_KS_RESPONSE', 'ERR_KS_HTTP']);
    // Half of base × 2^n plus random() = 0.5 of the other half.
    expect(delays).toEqual([750, 1_500, 3_000, 6_000]);
    mode = 'ok';
    expect((await nextAttempt(c, next)).type).toBe('ks');
    expectValid(c.current!.ks);
  });

  it('a route that hangs: the request ends at requestTimeoutMs (ERR_KS_TIMEOUT), KS kept', async () => {
    const { client: c, next } = start();
    const first = await c.getKs();
    mode = 'hang';
    const event = next();
    timers.advanceTo(c.timing!.renewAt);
    while (hung.length === 0) await settle();
    timers.advance(REQUEST_TIMEOUT_MS);
    expect(errorOf(await event).code).toBe('ERR_KS_TIMEOUT');
    expect(c.current?.ks).toBe(first);
    mode = 'ok';
    expect((await nextAttempt(c, next)).type).toBe('ks');
  });

  it('a route that resets the connection: ERR_KS_NETWORK, KS kept, then recovers', async () => {
    const { client: c, next } = start();
    const first = await c.getKs();
    mode = 'reset';
    expect(errorOf(await nextAttempt(c, next)).code).toBe('ERR_KS_NETWORK');
    expect(c.current?.ks).toBe(first);
    mode = 'ok';
    expect((await nextAttempt(c, next)).type).toBe('ks');
    expectValid(c.current!.ks);
  });

  it('a flapping route over ten renewals: every answer handled, always a valid KS in hand', async () => {
    const { client: c, next, events } = start();
    await c.getKs();
    mode = 'flap';
    requests = 0; // the next request is odd: down
    for (let i = 0; i < 10; i++) {
      const event = await nextAttempt(c, next);
      expect(event.type).toBe(i % 2 === 0 ? 'error' : 'ks');
      expect(c.current).toBeDefined();
      expectValid(c.current!.ks);
    }
    const kinds = events.map((e) => e.type);
    expect(kinds.filter((k) => k === 'error')).toHaveLength(5);
    expect(kinds.filter((k) => k === 'ks')).toHaveLength(1 + 5);
  });

  it('failing past the expiry: reports ERR_KS_EXPIRED once, never hands out the dead KS, recovers', async () => {
    const { client: c, next, events } = start();
    await c.getKs();
    mode = 'down';
    while (c.current !== undefined) {
      const event = next();
      timers.advanceTo(Math.max(c.timing!.renewAt, timers.now()));
      await event;
      await settle();
    }
    expect(
      events.filter((e) => e.type === 'error' && e.error.code === 'ERR_KS_EXPIRED'),
    ).toHaveLength(1);
    await expect(c.getKs()).rejects.toMatchObject({ code: 'ERR_KS_UNAVAILABLE' });
    mode = 'ok';
    timers.advance(5_000); // the route's own back-off (its issuer shares this clock)
    expectValid(await c.getKs());
  });

  it('never puts a KS in a URL: every request is the route, or the route with renew=1', async () => {
    const { client: c } = start();
    await c.getKs();
    expectValid(await c.refresh());
    expect(urls.length).toBeGreaterThan(20);
    expect(urls).toContain('/kaltura/ks?renew=1');
    for (const url of urls) expect(['/kaltura/ks', '/kaltura/ks?renew=1']).toContain(url);
  });
});
