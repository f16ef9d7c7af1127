import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKsClient, type KsClientOptions, type KsEvent } from './client.js';
import { KsClientError } from './errors.js';
// One client on the fakes, the set-up client.expiry-and-merge.test.ts shares.
import { setupClient as setup } from './test-utils/client.js';
import { delay, type FakeReply, fakeServer, installBrowser } from './test-utils/fakes.js';

const HOUR = 3_600_000;

afterEach(() => {
  vi.unstubAllGlobals();
});

async function rejection(promise: Promise<unknown>): Promise<KsClientError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(KsClientError);
    return e as KsClientError;
  }
  throw new Error('expected a rejection');
}

describe('getKs', () => {
  it('fetches the KS route with cookies, no cache, and the caller init', async () => {
    const { client, fetch, clock } = setup({ init: { headers: { 'x-app': '1' } } });
    const ks = client.getKs();
    await clock.advance(0);
    expect(await ks).toBe('djJ8MTIzNDV8ks-1');
    expect(fetch.calls).toHaveLength(1);
    expect(fetch.calls[0]!.url).toBe('/kaltura/ks');
    expect(fetch.calls[0]!.init).toMatchObject({
      credentials: 'include',
      cache: 'no-store',
      headers: { 'x-app': '1' },
    });
    expect(client.current).toMatchObject({ ks: 'djJ8MTIzNDV8ks-1', userId: 'alice' });
  });

  it('shares one request between concurrent calls and serves later ones from memory', async () => {
    const { client, fetch, clock } = setup();
    const all = Promise.all([client.getKs(), client.getKs(), client.getKs()]);
    await clock.advance(0);
    expect(await all).toEqual(Array(3).fill('djJ8MTIzNDV8ks-1'));
    expect(await client.getKs()).toBe('djJ8MTIzNDV8ks-1');
    expect(fetch.calls).toHaveLength(1);
  });

  it('has no current session before the first answer', () => {
    const { client } = setup();
    expect(client.current).toBeUndefined();
  });

  it('refresh() asks for renew=1 and reports the new KS', async () => {
    const { client, fetch, clock, events } = setup({ url: '/api/ks?app=1' });
    await client.getKs();
    const ks = await client.refresh();
    await clock.advance(0);
    expect(ks).toBe('djJ8MTIzNDV8ks-2');
    expect(fetch.calls.map((c) => c.url)).toEqual(['/api/ks?app=1', '/api/ks?app=1&renew=1']);
    expect(events.map((e) => e.type === 'ks' && e.session.ks)).toEqual([
      'djJ8MTIzNDV8ks-1',
      'djJ8MTIzNDV8ks-2',
    ]);
  });

  it('fetches again when the KS has less than minRemainingMs left', async () => {
    const { client, fetch, clock } = setup({ lifetimeMs: 60_000, minRemainingMs: 20_000 });
    await client.getKs();
    clock.sleep(45_000); // no timer ran: 15 s left
    await client.getKs();
    expect(fetch.calls).toHaveLength(2);
  });
});

