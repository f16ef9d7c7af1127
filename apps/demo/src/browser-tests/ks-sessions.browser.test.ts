import { createKalturaClient } from '@kaltura-ks/core/client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium, lockBarrier, POLL, SharedClock } from './harness.js';
import { type KsTestServer, PARTNER, startKsServer, USER_COOKIE } from './ks-server.js';
import {
  heldKs,
  openTab,
  startClient,
  type TabGlobals,
  type TabSession,
  tabState,
} from './ks-tab.js';

/**
 * In Chromium, what one tab takes from another and what it hands out: one user's KS never
 * reaches another user's tab, a forged broadcast is dropped, clock jumps never produce an
 * expired KS, and a KS that Kaltura refused is replaced at once (issue 13).
 */

const START = Date.parse('2030-01-15T09:00:00Z');
const LIFETIME_S = 60;
const HOUR = 3_600_000;

let browser: Browser;
let clock: SharedClock;
let server: KsTestServer;
let context: BrowserContext;
const extraContexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  clock = new SharedClock(START);
  server = await startKsServer(clock, { expiresInSeconds: LIFETIME_S });
  context = await newContext('alice');
});
afterEach(async () => {
  for (const c of [context, ...extraContexts.splice(0)]) await c?.close();
  await server?.close();
});

/** A browser context (its own cookie jar) on the shared clock, signed in as `user`. */
async function newContext(user: string): Promise<BrowserContext> {
  const c = await browser.newContext();
  await clock.attach(c);
  await c.addCookies([{ name: USER_COOKIE, value: user, url: server.url }]);
  if (context) extraContexts.push(c);
  return c;
}

/** Opens a tab with a client and waits for its first KS. */
async function tabWithKs(c: BrowserContext): Promise<{ page: Page; session: TabSession }> {
  const page = await openTab(c, server.url);
  await clock.runFor(60); // timers a client may start before its first request
  await lockBarrier([page]);
  await expect.poll(() => heldKs([page]).then(([ks]) => ks), POLL).toBeDefined();
  return { page, session: await current(page) };
}

const current = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as TabGlobals).ksTest.client.current!);

/** What the tab's getKs() answers now: the KS, or the error code. */
const ask = (page: Page) =>
  page.evaluate(() =>
    (globalThis as unknown as TabGlobals).ksTest.client
      .getKs()
      .catch((e: { code: string }) => `error ${e.code}`),
  );

describe('one user’s KS never reaches another user’s tab', () => {
  it('bob signs in in another tab: his tab never shows alice’s KS; alice’s tab switches on its next request', async () => {
    const { page: a, session: alice } = await tabWithKs(context);
    expect(alice.userId).toBe('alice');

    // Tab B of the same origin signs in as bob (no sign-out), then starts its client.
    const b = await context.newPage();
    await b.goto(server.url);
    expect(
      await b.evaluate(async () => (await fetch('/login?user=bob', { method: 'POST' })).status),
    ).toBe(204);
    await startClient(b);
    const bobKs = await ask(b);
    await lockBarrier([a, b]);
    const bob = await current(b);
    expect(bob).toMatchObject({ ks: bobKs, userId: 'bob' });
    expect(bobKs).not.toBe(alice.ks);
    const { log: bLog } = await tabState(b);
    expect(bLog.flatMap((e) => (e.type === 'ks' ? [e.ks] : []))).toEqual([bob.ks]);
    expect(bLog.some((e) => e.type === 'switch')).toBe(false);

    // Tab A heard of another user: it stops handing out alice's KS at once…
    await expect.poll(async () => (await tabState(a)).log.at(-1)?.type, POLL).toBe('clear');
    expect((await tabState(a)).ks).toBeUndefined();
    // …and its next getKs() answers bob's (the cookie is bob's), reporting the switch.
    expect(await ask(a)).toBe(bob.ks);
    const { log: aLog } = await tabState(a);
    expect(aLog.slice(-2).map((e) => `${e.type} ${'userId' in e ? e.userId : ''}`)).toEqual([
      'switch bob',
      'ks bob',
    ]);
    // One mint each for alice and bob; tab A's answer came from the server's cache.
    expect(server.emulator.stats()['session.start']).toBe(2);
  });
});

describe('a session from another tab is input', () => {
  it('a forged broadcast that would pin itself forever is dropped and reported', async () => {
    const { page: a, session } = await tabWithKs(context);
    // Any same-origin script can post on the channel.
    const intruder = await context.newPage();
    await intruder.goto(server.url);
    await intruder.evaluate(
      ({ s, name }) => {
        const channel = new BroadcastChannel(name);
        channel.postMessage({ t: 's', s: { ...s, ks: 'FORGED', expiresAt: 8.64e15 } });
        channel.postMessage({
          t: 's',
          s: { ...s, ks: `${s.ks.slice(0, -4)}AAAA`, expiresAt: s.expiresAt + 24 * 3_600_000 },
        });
        channel.close();
      },
      { s: session, name: `kaltura-ks:/kaltura/ks` },
    );
    await expect
      .poll(
        async () =>
          (await tabState(a)).log.filter((e) => e.type === 'error' && e.code === 'ERR_KS_RESPONSE')
            .length,
        POLL,
      )
      .toBe(2);
    expect((await tabState(a)).ks).toBe(session.ks);
    expect(await ask(a)).toBe(session.ks);
  });
});

