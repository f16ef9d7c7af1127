import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKsClient, type KsClient, type KsEvent } from './client.js';
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
  it('N tabs asking at once make one request and share the KS', async () => {
    const { clients, fetch, clock, current } = tabs(4, { noLocks });
    const all = Promise.all(clients.map((c) => c.getKs()));
    await clock.advance(1_000);
    expect(await all).toEqual(Array(4).fill('djJ8MTIzNDV8ks-1'));
    expect(fetch.calls).toHaveLength(1);
    expect(current()).toEqual(Array(4).fill('djJ8MTIzNDV8ks-1'));
    for (const c of clients) c.stop();
  });

  it('makes exactly one request per renewal and every tab converges (oidc-client-ts #430)', async () => {
    // No jitter: every tab's renewal timer fires at the same instant.
    const { clients, fetch, clock, current, events } = tabs(4, { noLocks, jitterRatio: 0 });
    const first = Promise.all(clients.map((c) => c.getKs()));
    await clock.advance(1_000);
    await first;
    for (let renewal = 2; renewal <= 5; renewal++) {
      await clock.advance(0.8 * HOUR);
      expect(fetch.calls).toHaveLength(renewal);
      expect(current()).toEqual(Array(4).fill(`djJ8MTIzNDV8ks-${renewal}`));
    }
    for (const list of events) expect(list.filter((e) => e.type === 'ks')).toHaveLength(5);
    for (const c of clients) c.stop();
  });

  it('a tab that joins later gets the KS from the others, without a request', async () => {
    const { clients, fetch, clock, open } = tabs(2, { noLocks });
    const first = clients[0]!.getKs();
    await clock.advance(1_000);
    await first;
    const late = open(2);
    const ks = late.getKs();
    await clock.advance(1_000);
    expect(await ks).toBe('djJ8MTIzNDV8ks-1');
    expect(fetch.calls).toHaveLength(1);
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

  it('ignores a session message of the wrong shape', async () => {
    const { clients, clock, browser } = tabs(1);
    const ks = clients[0]!.getKs();
    await clock.advance(1_000);
    await ks;
    const intruder = new browser.hub.Channel('kaltura-ks:/kaltura/ks');
    intruder.postMessage({ t: 's', s: { ks: 'x', expiresAt: 'never' }, o: 0 });
    intruder.postMessage({ t: 's', s: { ...clients[0]!.current, ks: 'zz', expiresAt: 9e15 } });
    await clock.advance(0);
    expect(clients[0]!.current?.ks).toBe('djJ8MTIzNDV8ks-1');
    intruder.close();
    clients[0]!.stop();
  });

  it('works without BroadcastChannel (each tab on its own)', async () => {
    installBrowser();
    vi.stubGlobal('BroadcastChannel', undefined);
    const clock = new FakeClock();
    const server = fakeServer(clock);
    const client = createKsClient({
      fetch: fakeFetch(clock, (call) => server.handle(call)),
      now: clock.now,
      timers: clock.provider,
    });
    const ks = client.getKs();
    await clock.advance(0);
    expect(await ks).toBe('djJ8MTIzNDV8ks-1');
    client.stop();
    await expect(client.getKs()).rejects.toBeInstanceOf(KsClientError);
  });
});
