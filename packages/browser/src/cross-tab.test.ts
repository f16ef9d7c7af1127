import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKsClient, type KsClient, type KsEvent, type KsRouteBody } from './client.js';
import { KsClientError } from './errors.js';
import {
  type Browser,
  delay,
  FakeClock,
  type FakeReply,
  type FetchCall,
  fakeFetch,
  fakeServer,
  installBrowser,
  ksV1,
} from './test-utils/fakes.js';

const HOUR = 3_600_000;

afterEach(() => {
  vi.unstubAllGlobals();
});

/** N clients in one process stand for N tabs: one clock, one server, one channel hub. */
function tabs(
  n: number,
  {
    noLocks = false,
    handler,
    jitterRatio = 0.05,
  }: { noLocks?: boolean; handler?: (call: FetchCall) => FakeReply; jitterRatio?: number } = {},
) {
  const browser: Browser = installBrowser({ noLocks });
  const clock = new FakeClock();
  const server = fakeServer(clock, { lifetimeMs: HOUR });
  // Each answer takes 200 ms, so the tabs really are concurrent.
  const fetch = fakeFetch(clock, async (call) => {
    await delay(clock, 200);
    return (handler ?? ((c) => server.handle(c)))(call);
  });
  const events: KsEvent[][] = [];
  const open = (i: number): KsClient => {
    const client = createKsClient({
      fetch,
      now: clock.now,
      monotonic: clock.monotonic,
      timers: clock.provider,
      // Different per tab: the jitter and the election tickets differ.
      random: () => (i + 1) / (n + 2),
      jitterRatio,
    });
    events[i] = [];
    client.subscribe((e) => events[i]!.push(e));
    return client;
  };
  const clients = Array.from({ length: n }, (_, i) => open(i));
  const current = () => clients.map((c) => c.current?.ks);
  return { browser, clock, server, fetch, clients, events, current, open };
}

describe.each([
  ['Web Locks', false],
  ['BroadcastChannel election', true],
])('cross-tab with %s', (_, noLocks) => {
  it('N tabs asking at once each fetch their first KS (the server answers from its cache), then share every renewal', async () => {
    const { clients, fetch, clock, current, server } = tabs(4, { noLocks });
    const all = Promise.all(clients.map((c) => c.getKs()));
    await clock.advance(1_000);
    // A tab that does not know its user yet trusts no other tab: one request each, one mint.
    expect(await all).toEqual(Array(4).fill('djJ8MTIzNDV8ks-1'));
    expect(fetch.calls).toHaveLength(4);
    expect(server.minted).toBe(1);
    expect(current()).toEqual(Array(4).fill('djJ8MTIzNDV8ks-1'));
    for (const c of clients) c.stop();
  });

  it('makes exactly one request per renewal and every tab converges (oidc-client-ts #430)', async () => {
    // No jitter: every tab's renewal timer fires at the same instant.
    const { clients, fetch, clock, current, events } = tabs(4, { noLocks, jitterRatio: 0 });
    const first = Promise.all(clients.map((c) => c.getKs()));
    await clock.advance(1_000);
    await first;
    expect(fetch.calls).toHaveLength(4);
    for (let renewal = 2; renewal <= 5; renewal++) {
      await clock.advance(0.8 * HOUR);
      expect(fetch.calls).toHaveLength(3 + renewal);
      expect(current()).toEqual(Array(4).fill(`djJ8MTIzNDV8ks-${renewal}`));
    }
    for (const list of events) expect(list.filter((e) => e.type === 'ks')).toHaveLength(5);
    for (const c of clients) c.stop();
  });

  it('a tab that joins later fetches its own first KS rather than trust a broadcast, then shares', async () => {
    const { clients, fetch, clock, open, server, current } = tabs(2, { noLocks });
    const first = Promise.all(clients.map((c) => c.getKs()));
    await clock.advance(1_000);
    await first;
    const late = open(2);
    const ks = late.getKs();
    await clock.advance(1_000);
    expect(await ks).toBe('djJ8MTIzNDV8ks-1');
    expect(fetch.calls).toHaveLength(3);
    // The next renewal is shared with it.
    await clock.advance(0.8 * HOUR);
    expect(server.minted).toBe(2);
    expect(fetch.calls).toHaveLength(4);
    expect([...current(), late.current?.ks]).toEqual(Array(3).fill('djJ8MTIzNDV8ks-2'));
    for (const c of [...clients, late]) c.stop();
  });

  it('clear() in one tab clears every tab, which then never hands out the old KS (auth0-spa-js #136)', async () => {
    let signedIn = true;
    const { clients, clock, server, events, current } = tabs(3, {
      noLocks,
      handler: (call) =>
        signedIn
          ? server.handle(call)
          : { status: 401, body: { error: { code: 'ERR_KS_NO_USER', message: 'signed out' } } },
    });
    const all = Promise.all(clients.map((c) => c.getKs()));
    await clock.advance(1_000);
    await all;
    signedIn = false;
    clients[0]!.clear();
    await clock.advance(0);
    expect(current()).toEqual([undefined, undefined, undefined]);
    for (const list of events) expect(list.at(-1)).toEqual({ type: 'clear' });
    expect(clock.pending).toBe(0);
    const again = clients[1]!.getKs();
    await clock.advance(1_000);
    await expect(again).rejects.toMatchObject({ code: 'ERR_KS_NO_USER' });
    for (const c of clients) c.stop();
  });

  it('a 401 in the renewing tab signs every tab out', async () => {
    let signedIn = true;
    const { clients, clock, server, current, events } = tabs(3, {
      noLocks,
      handler: (call) =>
        signedIn
          ? server.handle(call)
          : { status: 401, body: { error: { code: 'ERR_KS_NO_USER', message: 'signed out' } } },
    });
    const all = Promise.all(clients.map((c) => c.getKs()));
    await clock.advance(1_000);
    await all;
    signedIn = false;
    await clock.advance(0.8 * HOUR);
    expect(current()).toEqual([undefined, undefined, undefined]);
    for (const list of events) expect(list.some((e) => e.type === 'clear')).toBe(true);
    expect(clock.pending).toBe(0);
    for (const c of clients) c.stop();
  });

  it('another tab takes over when the renewing tab fails', async () => {
    let failNext = false;
    const { clients, fetch, clock, server, current } = tabs(2, {
      noLocks,
      handler: (call) => {
        if (failNext) {
          failNext = false;
          return { status: 500, body: { error: { code: 'X', message: 'x' } } };
        }
        return server.handle(call);
      },
    });
    const all = Promise.all(clients.map((c) => c.getKs()));
    await clock.advance(1_000);
    await all;
    failNext = true;
    await clock.advance(0.8 * HOUR);
    await clock.advance(60_000);
    expect(fetch.calls.length).toBeGreaterThanOrEqual(3);
    expect(current()).toEqual(['djJ8MTIzNDV8ks-2', 'djJ8MTIzNDV8ks-2']);
    for (const c of clients) c.stop();
  });
});

