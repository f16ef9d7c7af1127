import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKsClient, type KsEvent, type KsSession } from './client.js';
import { setupClient } from './test-utils/client.js';
import { FakeClock, type FakeReply, fakeFetch, installBrowser, ksV1 } from './test-utils/fakes.js';

/**
 * Which KS the browser client keeps: what it accepts from the route, when it stops handing
 * a KS out, when it counts one as expired (on the server's clock), and — across tabs — what
 * replaces what: a KS the tab fetched always; one from another tab only when it is the same
 * user's and the greater by (expiresAt, ks), so that every tab ends with the same one.
 */

const HOUR = 3_600_000;
/** "v2|12345|" and a tail: a KS v2 of partner 12345, as far as a browser can tell. */
const V2 = 'djJ8MTIzNDV8';
const A = `${V2}ks-a`;

afterEach(() => {
  vi.unstubAllGlobals();
});

function session(clock: FakeClock, overrides: Partial<KsSession> = {}): KsSession {
  return {
    ks: A,
    partnerId: 12345,
    userId: 'alice',
    type: 0,
    privileges: 'sview:*',
    serverTime: clock.now(),
    expiresAt: clock.now() + HOUR,
    ...overrides,
  };
}

/** A client whose route answers `reply()` (on the fake clock, no cross-tab): the shared set-up. */
function client(reply: (clock: FakeClock) => FakeReply, options: { minRemainingMs?: number } = {}) {
  return setupClient({ ...options, handler: (_, clock) => reply(clock) });
}

describe('what the client accepts from the route', () => {
  it.each<[string, Record<string, unknown>]>([
    ['an empty ks', { ks: '' }],
    ['a ks that is not a string', { ks: 42 }],
    ['a user id that is not a string', { userId: 7 }],
    ['privileges that are not a string', { privileges: null }],
    ['type 1 (neither USER nor ADMIN)', { type: 1 }],
    ['a partner id that is not a number', { partnerId: '12345' }],
    ['no serverTime', { serverTime: undefined }],
    ['no expiresAt', { expiresAt: undefined }],
    ['an expiresAt that is not a number', { expiresAt: 'tomorrow' }],
    ['a KS that expires when it is answered', { expiresAt: 1_700_000_000_000 }],
    ['a KS that expired before it was answered', { expiresAt: 1_700_000_000_000 - 1 }],
  ])('refuses %s as ERR_KS_RESPONSE, keeping nothing', async (_, bad) => {
    const { client: ks, clock, events } = client((c) => ({ body: { ...session(c), ...bad } }));
    const answer = ks.getKs();
    await clock.advance(0);
    await expect(answer).rejects.toMatchObject({ code: 'ERR_KS_RESPONSE' });
    expect(ks.current).toBeUndefined();
    expect(events.filter((e) => e.type === 'ks')).toEqual([]);
    ks.stop();
  });

  it('accepts a KS that expires a millisecond after it is answered, and an ADMIN one', async () => {
    for (const overrides of [{ expiresAt: 1_700_000_000_001 }, { type: 2 as const }]) {
      const { client: ks, clock } = client((c) => ({ body: session(c, overrides) }));
      const answer = ks.getKs();
      await clock.advance(0);
      expect(await answer).toBe(A);
      ks.stop();
    }
  });
});