describe('renewal schedule', () => {
  it('renews at refreshAtFraction of the lifetime left at receipt', async () => {
    const { client, fetch, clock } = setup({ lifetimeMs: HOUR });
    await client.getKs();
    await clock.advance(0.8 * HOUR - 1);
    expect(fetch.calls).toHaveLength(1);
    await clock.advance(1);
    expect(fetch.calls).toHaveLength(2);
    expect(client.current?.ks).toBe('djJ8MTIzNDV8ks-2');
  });

  it('exposes the expiry and the next renewal on the local clock, for countdowns', async () => {
    const { client, clock } = setup({ lifetimeMs: HOUR, random: () => 0 });
    expect(client.timing).toBeUndefined();
    await client.getKs();
    const start = clock.now();
    expect(client.timing).toEqual({ expiresAt: start + HOUR, renewAt: start + 0.8 * HOUR });
    client.clear();
    expect(client.timing).toBeUndefined();
  });

  it('renews up to jitterRatio of the lifetime earlier, at random', async () => {
    const { client, fetch, clock } = setup({ lifetimeMs: HOUR, random: () => 0.5 });
    await client.getKs();
    const start = clock.now();
    await clock.advance(HOUR);
    expect(fetch.calls[1]!.at - start).toBe((0.8 - 0.5 * 0.05) * HOUR);
  });

  it('measures expiry on the server clock, from serverTime and the round trip', async () => {
    // The server's clock runs 10 minutes ahead; the answer takes 2 s to come back.
    const { client, fetch, clock } = setup({
      lifetimeMs: HOUR,
      skewMs: 600_000,
      refreshAtFraction: 0.5,
      handler: async (call, clock, server) => {
        await delay(clock, 1_000); // the server stamps serverTime half way
        const reply = server.handle(call);
        await delay(clock, 1_000);
        return reply;
      },
    });
    const sent = clock.now();
    const ks = client.getKs();
    await clock.advance(2_000);
    await ks;
    // serverTime = sent + 1 s + 10 min; offset = 10 min; expiry (local) = sent + 1 s + 1 h.
    const localExpiry = sent + 1_000 + HOUR;
    // Left at receipt (sent + 2 s) is 1 h − 1 s; renew at half of it.
    const renewAt = sent + 2_000 + (HOUR - 1_000) / 2;
    await clock.advance(renewAt - clock.now() - 1);
    expect(fetch.calls).toHaveLength(1);
    await clock.advance(1);
    expect(fetch.calls).toHaveLength(2);
    client.stop();

    // A client whose renewals all fail sees the KS expire at the server-clock expiry.
    let first = true;
    const { client: client2, clock: clock2 } = setup({
      startAt: sent,
      lifetimeMs: HOUR,
      skewMs: 600_000,
      handler: async (call, clock2, server2) => {
        if (!first) return { status: 503 };
        first = false;
        await delay(clock2, 1_000);
        const reply = server2.handle(call);
        await delay(clock2, 1_000);
        return reply;
      },
    });
    const ks2 = client2.getKs();
    await clock2.advance(2_000);
    await ks2;
    await clock2.advance(localExpiry - clock2.now() - 1);
    expect(client2.current).toBeDefined();
    await clock2.advance(1);
    expect(client2.current).toBeUndefined();
    client2.stop();
  });

  it('keeps a floor under very short lifetimes: no refresh storm (oidc-client-ts #996)', async () => {
    const { client, fetch, clock } = setup({ lifetimeMs: 2_000, minRenewIntervalMs: 10_000 });
    await client.getKs();
    await clock.advance(60_000);
    // One renewal per 10 s at most, never one per second.
    expect(fetch.calls.length).toBeLessThanOrEqual(7);
    const gaps = fetch.calls.slice(1).map((c, i) => c.at - fetch.calls[i]!.at);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(10_000);
  });

  it('does not loop when the server answers with the same KS: asks renew=1 next', async () => {
    // The server keeps its KS until it has 5 minutes left, like the real route.
    const { client, fetch, clock, events } = setup({
      lifetimeMs: HOUR,
      handler: (call, clock, server) => {
        if (!call.url.includes('renew=1') && server.current)
          return { body: { ...server.current, serverTime: clock.now() } };
        return server.handle(call);
      },
    });
    await client.getKs();
    await clock.advance(0.8 * HOUR); // proactive renewal: same KS comes back
    expect(fetch.calls.map((c) => c.url)).toEqual(['/kaltura/ks', '/kaltura/ks']);
    expect(client.current?.ks).toBe('djJ8MTIzNDV8ks-1');
    await clock.advance(0.2 * HOUR * 0.8); // the next attempt forces a new KS
    expect(fetch.calls.map((c) => c.url)).toEqual([
      '/kaltura/ks',
      '/kaltura/ks',
      '/kaltura/ks?renew=1',
    ]);
    expect(client.current?.ks).toBe('djJ8MTIzNDV8ks-2');
    expect(events.filter((e) => e.type === 'ks')).toHaveLength(2);
    client.stop();
  });
});

