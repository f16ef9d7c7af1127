// The tabs' coordination (cross-tab.ts) at its edges: the lock granted before the holder's
// message arrives, a tab stopped while it queues, the election's tickets and its waits.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKsClient, type KsClient, type KsEvent } from './client.js';
import {
  type Browser,
  delay,
  FakeClock,
  type FakeReply,
  type FetchCall,
  fakeFetch,
  fakeServer,
  installBrowser,
} from './test-utils/fakes.js';

const HOUR = 3_600_000;
const TIMEOUT = 1_000;

afterEach(() => {
  vi.unstubAllGlobals();
});

/**
 * Two tabs whose answers take 500 ms. `slowChannel`: messages arrive 10 ms after they are
 * posted (Chromium can grant a lock before it delivers the message posted before release).
 */
async function twoTabs({
  noLocks = false,
  random = [() => 0.5, () => 0.25],
  slowChannel = false,
  handler,
}: {
  noLocks?: boolean;
  random?: [() => number, () => number];
  slowChannel?: boolean;
  handler?: (call: FetchCall, n: number, clock: FakeClock) => FakeReply | Promise<FakeReply>;
} = {}) {
  const browser: Browser = installBrowser({ noLocks });
  const clock = new FakeClock();
  if (slowChannel) {
    const Base = browser.hub.Channel;
    vi.stubGlobal(
      'BroadcastChannel',
      class extends Base {
        override postMessage(data: unknown) {
          void delay(clock, 10).then(() => super.postMessage(data));
        }
      },
    );
  }
  const server = fakeServer(clock, { lifetimeMs: HOUR });
  let n = 0;
  const fetch = fakeFetch(clock, async (call) => {
    const i = ++n;
    await delay(clock, 500);
    return handler ? handler(call, i, clock) : server.handle(call);
  });
  const events: KsEvent[][] = [[], []];
  const clients = random.map((r, i) => {
    const client = createKsClient({
      fetch,
      now: clock.now,
      monotonic: clock.monotonic,
      timers: clock.provider,
      random: r,
      requestTimeoutMs: TIMEOUT,
    });
    client.subscribe((e) => events[i]!.push(e));
    return client;
  }) as [KsClient, KsClient];
  // Each tab fetches its first KS itself (and so knows its user).
  const first = Promise.all(clients.map((c) => c.getKs()));
  await clock.advance(1_000);
  await first;
  const settled = <T>(p: Promise<T>) => {
    const state: { value?: T; error?: unknown; done: boolean } = { done: false };
    p.then(
      (value) => Object.assign(state, { value, done: true }),
      (error) => Object.assign(state, { error, done: true }),
    );
    return state;
  };
  return { browser, clock, server, fetch, clients, events, settled };
}

describe('with Web Locks', () => {
  it('a tab granted the lock before the holder’s message arrives waits for it, and answers with its KS', async () => {
    const { clock, fetch, clients, settled } = await twoTabs({ slowChannel: true });
    const [a, b] = clients;
    const renewed = a.refresh();
    await clock.advance(100);
    const shared = settled(b.refresh());
    await clock.advance(1_000);
    const ks = await renewed;
    expect(shared).toMatchObject({ done: true, value: ks });
    expect(fetch.calls).toHaveLength(3);
    for (const c of clients) c.stop();
  });

  it('a queued tab that already has the holder’s KS answers at once, without the 50 ms grace', async () => {
    const { clock, fetch, clients, settled } = await twoTabs();
    const [a, b] = clients;
    const renewed = settled(a.refresh());
    await clock.advance(100);
    const shared = settled(b.refresh());
    // a's answer comes 500 ms after its request (at +500 ms): b has it at once.
    await clock.advance(410);
    expect(renewed.done).toBe(true);
    expect(shared).toMatchObject({ done: true, value: renewed.value });
    expect(fetch.calls).toHaveLength(3);
    for (const c of clients) c.stop();
  });

  it('a tab stopped while it queues for the lock rejects as soon as the lock comes', async () => {
    const { clock, clients, settled } = await twoTabs();
    const [a, b] = clients;
    a.refresh().catch(() => {});
    await clock.advance(100);
    const queued = settled(b.refresh());
    b.stop();
    await clock.advance(410);
    expect(queued.done).toBe(true);
    expect(queued.error).toMatchObject({ code: 'ERR_KS_ABORTED' });
    a.stop();
  });

  it('works where BroadcastChannel exists and navigator does not (Node, workers of old)', async () => {
    installBrowser();
    vi.stubGlobal('navigator', undefined);
    const clock = new FakeClock();
    const server = fakeServer(clock);
    const client = createKsClient({
      fetch: fakeFetch(clock, (call) => server.handle(call)),
      now: clock.now,
      monotonic: clock.monotonic,
      timers: clock.provider,
    });
    const ks = client.getKs();
    await clock.advance(0);
    expect(await ks).toBe('djJ8MTIzNDV8ks-1');
    client.stop();
  });
});