describe('when a KS stops being handed out, and when it has expired', () => {
  it('getKs serves it from memory until minRemainingMs before expiry, then fetches', async () => {
    const {
      client: ks,
      clock,
      fetch,
    } = client((c) => ({ body: session(c, { expiresAt: c.now() + 60_000 }) }), {
      minRemainingMs: 20_000,
    });
    const first = ks.getKs();
    await clock.advance(0);
    await first;
    clock.sleep(39_999); // no timer runs: 20 001 ms left
    await ks.getKs();
    expect(fetch.calls).toHaveLength(1);
    clock.sleep(1); // exactly 20 000 ms left
    const second = ks.getKs();
    await clock.advance(0);
    await second;
    expect(fetch.calls).toHaveLength(2);
    ks.stop();
  });

  it('current is the session until the last millisecond before expiry, then nothing', async () => {
    const { client: ks, clock } = client((c) => ({
      body: session(c, { expiresAt: c.now() + 60_000 }),
    }));
    const first = ks.getKs();
    await clock.advance(0);
    await first;
    const start = clock.now();
    expect(ks.timing?.expiresAt).toBe(start + 60_000);
    clock.sleep(59_999);
    expect(ks.current?.ks).toBe(A);
    clock.sleep(1);
    expect(ks.current).toBeUndefined();
    // The timing stays, for a countdown that shows the expiry.
    expect(ks.timing?.expiresAt).toBe(start + 60_000);
    ks.stop();
  });

  it('reads the expiry on the server clock: a server 10 minutes ahead gives the same local expiry', async () => {
    const skew = 600_000;
    const { client: ks, clock } = client((c) => ({
      body: session(c, { serverTime: c.now() + skew, expiresAt: c.now() + skew + HOUR }),
    }));
    const first = ks.getKs();
    await clock.advance(0);
    await first;
    expect(ks.timing).toEqual({ expiresAt: clock.now() + HOUR, renewAt: clock.now() + 0.8 * HOUR });
    ks.stop();
  });

  it('counts a KS as expired when the wall clock reaches its expiry on the server clock, the monotonic clock standing still', async () => {
    const skew = 600_000; // the server runs 10 minutes ahead
    const { client: ks, clock } = client((c) => ({
      body: session(c, { serverTime: c.now() + skew, expiresAt: c.now() + skew + HOUR }),
    }));
    const first = ks.getKs();
    await clock.advance(0);
    await first;
    clock.sleep(HOUR - 1); // the machine sleeps: only the wall clock moves
    expect(ks.current?.ks).toBe(A);
    clock.sleep(1);
    expect(ks.current).toBeUndefined();
    ks.stop();
  });

  it('after clear(), nothing wakes it into fetching until the next getKs', async () => {
    const browser = installBrowser();
    const { client: ks, clock, fetch } = client((c) => ({ body: session(c) }));
    const first = ks.getKs();
    await clock.advance(0);
    await first;
    ks.clear();
    for (const type of ['focus', 'online', 'pageshow', 'visibilitychange'])
      browser.window.dispatch(type);
    await clock.advance(2 * HOUR);
    expect(fetch.calls).toHaveLength(1);
    const next = ks.getKs();
    await clock.advance(0);
    await next;
    expect(fetch.calls).toHaveLength(2);
    ks.stop();
  });

  it('renews at once when the local clock goes back more than a second, not for a second', async () => {
    const browser = installBrowser();
    const { client: ks, clock, fetch } = client((c) => ({ body: session(c) }));
    const first = ks.getKs();
    await clock.advance(0);
    await first;
    clock.set(clock.now() - 1_000);
    browser.window.dispatch('focus'); // checks now
    await clock.advance(0);
    expect(fetch.calls).toHaveLength(1);
    clock.set(clock.now() - 1_001);
    browser.window.dispatch('focus');
    await clock.advance(0);
    expect(fetch.calls).toHaveLength(2);
    ks.stop();
  });

  it('checks the wall clock at least every checkIntervalMs', async () => {
    const {
      client: ks,
      fetch,
      clock,
    } = setupClient({
      checkIntervalMs: 1_000,
      handler: (_call, clock) => ({ body: session(clock) }),
    });
    const first = ks.getKs();
    await clock.advance(0);
    await first;
    // The laptop sleeps past the renewal point (timers do not count it): noticed within a second.
    clock.sleep(0.8 * HOUR);
    await clock.advance(999);
    expect(fetch.calls).toHaveLength(1);
    await clock.advance(1);
    expect(fetch.calls).toHaveLength(2);
    ks.stop();
  });
});