describe('failures', () => {
  it('backs off exponentially with jitter up to the cap, keeping the valid KS', async () => {
    let fail = false;
    const { client, fetch, clock, server, errors } = setup({
      lifetimeMs: 10 * HOUR,
      random: () => 0.5,
      failureBackoff: { baseMs: 1_000, maxMs: 16_000 },
      handler: (call) =>
        fail ? { status: 500, body: { error: { code: 'X', message: 'x' } } } : server.handle(call),
    });
    await client.getKs();
    fail = true;
    await clock.advance((0.8 - 0.025) * 10 * HOUR);
    const renewal = fetch.calls.length;
    await clock.advance(200_000);
    const gaps = fetch.calls.slice(renewal).map((c, i) => c.at - fetch.calls[renewal - 1 + i]!.at);
    // 0.75 × min(cap, base × 2^n): 750, 1500, 3000, 6000, 12000, then 12000 at the cap.
    expect(gaps.slice(0, 7)).toEqual([750, 1_500, 3_000, 6_000, 12_000, 12_000, 12_000]);
    expect(client.current?.ks).toBe('djJ8MTIzNDV8ks-1');
    expect(await client.getKs()).toBe('djJ8MTIzNDV8ks-1');
    expect(errors().every((c) => c === 'ERR_KS_HTTP')).toBe(true);
    client.stop();
  });

  it('honours Retry-After on a 503', async () => {
    let fail = false;
    const { client, fetch, clock, server, errors } = setup({
      lifetimeMs: HOUR,
      handler: (call) =>
        fail
          ? {
              status: 503,
              headers: { 'Retry-After': '30' },
              body: { error: { code: 'ERR_KS_UNAVAILABLE', message: 'down' } },
            }
          : server.handle(call),
    });
    await client.getKs();
    fail = true;
    await clock.advance(0.8 * HOUR);
    const n = fetch.calls.length;
    await clock.advance(29_999);
    expect(fetch.calls).toHaveLength(n);
    await clock.advance(1);
    expect(fetch.calls).toHaveLength(n + 1);
    expect(errors()[0]).toBe('ERR_KS_UNAVAILABLE');
    client.stop();
  });

  it('reports a real expiry once, as ERR_KS_EXPIRED, and recovers afterwards', async () => {
    let fail = false;
    const { client, clock, server, errors, events } = setup({
      lifetimeMs: HOUR,
      handler: (call) =>
        fail ? Promise.reject(new TypeError('Failed to fetch')) : server.handle(call),
    });
    await client.getKs();
    fail = true;
    await clock.advance(HOUR);
    expect(client.current).toBeUndefined();
    expect(errors().filter((c) => c === 'ERR_KS_EXPIRED')).toHaveLength(1);
    expect(
      errors()
        .filter((c) => c !== 'ERR_KS_EXPIRED')
        .every((c) => c === 'ERR_KS_NETWORK'),
    ).toBe(true);
    fail = false;
    await clock.advance(60_000);
    expect(client.current?.ks).toBe('djJ8MTIzNDV8ks-2');
    expect(events.at(-1)).toMatchObject({ type: 'ks' });
    client.stop();
  });

  it('maps statuses to codes and keeps server text and the KS out of messages', async () => {
    const cases: Array<[FakeReply | Error, string, number | undefined]> = [
      [
        { status: 403, body: { error: { code: 'ERR_KS_FORBIDDEN', message: 'no' } } },
        'ERR_KS_FORBIDDEN',
        403,
      ],
      [
        { status: 503, body: { error: { code: 'ERR_KS_UNAVAILABLE', message: 'no' } } },
        'ERR_KS_UNAVAILABLE',
        503,
      ],
      [{ status: 500, text: '<html>oops</html>' }, 'ERR_KS_HTTP', 500],
      [
        { status: 418, body: { error: { code: 'TEAPOT', message: 'ks=secret' } } },
        'ERR_KS_HTTP',
        418,
      ],
      [new TypeError('Failed to fetch'), 'ERR_KS_NETWORK', undefined],
    ];
    for (const [reply, code, status] of cases) {
      const { client, clock } = setup({
        handler: () => (reply instanceof Error ? Promise.reject(reply) : reply),
      });
      const p = client.getKs();
      await clock.advance(0);
      const e = await rejection(p);
      expect([e.code, e.status]).toEqual([code, status]);
      expect(e.message).not.toMatch(/secret|oops|djJ8/);
      client.stop();
    }
  });

  it('times out after requestTimeoutMs', async () => {
    const { client, clock, errors } = setup({
      requestTimeoutMs: 5_000,
      handler: () => new Promise<FakeReply>(() => {}),
    });
    const p = client.getKs();
    await clock.advance(5_000);
    expect((await rejection(p)).code).toBe('ERR_KS_TIMEOUT');
    expect(errors()).toEqual(['ERR_KS_TIMEOUT']);
    client.stop();
  });

  it.each<[string, FakeReply]>([
    ['non-JSON', { text: 'not json' }],
    ['an empty body', { text: '' }],
    [
      'a missing ks',
      { body: { partnerId: 1, userId: 'a', type: 0, privileges: '', expiresAt: 2, serverTime: 1 } },
    ],
    [
      'an empty ks',
      {
        body: {
          ks: '',
          partnerId: 1,
          userId: 'a',
          type: 0,
          privileges: '',
          expiresAt: 2,
          serverTime: 1,
        },
      },
    ],
    [
      'a bad type',
      {
        body: {
          ks: 'k',
          partnerId: 1,
          userId: 'a',
          type: 1,
          privileges: '',
          expiresAt: 2,
          serverTime: 1,
        },
      },
    ],
    [
      'a string expiry',
      {
        body: {
          ks: 'k',
          partnerId: 1,
          userId: 'a',
          type: 0,
          privileges: '',
          expiresAt: '2',
          serverTime: 1,
        },
      },
    ],
    [
      'an expiry before serverTime',
      {
        body: {
          ks: 'k',
          partnerId: 1,
          userId: 'a',
          type: 0,
          privileges: '',
          expiresAt: 1,
          serverTime: 2,
        },
      },
    ],
    ['an array', { body: [] }],
    ['null', { body: null }],
  ])('rejects %s with ERR_KS_RESPONSE and keeps the valid KS', async (_, garbage) => {
    let bad = false;
    const { client, clock, server } = setup({
      handler: (call) => (bad ? garbage : server.handle(call)),
    });
    await client.getKs();
    bad = true;
    const e = await rejection(client.refresh());
    expect(e.code).toBe('ERR_KS_RESPONSE');
    expect(client.current?.ks).toBe('djJ8MTIzNDV8ks-1');
    expect(await client.getKs()).toBe('djJ8MTIzNDV8ks-1');
    await clock.advance(0);
    client.stop();
  });

  it('drops the KS and stops renewing on a 401 mid-session', async () => {
    let signedIn = true;
    const { client, clock, server, events, fetch } = setup({
      lifetimeMs: HOUR,
      handler: (call) =>
        signedIn
          ? server.handle(call)
          : { status: 401, body: { error: { code: 'ERR_KS_NO_USER', message: 'who?' } } },
    });
    await client.getKs();
    signedIn = false;
    await clock.advance(0.8 * HOUR);
    expect(client.current).toBeUndefined();
    expect(events.slice(1).map((e) => (e.type === 'error' ? e.error.code : e.type))).toEqual([
      'clear',
      'ERR_KS_NO_USER',
    ]);
    expect(clock.pending).toBe(0);
    const n = fetch.calls.length;
    await clock.advance(10 * HOUR);
    expect(fetch.calls).toHaveLength(n);
    expect((await rejection(client.getKs())).code).toBe('ERR_KS_NO_USER');
    client.stop();
  });
});

