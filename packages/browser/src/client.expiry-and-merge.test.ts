import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKsClient, type KsEvent, type KsSession } from './client.js';
import { FakeClock, type FakeReply, fakeFetch, installBrowser } from './test-utils/fakes.js';

/**
 * Which KS the browser client keeps: what it accepts from the route, when it stops handing
 * a KS out, when it counts one as expired (on the server's clock), and — across tabs — which
 * of two sessions wins, so that every tab ends with the same one.
 */

const HOUR = 3_600_000;

afterEach(() => {
  vi.unstubAllGlobals();
});

function session(clock: FakeClock, overrides: Partial<KsSession> = {}): KsSession {
  return {
    ks: 'djJ8ks-a',
    partnerId: 12345,
    userId: 'alice',
    type: 0,
    privileges: 'sview:*',
    serverTime: clock.now(),
    expiresAt: clock.now() + HOUR,
    ...overrides,
  };
}

/** A client whose route answers `reply()` (on the fake clock, no cross-tab). */
function client(reply: (clock: FakeClock) => FakeReply, options: { minValidityMs?: number } = {}) {
  const clock = new FakeClock();
  const fetch = fakeFetch(clock, () => reply(clock));
  const ks = createKsClient({
    fetch,
    now: clock.now,
    timers: clock.provider,
    random: () => 0,
    crossTab: false,
    ...options,
  });
  const events: KsEvent[] = [];
  ks.subscribe((e) => events.push(e));
  return { clock, fetch, client: ks, events };
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
      expect(await answer).toBe('djJ8ks-a');
      ks.stop();
    }
  });
});