describe('the monotonic clock', () => {
  it('a wall clock turned back does not stretch a KS past its expiry on the monotonic clock', async () => {
    const { client: ks, clock } = client((c) => ({
      body: session(c, { expiresAt: c.now() + 60_000 }),
    }));
    const first = ks.getKs();
    await clock.advance(0);
    await first;
    clock.set(clock.now() - HOUR);
    clock.ticks += 59_999;
    expect(ks.current?.ks).toBe(A);
    expect(ks.timing?.expiresAt).toBe(clock.now() + 1);
    clock.ticks += 1;
    expect(ks.current).toBeUndefined();
    ks.stop();
  });
});

/** One client (a tab), and a channel standing for another tab of the same origin. */
function tabAndNeighbour(options: { refreshAtFraction?: number } = {}) {
  const browser = installBrowser();
  const clock = new FakeClock();
  /** What the route answers next (on the fake clock). */
  let answer = (): KsSession => session(clock);
  const fetch = fakeFetch(clock, () => ({ body: answer() }));
  const ks = createKsClient({
    fetch,
    now: clock.now,
    monotonic: clock.monotonic,
    timers: clock.provider,
    random: () => 0,
    ...options,
  });
  const events: KsEvent[] = [];
  ks.subscribe((e) => events.push(e));
  const neighbour = new browser.hub.Channel('kaltura-ks:/kaltura/ks');
  const heard: unknown[] = [];
  neighbour.onmessage = ({ data }) => heard.push(data);
  const send = async (s: KsSession) => {
    neighbour.postMessage({ t: 's', s });
    await clock.advance(0);
  };
  /** The tab's own first answer: from then on it knows its user. */
  const start = async () => {
    const first = ks.getKs();
    await clock.advance(1_000);
    await first;
  };
  const kss = () => events.flatMap((e) => (e.type === 'ks' ? [e.session.ks] : []));
  const dropped = () =>
    events.filter((e) => e.type === 'error' && e.error.code === 'ERR_KS_RESPONSE').length;
  return {
    clock,
    fetch,
    client: ks,
    events,
    send,
    start,
    kss,
    dropped,
    heard,
    neighbour,
    answer: (f: () => KsSession) => {
      answer = f;
    },
  };
}