describe('wake handling', () => {
  async function asleep(event?: [target: 'window' | 'document', type: string]) {
    const browser = installBrowser();
    const t = setup({ lifetimeMs: HOUR, checkIntervalMs: 30_000 });
    await t.client.getKs();
    // The laptop sleeps 2 hours: timers do not count that time.
    t.clock.sleep(2 * HOUR);
    if (event) browser[event[0]].dispatch(event[1]);
    await t.clock.advance(0);
    return t;
  }

  it.each([
    ['document', 'visibilitychange'],
    ['window', 'pageshow'],
    ['window', 'online'],
    ['window', 'focus'],
  ] as const)('renews at once on %s %s after sleep (oidc-client-ts #251)', async (target, type) => {
    const { client, fetch } = await asleep([target, type]);
    expect(fetch.calls).toHaveLength(2);
    expect(client.current?.ks).toBe('djJ8MTIzNDV8ks-2');
    client.stop();
  });

  it('notices a wall-clock jump within checkIntervalMs without any event', async () => {
    const { client, fetch, clock, errors } = await asleep();
    expect(fetch.calls).toHaveLength(1);
    await clock.advance(30_000);
    expect(fetch.calls).toHaveLength(2);
    expect(client.current?.ks).toBe('djJ8MTIzNDV8ks-2');
    expect(errors()).toEqual([]); // renewed, not reported as expired
    client.stop();
  });

  it('renews at once when the local clock is turned back', async () => {
    const { client, fetch, clock } = setup({ lifetimeMs: HOUR });
    await client.getKs();
    clock.set(clock.now() - 2 * HOUR);
    await clock.advance(30_000);
    expect(fetch.calls).toHaveLength(2);
    client.stop();
  });

  it('retries at once when the page comes back online, without waiting for the backoff', async () => {
    const browser = installBrowser();
    let online = true;
    const { client, fetch, clock, server } = setup({
      lifetimeMs: HOUR,
      failureBackoff: { baseMs: 60_000, maxMs: 60_000 },
      handler: (call) => (online ? server.handle(call) : Promise.reject(new TypeError('offline'))),
    });
    await client.getKs();
    online = false;
    await clock.advance(0.8 * HOUR);
    expect(client.current?.ks).toBe('djJ8MTIzNDV8ks-1'); // kept while valid
    const n = fetch.calls.length;
    online = true;
    browser.window.dispatch('online');
    await clock.advance(0);
    expect(fetch.calls).toHaveLength(n + 1);
    expect(client.current?.ks).toBe('djJ8MTIzNDV8ks-2');
    client.stop();
  });
});