describe('when a KS stops being handed out, and when it has expired', () => {
  it('getKs serves it from memory until minValidityMs before expiry, then fetches', async () => {
    const {
      client: ks,
      clock,
      fetch,
    } = client((c) => ({ body: session(c, { expiresAt: c.now() + 60_000 }) }), {
      minValidityMs: 20_000,
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
    expect(ks.current?.ks).toBe('djJ8ks-a');
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
    const clock = new FakeClock();
    const fetch = fakeFetch(clock, () => ({ body: session(clock) }));
    const ks = createKsClient({
      fetch,
      now: clock.now,
      timers: clock.provider,
      random: () => 0,
      crossTab: false,
      checkIntervalMs: 1_000,
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

/** One client (a tab), and a channel standing for another tab of the same origin. */
function tabAndNeighbour(options: { renewAtFraction?: number } = {}) {
  const browser = installBrowser();
  const clock = new FakeClock();
  const fetch = fakeFetch(clock, () => ({ body: session(clock) }));
  const ks = createKsClient({
    fetch,
    now: clock.now,
    timers: clock.provider,
    random: () => 0,
    ...options,
  });
  const events: KsEvent[] = [];
  ks.subscribe((e) => events.push(e));
  const neighbour = new browser.hub.Channel('kaltura-ks:/kaltura/ks');
  const heard: unknown[] = [];
  neighbour.onmessage = ({ data }) => heard.push(data);
  const send = async (s: KsSession, o = 0) => {
    neighbour.postMessage({ t: 's', s, o });
    await clock.advance(0);
  };
  const start = async () => {
    const first = ks.getKs();
    await clock.advance(1_000);
    await first;
  };
  const kss = () => events.flatMap((e) => (e.type === 'ks' ? [e.session.ks] : []));
  return { clock, fetch, client: ks, events, send, start, kss, heard, neighbour };
}

describe('which of two sessions the tabs keep: the later expiry, then the later serverTime, then the greater ks', () => {
  it('takes a session with a later expiry from another tab, and reports it', async () => {
    const t = tabAndNeighbour();
    await t.start();
    const mine = t.client.current!;
    await t.send({ ...mine, ks: 'djJ8ks-0', expiresAt: mine.expiresAt + 1 });
    expect(t.client.current?.ks).toBe('djJ8ks-0');
    expect(t.kss()).toEqual(['djJ8ks-a', 'djJ8ks-0']);
    t.client.stop();
  });

  it('ignores one with an earlier expiry, whatever its serverTime or ks', async () => {
    const t = tabAndNeighbour();
    await t.start();
    const mine = t.client.current!;
    await t.send({
      ...mine,
      ks: 'djJ8ks-z',
      expiresAt: mine.expiresAt - 1,
      serverTime: mine.serverTime + 9,
    });
    expect(t.client.current?.ks).toBe('djJ8ks-a');
    expect(t.kss()).toEqual(['djJ8ks-a']);
    t.client.stop();
  });

  it('with the same expiry, takes the later serverTime', async () => {
    const t = tabAndNeighbour();
    await t.start();
    const mine = t.client.current!;
    await t.send({ ...mine, ks: 'djJ8ks-0', serverTime: mine.serverTime - 1 });
    expect(t.client.current?.ks).toBe('djJ8ks-a');
    await t.send({ ...mine, ks: 'djJ8ks-0', serverTime: mine.serverTime + 1 });
    expect(t.client.current?.ks).toBe('djJ8ks-0');
    t.client.stop();
  });

  it('with the same expiry and serverTime, takes the greater ks', async () => {
    const t = tabAndNeighbour();
    await t.start();
    const mine = t.client.current!;
    await t.send({ ...mine, ks: 'djJ8ks-0' });
    expect(t.client.current?.ks).toBe('djJ8ks-a');
    await t.send({ ...mine, ks: 'djJ8ks-b' });
    expect(t.client.current?.ks).toBe('djJ8ks-b');
    t.client.stop();
  });

  it('ignores its own session sent back, with no second report', async () => {
    const t = tabAndNeighbour();
    await t.start();
    await t.send({ ...t.client.current! });
    expect(t.kss()).toEqual(['djJ8ks-a']);
    t.client.stop();
  });

  it('takes a first session from another tab when it has none', async () => {
    const t = tabAndNeighbour();
    await t.send(session(t.clock, { ks: 'djJ8ks-n' }));
    expect(t.client.current?.ks).toBe('djJ8ks-n');
    expect(t.fetch.calls).toHaveLength(0);
    t.client.stop();
  });

  it("reads another tab's session on that tab's clock offset", async () => {
    const t = tabAndNeighbour();
    // The sender's server runs 10 minutes ahead of its clock (offset 600 000 ms).
    const s = session(t.clock, {
      serverTime: t.clock.now() + 600_000,
      expiresAt: t.clock.now() + 600_000 + HOUR,
    });
    await t.send(s, 600_000);
    expect(t.client.timing?.expiresAt).toBe(t.clock.now() + HOUR);
    t.client.stop();
  });

  it('ignores a session message without a finite clock offset', async () => {
    const t = tabAndNeighbour();
    for (const o of [Number.NaN, undefined, '0', Number.POSITIVE_INFINITY]) {
      t.neighbour.postMessage({ t: 's', s: session(t.clock, { ks: 'djJ8ks-n' }), o });
      await t.clock.advance(0);
    }
    expect(t.client.current).toBeUndefined();
    t.client.stop();
  });

  it('tells the other tabs of the session it fetched, not of one it only heard', async () => {
    const t = tabAndNeighbour();
    await t.start();
    expect(t.heard).toContainEqual({ t: 's', s: t.client.current, o: expect.any(Number) });
    const sent = t.heard.length;
    const mine = t.client.current!;
    await t.send({ ...mine, ks: 'djJ8ks-0', expiresAt: mine.expiresAt + 1 });
    expect(t.heard.slice(sent).filter((m) => (m as { t: string }).t === 's')).toEqual([]);
    t.client.stop();
  });

  it('keeps the greater session it already had when its own fetch brings an older one, without a report', async () => {
    const t = tabAndNeighbour();
    const later = session(t.clock, { ks: 'djJ8ks-later', expiresAt: t.clock.now() + 2 * HOUR });
    await t.send(later);
    const refreshed = t.client.refresh(); // the route answers the one-hour 'djJ8ks-a'
    await t.clock.advance(1_000);
    expect(await refreshed).toBe('djJ8ks-later');
    expect(t.client.current?.ks).toBe('djJ8ks-later');
    expect(t.kss()).toEqual(['djJ8ks-later']);
    t.client.stop();
  });

  it('schedules the renewal from the adopted session: renewAtFraction of what is left, at least minRenewIntervalMs', async () => {
    const t = tabAndNeighbour({ renewAtFraction: 0.5 });
    const now = t.clock.now();
    await t.send(session(t.clock, { ks: 'djJ8ks-n', expiresAt: now + HOUR }));
    expect(t.client.timing).toEqual({ expiresAt: now + HOUR, renewAt: now + HOUR / 2 });
    await t.send(session(t.clock, { ks: 'djJ8ks-short', expiresAt: now + HOUR + 1 }));
    expect(t.client.timing?.renewAt).toBe(now + (HOUR + 1) / 2);
    t.client.stop();
  });
});