describe('clock jumps never produce an expired KS (the route failing)', () => {
  /**
   * Runs the clocks in steps past the KS's real expiry, asking getKs() after each, and
   * returns what came back after the expiry (on the server's clock) that was the KS.
   */
  async function askPastExpiry(page: Page, session: TabSession) {
    const late: string[] = [];
    let served = 0;
    for (let i = 0; i < (LIFETIME_S + 30) / 2.5; i++) {
      await clock.runFor(2_500);
      const answer = await ask(page);
      const held = (await tabState(page)).ks;
      if (clock.now() < session.expiresAt - 12_000 && answer === session.ks) served++;
      if (clock.now() >= session.expiresAt && (answer === session.ks || held === session.ks))
        late.push(`${clock.now() - session.expiresAt} ms after expiry`);
    }
    return { late, served };
  }

  it('the page’s clock turned back 2 hours', async () => {
    const { page, session } = await tabWithKs(context);
    server.failRoute(503);
    await context.clock.setSystemTime(clock.now() - 2 * HOUR);
    const { late, served } = await askPastExpiry(page, session);
    expect(late).toEqual([]);
    expect(served).toBeGreaterThan(0); // the valid KS was still served while the route failed
    expect((await tabState(page)).ks).toBeUndefined();
  });

  it('the page’s clock turned forward 2 hours', async () => {
    const { page, session } = await tabWithKs(context);
    server.failRoute(503);
    await context.clock.setSystemTime(clock.now() + 2 * HOUR);
    const { late } = await askPastExpiry(page, session);
    expect(late).toEqual([]);
    expect(await ask(page)).toBe('error ERR_KS_UNAVAILABLE');
  });

  it('the clock turned back, then the route recovers: the tab gets a new KS by itself', async () => {
    const { page, session } = await tabWithKs(context);
    server.failRoute(503);
    await context.clock.setSystemTime(clock.now() - 2 * HOUR);
    await askPastExpiry(page, session);
    server.failRoute(undefined);
    for (let i = 0; i < 30 && (await tabState(page)).ks === undefined; i++) {
      await clock.runFor(2_000);
      await lockBarrier([page]);
    }
    const renewed = await current(page);
    expect(renewed.ks).not.toBe(session.ks);
    expect(renewed.expiresAt).toBeGreaterThan(clock.now());
  });
});

describe('a KS that Kaltura refused is replaced at once', () => {
  it('ended at the emulator, reported: a new KS the emulator accepts; a valid one comes back; bob cannot report alice’s', async () => {
    const kaltura = createKalturaClient({ serviceUrl: server.emulator.url, partnerId: PARTNER.id });
    const pings = () => server.emulator.stats()['system.ping'] ?? 0;
    const outcomes = () =>
      server.events.flatMap((e) => (e.type === 'rejected' ? [`${e.key.userId} ${e.outcome}`] : []));
    try {
      const { page: a, session: first } = await tabWithKs(context);
      const { page: a2 } = await tabWithKs(context); // a second tab of alice's
      expect((await current(a2)).ks).toBe(first.ks);
      const report = (page: Page, ks?: string) =>
        page.evaluate(
          (k) => (globalThis as unknown as TabGlobals).ksTest.client.reportRejected(k),
          ks,
        );

      // A valid KS reported: Kaltura is asked, accepts it, the same KS comes back.
      expect(await report(a)).toBe(first.ks);
      expect(pings()).toBe(1);

      await kaltura.session.end({ ks: first.ks });
      await expect(kaltura.system.ping({ ks: first.ks })).rejects.toMatchObject({
        kalturaCode: 'INVALID_KS',
      });

      // bob reports alice's (refused) KS: he gets his own, and nothing is asked or dropped.
      const bobContext = await newContext('bob');
      const { page: b, session: bob } = await tabWithKs(bobContext);
      const before = pings();
      const answered = await b.evaluate(
        (ks) =>
          fetch('/kaltura/ks', { headers: { 'X-Kaltura-Rejected-Ks': ks } }).then(
            (r) => r.json() as Promise<{ ks: string; userId: string }>,
          ),
        first.ks,
      );
      expect(answered).toMatchObject({ ks: bob.ks, userId: 'bob' });
      expect(pings()).toBe(before);
      const aliceRoute = await context.request.get(`${server.url}/kaltura/ks`);
      expect(((await aliceRoute.json()) as { ks: string }).ks).toBe(first.ks);

      // alice's tab reports it: a new KS, which the emulator accepts, reaches both her tabs.
      await clock.runFor(10_000); // one check per KS every minForcedRefreshIntervalMs
      const replaced = await report(a);
      expect(replaced).not.toBe(first.ks);
      await expect(kaltura.system.ping({ ks: replaced })).resolves.toBe(true);
      await lockBarrier([a, a2]);
      await expect.poll(() => heldKs([a, a2]), POLL).toEqual([replaced, replaced]);
      expect(server.hits.filter((h) => h.reported)).toHaveLength(3);
      expect(outcomes()).toEqual(['alice accepted', 'bob stale', 'alice replaced']);
    } finally {
      await kaltura.close();
    }
  });
});