describe('clock jumps never produce an expired KS', () => {
  /** A client holding a 1-hour KS, whose route fails from then on until `up()`. */
  async function failingRoute() {
    let failing = false;
    const t = setup({
      lifetimeMs: HOUR,
      handler: (call) =>
        failing
          ? { status: 503, body: { error: { code: 'ERR_KS_UNAVAILABLE', message: 'down' } } }
          : t.server.handle(call),
    });
    await t.client.getKs();
    failing = true;
    const expiresAtMono = t.clock.monotonic() + HOUR;
    /** What getKs() answers now: the KS, or the error code. */
    const ask = async () => {
      const p = t.client.getKs().catch((e: KsClientError) => e.code);
      await t.clock.advance(0);
      return p;
    };
    return {
      ...t,
      ask,
      leftMs: () => expiresAtMono - t.clock.monotonic(),
      up: () => {
        failing = false;
      },
    };
  }

  it('the wall clock turned back 2 hours: getKs() and current stop at the real expiry', async () => {
    const { client, clock, ask, leftMs } = await failingRoute();
    clock.set(clock.now() - 2 * HOUR);
    const late: string[] = [];
    while (leftMs() > -10 * 60_000) {
      const answer = await ask();
      if (leftMs() <= 0 && (answer === 'djJ8MTIzNDV8ks-1' || client.current))
        late.push(`${-leftMs()} ms after expiry`);
      if (leftMs() > 10_000) expect(answer).toBe('djJ8MTIzNDV8ks-1');
      await clock.advance(20_000);
    }
    expect(late).toEqual([]);
    expect(client.current).toBeUndefined();
    client.stop();
  });

  it('the wall clock turned forward 2 hours: nothing expired is handed out either', async () => {
    const { client, clock, ask } = await failingRoute();
    clock.set(clock.now() + 2 * HOUR);
    expect(client.current).toBeUndefined();
    expect(await ask()).toBe('ERR_KS_UNAVAILABLE');
    client.stop();
  });

  it('after the clock is turned back, the retries go on and a KS comes once the route is back', async () => {
    const { client, clock, up, events, server } = await failingRoute();
    await clock.advance(0.8 * HOUR + 10_000); // the renewal is failing, with backoff
    expect(events.at(-1)).toMatchObject({ type: 'error' });
    clock.set(clock.now() - 2 * HOUR);
    server.skewMs = 2 * HOUR; // the server's clock did not move
    up();
    await clock.advance(60_000);
    expect(client.current?.ks).toBe('djJ8MTIzNDV8ks-2');
    client.stop();
  });

  it('timing counts down to the real expiry after a jump', async () => {
    const { client, clock } = setup({ lifetimeMs: HOUR });
    await client.getKs();
    const start = clock.now();
    clock.set(start - 2 * HOUR);
    expect(client.timing?.expiresAt).toBe(start - 2 * HOUR + HOUR);
    client.stop();
  });
});