describe('cross-tab convergence', () => {
  it('keeps the greatest session when two tabs renew at the same moment', async () => {
    const { clients, clock, current, browser } = tabs(2);
    const all = Promise.all(clients.map((c) => c.getKs()));
    await clock.advance(1_000);
    await all;
    // Both force a renewal at once (refresh): two KSs exist, the tabs settle on one.
    const both = Promise.all(clients.map((c) => c.refresh()));
    await clock.advance(1_000);
    await both;
    expect(current()[0]).toBe(current()[1]);
    expect(browser.hub.open.size).toBe(2);
    for (const c of clients) c.stop();
    expect(browser.hub.open.size).toBe(0);
  });

  it('works without BroadcastChannel (each tab on its own)', async () => {
    installBrowser();
    vi.stubGlobal('BroadcastChannel', undefined);
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
    await expect(client.getKs()).rejects.toBeInstanceOf(KsClientError);
  });
});

describe('sessions from other tabs are input, not trusted memory', () => {
  /** One tab holding alice's KS, and a same-origin script posting on its channel. */
  async function tabWithIntruder() {
    const t = tabs(1);
    const client = t.clients[0]!;
    const first = client.getKs();
    await t.clock.advance(1_000);
    await first;
    const intruder = new t.browser.hub.Channel('kaltura-ks:/kaltura/ks');
    const post = async (s: unknown) => {
      intruder.postMessage({ t: 's', s });
      await t.clock.advance(0);
    };
    const dropped = () =>
      t.events[0]!.filter((e) => e.type === 'error' && e.error.code === 'ERR_KS_RESPONSE').length;
    /** A sound session of alice's, minted a minute after hers. */
    const sound = () => ({
      ...client.current!,
      ks: 'djJ8MTIzNDV8ks-9',
      expiresAt: client.current!.expiresAt + 60_000,
    });
    return { ...t, client, intruder, post, dropped, sound };
  }

  it('drops and reports a forged session that would pin itself forever', async () => {
    const { client, post, dropped, intruder } = await tabWithIntruder();
    await post({ ...client.current, ks: 'FORGED', expiresAt: 8.64e15 });
    expect(client.current?.ks).toBe('djJ8MTIzNDV8ks-1');
    expect(await client.getKs()).toBe('djJ8MTIzNDV8ks-1');
    expect(dropped()).toBe(1);
    intruder.close();
    client.stop();
  });

  it.each<[string, (s: KsRouteBody) => object]>([
    ['a session of the wrong shape', () => ({ ks: 'x', expiresAt: 'never' })],
    ['a KS that is not base64', (s) => ({ ...s, ks: '%%%%' })],
    ['a KS v2 of another partner', (s) => ({ ...s, ks: btoa('v2|99999|0123456789abcdef') })],
    ['a KS v1 of another partner', (s) => ({ ...s, ks: ksV1(99999, 0, 'alice') })],
    [
      'a session of another partner, KS and all',
      (s) => ({ ...s, partnerId: 99999, ks: ksV1(99999, 0, 'alice') }),
    ],
    ['an ADMIN KS v1 that says it is a USER one', (s) => ({ ...s, ks: ksV1(12345, 2, 'alice') })],
    ['an ADMIN session in a tab the server gives USER sessions', (s) => ({ ...s, type: 2 })],
    [
      'an expiry beyond the longest lifetime the server has given',
      (s) => ({ ...s, expiresAt: s.serverTime + 3 * HOUR }),
    ],
  ])('drops and reports %s', async (_, forge) => {
    const { client, post, dropped, intruder, sound } = await tabWithIntruder();
    await post(forge(sound() as KsRouteBody));
    expect(client.current?.ks).toBe('djJ8MTIzNDV8ks-1');
    expect(dropped()).toBe(1);
    intruder.close();
    client.stop();
  });

  it.each<[string, (s: KsRouteBody) => KsRouteBody]>([
    ['a KS v2', (s) => s],
    ['a KS v1', (s) => ({ ...s, ks: ksV1(12345, 0, 'alice') })],
  ])('adopts a sound session of its own partner, user and type: %s', async (_, make) => {
    const { client, post, dropped, intruder, sound } = await tabWithIntruder();
    const s = make(sound() as KsRouteBody);
    await post(s);
    expect(client.current?.ks).toBe(s.ks);
    expect(dropped()).toBe(0);
    intruder.close();
    client.stop();
  });

  it('a tab with no answer of its own yet trusts no broadcast: it fetches once', async () => {
    const { clients, clock, fetch, browser, events } = tabs(1);
    const client = clients[0]!;
    const intruder = new browser.hub.Channel('kaltura-ks:/kaltura/ks');
    intruder.postMessage({
      t: 's',
      s: {
        ks: 'djJ8MTIzNDV8ks-9',
        partnerId: 12345,
        userId: 'alice',
        type: 0,
        privileges: '',
        expiresAt: clock.now() + HOUR,
        serverTime: clock.now(),
      },
    });
    await clock.advance(0);
    expect(client.current).toBeUndefined();
    const ks = client.getKs();
    await clock.advance(1_000);
    expect(await ks).toBe('djJ8MTIzNDV8ks-1');
    expect(fetch.calls).toHaveLength(1);
    expect(events[0]!.map((e) => e.type)).toEqual(['ks']);
    intruder.close();
    client.stop();
  });
});