describe('where Web Locks are denied', () => {
  // Chromium rejects every `navigator.locks.request` with SecurityError in an opaque origin
  // (a sandboxed iframe, as LMS/LTI player embeds are) or where storage is blocked.
  const deny = (browser: Browser, name = 'SecurityError') =>
    vi
      .spyOn(browser.locks!, 'request')
      .mockImplementation(() => Promise.reject(new DOMException('denied', name)));

  it('a tab renews without them, and reports nothing', async () => {
    const { browser, clock, fetch, clients, events } = await twoTabs();
    const [a, b] = clients;
    deny(browser);
    const renewed = a.refresh();
    await clock.advance(1_000);
    expect(await renewed).toBe('djJ8MTIzNDV8ks-2');
    expect(fetch.calls).toHaveLength(3);
    // The other tab takes it, as from any renewing tab.
    expect(b.current?.ks).toBe('djJ8MTIzNDV8ks-2');
    for (const e of events) expect(e.filter((x) => x.type === 'error')).toEqual([]);
    for (const c of clients) c.stop();
  });

  it('the tabs still renew once between them, through the election', async () => {
    const { browser, clock, fetch, clients } = await twoTabs();
    deny(browser);
    const both = Promise.all(clients.map((c) => c.refresh()));
    await clock.advance(2_000);
    const [ka, kb] = await both;
    expect(ka).toBe(kb);
    expect(fetch.calls).toHaveLength(3);
    for (const c of clients) c.stop();
  });

  it('right after a request that timed out, a lock request that fails is no timeout: the tab renews', async () => {
    const { browser, clock, clients, events } = await twoTabs({
      // The third request (a's first renewal) never answers in time.
      handler: async (_, n, clock) => {
        if (n === 3) await delay(clock, 60_000);
        return { body: fakeBody(clock, n) };
      },
    });
    const [a, b] = clients;
    const failed = a.refresh().catch((e: unknown) => e);
    await clock.advance(TIMEOUT + 100);
    expect(await failed).toMatchObject({ code: 'ERR_KS_TIMEOUT' });
    deny(browser, 'InvalidStateError');
    const renewed = a.refresh();
    await clock.advance(1_000);
    expect(await renewed).toBe('djJ8MTIzNDV8ks-4');
    expect(events[0]!.flatMap((e) => (e.type === 'error' ? [e.error.code] : []))).toEqual([
      'ERR_KS_TIMEOUT',
    ]);
    a.stop();
    b.stop();
  });
});