describe('reportRejected', () => {
  /** A route that mints a new KS when it gets a report of its current one. */
  function reporting(options: KsClientOptions = {}) {
    const t = setup({
      ...options,
      handler: (call) => {
        const reported = (call.init.headers as Record<string, string> | undefined)?.[
          'X-Kaltura-Rejected-Ks'
        ];
        if (reported === t.server.current?.ks) t.server.mint();
        return t.server.handle(call);
      },
    });
    return t;
  }

  it('sends the refused KS in a header, never in the URL, and takes the new KS', async () => {
    const { client, fetch, clock, events } = reporting({ init: { headers: { 'x-app': '1' } } });
    await client.getKs();
    const ks = client.reportRejected();
    await clock.advance(0);
    expect(await ks).toBe('djJ8MTIzNDV8ks-2');
    expect(fetch.calls[1]!.url).toBe('/kaltura/ks');
    expect(fetch.calls[1]!.init.headers).toEqual({
      'x-app': '1',
      'X-Kaltura-Rejected-Ks': 'djJ8MTIzNDV8ks-1',
    });
    expect(client.current?.ks).toBe('djJ8MTIzNDV8ks-2');
    expect(events.map((e) => e.type)).toEqual(['ks', 'ks']);
  });

  it('takes init.headers only as a plain object (typed): a Headers instance would spread to nothing in a report', () => {
    // The report spreads init.headers and adds its own; a Headers instance (or an array) would
    // lose the app's Authorization there, so the option's type refuses both (pnpm typecheck).
    const options: KsClientOptions = {
      // @ts-expect-error a Headers instance is not a Record<string, string>
      init: { headers: new Headers({ authorization: 'Bearer t' }) },
    };
    expect({ ...(options.init?.headers as object) }).toEqual({});
    // @ts-expect-error nor is an array of pairs
    const pairs: KsClientOptions = { init: { headers: [['authorization', 'Bearer t']] } };
    expect(pairs.init).toBeDefined();
  });

  it('a KS the client no longer holds is not reported: the current one is answered', async () => {
    const { client, fetch, clock } = reporting();
    await client.getKs();
    await client.refresh();
    const ks = client.reportRejected('djJ8MTIzNDV8ks-1');
    await clock.advance(0);
    expect(await ks).toBe('djJ8MTIzNDV8ks-2');
    expect(fetch.calls).toHaveLength(2);
  });

  it('when the server keeps the KS (Kaltura accepts it), the same KS comes back', async () => {
    const { client, fetch, clock, server } = setup();
    await client.getKs();
    const ks = client.reportRejected('djJ8MTIzNDV8ks-1');
    await clock.advance(0);
    expect(await ks).toBe('djJ8MTIzNDV8ks-1');
    expect(fetch.calls).toHaveLength(2);
    expect(server.minted).toBe(1);
  });

  it('rejects once the client is stopped', async () => {
    const { client } = reporting();
    await client.getKs();
    client.stop();
    expect((await rejection(client.reportRejected())).code).toBe('ERR_KS_ABORTED');
  });
});