describe('which session a tab keeps: its own fetch always; from another tab, the same user’s greater one by (expiresAt, ks)', () => {
  it('takes the same user’s session with a later expiry from another tab, and reports it', async () => {
    const t = tabAndNeighbour();
    await t.start();
    const mine = t.client.current!;
    await t.send({ ...mine, ks: `${V2}ks-0`, expiresAt: mine.expiresAt + 1 });
    expect(t.client.current?.ks).toBe(`${V2}ks-0`);
    expect(t.kss()).toEqual([A, `${V2}ks-0`]);
    expect(t.dropped()).toBe(0);
    t.client.stop();
  });

  it('ignores one with an earlier expiry, whatever its ks, without reporting an error', async () => {
    const t = tabAndNeighbour();
    await t.start();
    const mine = t.client.current!;
    await t.send({ ...mine, ks: `${V2}ks-z`, expiresAt: mine.expiresAt - 1 });
    expect(t.client.current?.ks).toBe(A);
    expect(t.kss()).toEqual([A]);
    expect(t.dropped()).toBe(0);
    t.client.stop();
  });

  it('with the same expiry, takes the greater ks and ignores the smaller', async () => {
    const t = tabAndNeighbour();
    await t.start();
    const mine = t.client.current!;
    await t.send({ ...mine, ks: `${V2}ks-0` });
    expect(t.client.current?.ks).toBe(A);
    await t.send({ ...mine, ks: `${V2}ks-b` });
    expect(t.client.current?.ks).toBe(`${V2}ks-b`);
    expect(t.kss()).toEqual([A, `${V2}ks-b`]);
    t.client.stop();
  });

  it('ignores its own session sent back, with no second report', async () => {
    const t = tabAndNeighbour();
    await t.start();
    await t.send({ ...t.client.current! });
    expect(t.kss()).toEqual([A]);
    expect(t.dropped()).toBe(0);
    t.client.stop();
  });

  it('takes no session from another tab before its own first answer, and reports none', async () => {
    const t = tabAndNeighbour();
    await t.send(session(t.clock, { ks: `${V2}ks-n` }));
    expect(t.client.current).toBeUndefined();
    expect(t.events).toEqual([]);
    t.client.stop();
  });

  it('takes another tab’s session only while it expires before the longest lifetime the server gave + 1 min', async () => {
    const t = tabAndNeighbour();
    await t.start(); // a one-hour KS, answered 1 s ago on a server clock equal to this one
    const mine = t.client.current!;
    const bound = t.clock.now() + HOUR + 60_000;
    await t.send({ ...mine, ks: `${V2}ks-far`, expiresAt: bound });
    expect(t.client.current?.ks).toBe(A);
    expect(t.dropped()).toBe(1);
    await t.send({ ...mine, ks: `${V2}ks-near`, expiresAt: bound - 1 });
    expect(t.client.current?.ks).toBe(`${V2}ks-near`);
    expect(t.dropped()).toBe(1);
    t.client.stop();
  });

  it('measures that bound by the longest lifetime the server has given, not the last one', async () => {
    const t = tabAndNeighbour();
    t.answer(() => session(t.clock, { ks: `${V2}ks-2h`, expiresAt: t.clock.now() + 2 * HOUR }));
    await t.start();
    t.answer(() => session(t.clock, { ks: `${V2}ks-1h` }));
    const renewed = t.client.refresh();
    await t.clock.advance(0);
    expect(await renewed).toBe(`${V2}ks-1h`);
    const mine = t.client.current!;
    await t.send({ ...mine, ks: `${V2}ks-other`, expiresAt: t.clock.now() + 2 * HOUR });
    expect(t.client.current?.ks).toBe(`${V2}ks-other`);
    expect(t.dropped()).toBe(0);
    t.client.stop();
  });

  it('a received session never widens that bound, however long it says it lives', async () => {
    const t = tabAndNeighbour();
    await t.start(); // its own one-hour KS
    const mine = t.client.current!;
    // Sound, and within the bound: but it claims a two-hour lifetime.
    const long = {
      ...mine,
      ks: `${V2}ks-long`,
      serverTime: t.clock.now() - HOUR,
      expiresAt: t.clock.now() + HOUR,
    };
    await t.send(long);
    expect(t.client.current?.ks).toBe(`${V2}ks-long`);
    await t.send({ ...mine, ks: `${V2}ks-longest`, expiresAt: t.clock.now() + 1.5 * HOUR });
    expect(t.client.current?.ks).toBe(`${V2}ks-long`);
    expect(t.dropped()).toBe(1);
    t.client.stop();
  });

  it('reads the partner and type of a KS v1 in the URL-safe alphabet', async () => {
    const t = tabAndNeighbour();
    await t.start();
    const mine = t.client.current!;
    // A KS v1 whose base64 holds '/' and '+', written with '_' and '-' as Kaltura does.
    const standard = ksV1(12345, 0, 'alice????>>>');
    expect(standard).toMatch(/\/.*\+|\+.*\//);
    const ks = standard.replace(/\+/g, '-').replace(/\//g, '_');
    await t.send({ ...mine, ks, expiresAt: mine.expiresAt + 1 });
    expect(t.client.current?.ks).toBe(ks);
    expect(t.dropped()).toBe(0);
    t.client.stop();
  });

  it('drops its session when another tab posts another user’s of its partner and type: an account switch', async () => {
    const t = tabAndNeighbour();
    await t.start();
    await t.send({ ...t.client.current!, ks: `${V2}ks-bob`, userId: 'bob' });
    expect(t.client.current).toBeUndefined();
    expect(t.events.at(-1)).toEqual({ type: 'clear' });
    expect(t.kss()).toEqual([A]);
    expect(t.dropped()).toBe(0);
    t.client.stop();
  });

  it('drops and reports a session whose shape is wrong, keeping its own', async () => {
    const t = tabAndNeighbour();
    await t.start();
    const mine = t.client.current!;
    const later = { ...mine, expiresAt: mine.expiresAt + 1 };
    for (const bad of [
      { ...later, ks: '' },
      { ...later, serverTime: later.expiresAt },
      { ...later, type: 1 },
      { ...later, partnerId: Number.NaN },
    ])
      await t.send(bad as KsSession);
    expect(t.client.current?.ks).toBe(A);
    expect(t.dropped()).toBe(4);
    t.client.stop();
  });

  it("places another tab's session with this tab's own clock offset", async () => {
    const t = tabAndNeighbour();
    // This tab's server runs 10 minutes ahead of the page's clock.
    const skew = 600_000;
    t.answer(() =>
      session(t.clock, {
        serverTime: t.clock.now() + skew,
        expiresAt: t.clock.now() + skew + HOUR,
      }),
    );
    await t.start();
    const mine = t.client.current!;
    await t.send({ ...mine, ks: `${V2}ks-next`, expiresAt: mine.expiresAt + 1_000 });
    expect(t.client.current?.ks).toBe(`${V2}ks-next`);
    // Fetched 1 s ago: an hour from then, plus the second the new KS has on the old one.
    expect(t.client.timing?.expiresAt).toBe(t.clock.now() + HOUR);
    t.client.stop();
  });

  it('tells the other tabs of the session it fetched, not of one it only heard', async () => {
    const t = tabAndNeighbour();
    await t.start();
    expect(t.heard).toContainEqual({ t: 's', s: t.client.current });
    const sent = t.heard.length;
    const mine = t.client.current!;
    await t.send({ ...mine, ks: `${V2}ks-0`, expiresAt: mine.expiresAt + 1 });
    expect(t.client.current?.ks).toBe(`${V2}ks-0`);
    expect(t.heard.slice(sent).filter((m) => (m as { t: string }).t === 's')).toEqual([]);
    t.client.stop();
  });

  it('replaces even a later-expiring session from another tab with the one it fetched itself, and tells the others', async () => {
    const t = tabAndNeighbour();
    await t.start();
    const mine = t.client.current!;
    await t.send({ ...mine, ks: `${V2}ks-later`, expiresAt: mine.expiresAt + 30_000 });
    expect(t.client.current?.ks).toBe(`${V2}ks-later`);
    t.answer(() => session(t.clock, { ks: `${V2}ks-own` }));
    const sent = t.heard.length;
    const refreshed = t.client.refresh();
    await t.clock.advance(0);
    expect(await refreshed).toBe(`${V2}ks-own`);
    expect(t.client.current?.ks).toBe(`${V2}ks-own`);
    expect(t.kss()).toEqual([A, `${V2}ks-later`, `${V2}ks-own`]);
    expect(t.heard.slice(sent)).toContainEqual({ t: 's', s: t.client.current });
    t.client.stop();
  });

  it('schedules the renewal from the adopted session: refreshAtFraction of what is left, at least minRenewIntervalMs', async () => {
    const t = tabAndNeighbour({ refreshAtFraction: 0.5 });
    await t.start();
    const now = t.clock.now();
    const mine = t.client.current!;
    // Answered 1 s ago, an hour long: 0.5 of what was left then.
    expect(t.client.timing).toEqual({
      expiresAt: now - 1_000 + HOUR,
      renewAt: now - 1_000 + HOUR / 2,
    });
    await t.send({ ...mine, ks: `${V2}ks-n`, expiresAt: mine.expiresAt + 2_000 });
    expect(t.client.timing).toEqual({
      expiresAt: now + 1_000 + HOUR,
      renewAt: now + (HOUR + 1_000) / 2,
    });
    // One that has only 15 s left: renewed no sooner than minRenewIntervalMs (10 s) after.
    t.clock.sleep(HOUR - 14_000);
    await t.send({ ...mine, ks: `${V2}ks-o`, expiresAt: mine.expiresAt + 3_000 });
    expect(t.client.current?.ks).toBe(`${V2}ks-o`);
    expect(t.client.timing?.renewAt).toBe(t.clock.now() + 10_000);
    t.client.stop();
  });
});