describe('the election without Web Locks', () => {
  it('a claim drawn at random() = 0 still loses to the tab already renewing: one request', async () => {
    const { clock, fetch, clients } = await twoTabs({
      noLocks: true,
      random: [() => 0.5, () => 0],
    });
    const [a, b] = clients;
    const renewed = a.refresh();
    await clock.advance(100);
    expect(fetch.calls).toHaveLength(3);
    // b claims with the smallest ticket there is; a, renewing, answers 0, and b waits.
    const shared = b.refresh();
    await clock.advance(1_000);
    expect(await shared).toBe(await renewed);
    expect(fetch.calls).toHaveLength(3);
    for (const c of clients) c.stop();
  });

  it('a claim is no clear: the other tab keeps its session', async () => {
    const { clock, clients, events } = await twoTabs({ noLocks: true });
    const [a] = clients;
    const renewed = a.refresh();
    await clock.advance(1_000);
    await renewed;
    expect(events[1]!.map((e) => e.type)).toEqual(['ks', 'ks']);
    for (const c of clients) c.stop();
  });

  it('ignores a message it does not know, even while renewing', async () => {
    const { browser, clock, clients } = await twoTabs({ noLocks: true });
    const [a] = clients;
    a.refresh().catch(() => {});
    await clock.advance(100);
    const intruder = new browser.hub.Channel('kaltura-ks:/kaltura/ks');
    intruder.postMessage({ t: 'x', id: 1 });
    await clock.advance(0);
    expect(browser.hub.log).not.toContainEqual({ t: 'r', id: 0 });
    for (const c of clients) c.stop();
  });

  it('two tabs that draw the same ticket both renew at once rather than wait for each other', async () => {
    const { clock, fetch, clients, current } = await (async () => {
      const t = await twoTabs({ noLocks: true, slowChannel: true, random: [() => 0.5, () => 0.5] });
      return { ...t, current: () => t.clients.map((c) => c.current?.ks) };
    })();
    const both = Promise.all(clients.map((c) => c.refresh()));
    // Each election takes 50 ms, each answer 500 ms.
    await clock.advance(600);
    expect(fetch.calls).toHaveLength(4);
    await both;
    await clock.advance(100);
    expect(current()[0]).toBe(current()[1]);
    for (const c of clients) c.stop();
  });

  it('two tabs renewing at once do not answer each other’s every message: the channel stays quiet', async () => {
    const { browser, clock, fetch, clients } = await twoTabs({
      noLocks: true,
      // Messages take 10 ms: an exchange of answers would run for the whole request.
      slowChannel: true,
      random: [() => 0.5, () => 0.5],
    });
    const before = browser.hub.log.length;
    const both = Promise.all(clients.map((c) => c.refresh()));
    await clock.advance(1_000);
    await both;
    expect(fetch.calls).toHaveLength(4);
    const claims = browser.hub.log.slice(before).filter((m) => (m as { t: string }).t === 'r');
    // Each tab's claim, and no answer: equal tickets (and 0 to 0, renewing) are not answered.
    expect(claims).toHaveLength(2);
    for (const c of clients) c.stop();
  });

  it('a claim that comes while two tabs renew is answered once by each, and nothing follows', async () => {
    const { browser, clock, clients, fetch } = await twoTabs({
      noLocks: true,
      slowChannel: true,
      random: [() => 0.5, () => 0.5],
    });
    const both = Promise.all(clients.map((c) => c.refresh()));
    await clock.advance(100); // both renewing (ticket 0), their requests under way
    const before = browser.hub.log.length;
    const third = new browser.hub.Channel('kaltura-ks:/kaltura/ks');
    third.postMessage({ t: 'r', id: 0.7 });
    await clock.advance(1_000);
    await both;
    expect(fetch.calls).toHaveLength(4);
    const after = browser.hub.log.slice(before).filter((m) => (m as { t: string }).t === 'r');
    expect(after).toEqual([
      { t: 'r', id: 0.7 },
      { t: 'r', id: 0 },
      { t: 'r', id: 0 },
    ]);
    third.close();
    for (const c of clients) c.stop();
  });

  it('a claim whose message fails to go after a timed-out request reports its own failure, not a timeout', async () => {
    const { browser, clock, clients } = await twoTabs({
      noLocks: true,
      handler: async (_, n, clock) => {
        if (n === 3) await delay(clock, 60_000);
        return { body: fakeBody(clock, n) };
      },
    });
    const [a, b] = clients;
    const failed = a.refresh().catch((e: unknown) => e);
    await clock.advance(TIMEOUT + 100);
    expect(await failed).toMatchObject({ code: 'ERR_KS_TIMEOUT' });
    const cause = new DOMException('cannot clone', 'DataCloneError');
    vi.spyOn(browser.hub.Channel.prototype, 'postMessage').mockImplementationOnce(() => {
      throw cause;
    });
    const next = a.refresh().catch((e: unknown) => e);
    await clock.advance(0);
    expect(await next).toMatchObject({ code: 'ERR_KS_NETWORK', cause });
    a.stop();
    b.stop();
  });

  it('a tab that lost waits for the renewing tab its whole request timeout and the election, then renews itself', async () => {
    const { clock, fetch, clients } = await twoTabs({
      noLocks: true,
      // a's renewal (the third request) never answers: it times out.
      handler: async (_, n, clock) => {
        if (n === 3) await delay(clock, 60_000);
        return { body: fakeBody(clock, n) };
      },
    });
    const [a, b] = clients;
    const failed = a.refresh().catch((e: unknown) => e);
    await clock.advance(100); // a: elected at +50, its request under way
    b.refresh().catch(() => {}); // b claims at +100, hears a's 0, loses; its election ends at +150
    // b gives up on a at +150 + TIMEOUT + 50: not before.
    await clock.advance(TIMEOUT + 90);
    expect(await failed).toMatchObject({ code: 'ERR_KS_TIMEOUT' });
    expect(fetch.calls).toHaveLength(3);
    await clock.advance(20);
    expect(fetch.calls).toHaveLength(4);
    for (const c of clients) c.stop();
  });
});

/** A route body for answer `n`, stamped now. */
function fakeBody(clock: FakeClock, n: number) {
  const serverTime = clock.now();
  return {
    ks: `djJ8MTIzNDV8ks-${n}`,
    partnerId: 12345,
    userId: 'alice',
    type: 0,
    privileges: 'sview:*',
    expiresAt: serverTime + HOUR,
    serverTime,
  };
}

describe('logout in one tab while another tab’s renewal lands', () => {
  // b's answer (from before the logout) is posted just before a's clear(), and reaches a
  // after it: a must not take it back, or a later sign-in as bob in a is handed alice's KS.
  it.each([
    ['Web Locks', false],
    ['the election', true],
  ])(
    'with %s, the tab that cleared takes no session from another tab: it asks the server',
    async (_, noLocks) => {
      const { clock, server, fetch, clients, events, settled } = await twoTabs({
        noLocks,
        slowChannel: true,
      });
      const [a, b] = clients;
      const renewed = settled(b.refresh());
      // b's request (+50 ms of election without locks) answers 500 ms later; its session
      // reaches a 10 ms after that.
      await clock.advance(noLocks ? 555 : 505);
      expect(renewed.done).toBe(true);
      a.clear();
      await clock.advance(100);
      expect(a.current).toBeUndefined();
      expect(events[0]!.at(-1)).toEqual({ type: 'clear' });
      expect(b.current).toBeUndefined();

      // Signed in as bob in a: a's next KS is bob's, from the server.
      server.userId = 'bob';
      const next = settled(a.getKs());
      await clock.advance(1_000);
      expect(next.done).toBe(true);
      expect(next.value).toBe('djJ8MTIzNDV8ks-3');
      expect(a.current?.userId).toBe('bob');
      expect(fetch.calls).toHaveLength(4);
      for (const c of clients) c.stop();
    },
  );
});