describe('subscribe and stop', () => {
  it('unsubscribe stops the reports', async () => {
    const { client, clock } = setup();
    const seen: KsEvent[] = [];
    const off = client.subscribe((e) => seen.push(e));
    await client.getKs();
    off();
    await client.refresh();
    await clock.advance(0);
    expect(seen).toHaveLength(1);
  });

  it('a throwing listener does not break the others', async () => {
    const { client, events } = setup();
    const thrown: unknown[] = [];
    // The client rethrows a listener's error in a microtask, where the page reports it.
    vi.stubGlobal('queueMicrotask', (fn: () => void) => {
      try {
        fn();
      } catch (e) {
        thrown.push(e);
      }
    });
    client.subscribe(() => {
      throw new Error('listener bug');
    });
    await client.getKs();
    expect(events).toHaveLength(1);
    expect(thrown).toEqual([new Error('listener bug')]);
  });

  it('stop() leaves no timer, listener or channel and rejects pending calls', async () => {
    const browser = installBrowser();
    const { client, clock, fetch } = setup({
      crossTab: true,
      handler: () => new Promise<FakeReply>(() => {}),
    });
    // pageshow, online, focus and visibilitychange, which bubbles up from the document.
    expect(browser.window.count).toBe(4);
    expect(browser.document.count).toBe(0);
    expect(browser.hub.open.size).toBe(1);
    const p = client.getKs();
    await clock.advance(100);
    expect(fetch.calls).toHaveLength(1);
    client.stop();
    expect((await rejection(p)).code).toBe('ERR_KS_ABORTED');
    expect(clock.pending).toBe(0);
    expect(browser.window.count).toBe(0);
    expect(browser.document.count).toBe(0);
    expect(browser.hub.open.size).toBe(0);
    expect((await rejection(client.getKs())).code).toBe('ERR_KS_ABORTED');
    expect((await rejection(client.refresh())).code).toBe('ERR_KS_ABORTED');
  });

  it('stop() after a session is established clears the renewal timers', async () => {
    const { client, clock } = setup();
    await client.getKs();
    expect(clock.pending).toBeGreaterThan(0);
    client.stop();
    client.stop();
    expect(clock.pending).toBe(0);
  });

  it('clear() during a request rejects the callers and drops the late answer', async () => {
    const { client, clock } = setup({
      handler: async (call) => {
        await delay(clock, 1_000);
        return fakeServer(clock).handle(call);
      },
    });
    const p = client.getKs();
    await clock.advance(500);
    client.clear();
    expect((await rejection(p)).code).toBe('ERR_KS_ABORTED');
    await clock.advance(1_000);
    expect(client.current).toBeUndefined();
    expect(clock.pending).toBe(0);
  });

  it('keeps retrying in the background after a failed first request, then recovers', async () => {
    let up = false;
    const { client, clock, server, events } = setup({
      handler: (call) => (up ? server.handle(call) : { status: 503 }),
    });
    const first = client.getKs();
    await clock.advance(0);
    expect((await rejection(first)).code).toBe('ERR_KS_UNAVAILABLE');
    up = true;
    await clock.advance(1_000);
    expect(client.current?.ks).toBe('djJ8MTIzNDV8ks-1');
    expect(events.map((e) => e.type)).toEqual(['error', 'ks']);
    client.stop();
  });

  // Logout, then a sign-in as someone else while the old request is still under way: the
  // new call is not one that clear() cut short.
  it('a call made after clear() is not cut short by it: it asks the server', async () => {
    const { client, clock, server, fetch } = setup({
      handler: async (call, clock, server) => {
        await delay(clock, 1_000);
        return server.handle(call);
      },
    });
    const before = client.getKs();
    await clock.advance(500);
    client.clear();
    server.userId = 'bob';
    const after = client.getKs();
    expect((await rejection(before)).code).toBe('ERR_KS_ABORTED');
    await clock.advance(1_000);
    expect(await after).toBe('djJ8MTIzNDV8ks-1');
    expect(client.current?.userId).toBe('bob');
    expect(fetch.calls).toHaveLength(2);
    client.stop();
  });

  it('clear() forgets the session and stops renewing', async () => {
    const { client, clock, events } = setup();
    await client.getKs();
    client.clear();
    expect(client.current).toBeUndefined();
    expect(events.at(-1)).toEqual({ type: 'clear' });
    expect(clock.pending).toBe(0);
  });
});