describe('account switch: one user never gets another user’s KS', () => {
  it('a tab signed in as bob never takes or hands out alice’s KS; alice’s tab switches on its next request', async () => {
    const { clients, clock, fetch, server, events, open } = tabs(1);
    const alice = clients[0]!;
    const first = alice.getKs();
    await clock.advance(1_000);
    expect(await first).toBe('djJ8MTIzNDV8ks-1');

    // Signed in as bob in another tab of the origin, without signing out.
    server.userId = 'bob';
    const bob = open(1);
    const seen: (string | undefined)[] = [bob.current?.ks];
    const ks = bob.getKs();
    seen.push(bob.current?.ks);
    await clock.advance(1_000);
    expect(await ks).toBe('djJ8MTIzNDV8ks-2');
    seen.push(bob.current?.ks);
    expect(seen).toEqual([undefined, undefined, 'djJ8MTIzNDV8ks-2']);
    expect(bob.current?.userId).toBe('bob');
    expect(events[1]!).toEqual([
      { type: 'ks', session: expect.objectContaining({ userId: 'bob' }) },
    ]);

    // alice's tab heard of another user: it no longer hands out alice's KS.
    expect(alice.current).toBeUndefined();
    expect(events[0]!.at(-1)).toEqual({ type: 'clear' });
    const next = alice.getKs();
    await clock.advance(1_000);
    expect(await next).toBe('djJ8MTIzNDV8ks-2');
    expect(events[0]!.slice(-2)).toEqual([
      { type: 'switch', session: expect.objectContaining({ userId: 'bob' }) },
      { type: 'ks', session: expect.objectContaining({ ks: 'djJ8MTIzNDV8ks-2' }) },
    ]);
    expect(fetch.calls).toHaveLength(3);
    for (const c of [alice, bob]) c.stop();
  });

  it('what a tab fetched replaces what it held, even a KS that lasts longer', async () => {
    const { clients, clock, server, events } = tabs(1);
    const client = clients[0]!;
    server.lifetimeMs = 2 * HOUR;
    const first = client.getKs();
    await clock.advance(1_000);
    await first;
    server.userId = 'bob';
    server.lifetimeMs = HOUR;
    const renewed = client.refresh();
    await clock.advance(1_000);
    expect(await renewed).toBe('djJ8MTIzNDV8ks-2');
    expect(client.current?.userId).toBe('bob');
    expect(await client.getKs()).toBe('djJ8MTIzNDV8ks-2');
    expect(events[0]!.map((e) => e.type)).toEqual(['ks', 'switch', 'ks']);
    client.stop();
  });
});