describe('options', () => {
  it.each<[string, KsClientOptions]>([
    ['refreshAtFraction', { refreshAtFraction: 1.5 }],
    ['refreshAtFraction', { refreshAtFraction: 0 }],
    ['jitterRatio', { jitterRatio: -0.1 }],
    ['jitterRatio', { jitterRatio: 0.9 }],
    // Not numbers, though `!value` and `value <= max` take them for 0 (plain JS, JSON).
    ['jitterRatio', { jitterRatio: null as unknown as number }],
    ['jitterRatio', { jitterRatio: false as unknown as number }],
    ['jitterRatio', { jitterRatio: '' as unknown as number }],
    ['minRenewIntervalMs', { minRenewIntervalMs: 0 }],
    ['minRemainingMs', { minRemainingMs: Number.NaN }],
    ['checkIntervalMs', { checkIntervalMs: -1 }],
    ['failureBackoff.baseMs', { failureBackoff: { baseMs: 100_000 } }],
    ['failureBackoff.maxMs', { failureBackoff: { maxMs: 0 } }],
    ['requestTimeoutMs', { requestTimeoutMs: Number.POSITIVE_INFINITY }],
    ['url', { url: '' }],
  ])('rejects a bad %s when the client is created', (name, options) => {
    let error: unknown;
    try {
      createKsClient({ crossTab: false, ...options });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KsClientError);
    expect(error).toMatchObject({
      code: 'ERR_KS_INVALID_OPTION',
      message: expect.stringContaining(name),
    });
  });
});

describe('option names', () => {
  it("takes the issuer's names; the old ones are type errors", () => {
    const options: KsClientOptions = {
      refreshAtFraction: 0.5,
      minRemainingMs: 1_000,
      failureBackoff: { baseMs: 100, maxMs: 1_000 },
    };
    // @ts-expect-error renamed refreshAtFraction
    const renew: KsClientOptions = { renewAtFraction: 0.5 };
    // @ts-expect-error renamed minRemainingMs
    const validity: KsClientOptions = { minValidityMs: 1_000 };
    // @ts-expect-error renamed failureBackoff
    const retry: KsClientOptions = { retry: { baseMs: 100 } };
    expect([options, renew, validity, retry]).toHaveLength(4);
  });
});
