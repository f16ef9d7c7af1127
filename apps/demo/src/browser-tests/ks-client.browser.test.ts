import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium, lockBarrier, POLL, SharedClock } from './harness.js';
import { type KsTestServer, startKsServer, USER_COOKIE } from './ks-server.js';
import { heldKs, openTabs, renewOnce, type TabGlobals, tabState } from './ks-tab.js';

/**
 * @kaltura-ks/browser in a real browser: Debian's Chromium driven by playwright-core,
 * against @kaltura-ks/express and the emulator on loopback. Lives in apps/demo because it
 * needs the middleware and the emulator, which @kaltura-ks/browser does not depend on.
 */

const START = Date.parse('2030-01-15T09:00:00Z');
const LIFETIME_S = 60;

let browser: Browser;
let clock: SharedClock;
let server: KsTestServer;
let context: BrowserContext;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  clock = new SharedClock(START);
  server = await startKsServer(clock, { expiresInSeconds: LIFETIME_S });
  context = await browser.newContext();
  await clock.attach(context);
  await context.addCookies([{ name: USER_COOKIE, value: 'alice', url: server.url }]);
});
afterEach(async () => {
  await context?.close();
  await server?.close();
});

describe('@kaltura-ks/browser in Chromium', () => {
  it('two tabs share each renewal: the server sees one request, both tabs hold the same KS', async () => {
    const [a, b] = (await openTabs(context, clock, server.url, 2)) as [Page, Page];
    // Each tab fetched its first KS itself (it trusts no other tab before it knows its
    // user); the server answered the second from its cache.
    expect(server.hits).toHaveLength(2);
    expect(server.emulator.stats()['session.start']).toBe(1);
    let ks = (await heldKs([a]))[0]!;

    const seen = [ks];
    for (let cycle = 1; cycle <= 3; cycle++) {
      const before = server.hits.length;
      const mintsBefore = server.emulator.stats()['session.start'] ?? 0;
      ks = await renewOnce(clock, [a, b], ks);
      seen.push(ks);
      expect(server.hits.length - before, `requests for renewal ${cycle}`).toBe(1);
      expect((server.emulator.stats()['session.start'] ?? 0) - mintsBefore).toBe(1);
      expect(server.inflight).toBe(0);
    }

    // Both tabs went through the same KSs in the same order, and never held an expired one.
    for (const page of [a, b]) {
      const { log } = await tabState(page);
      expect(log.filter((e) => e.type === 'error')).toEqual([]);
      expect(log.flatMap((e) => (e.type === 'ks' ? [e.ks] : []))).toEqual(seen);
    }
    expect(new Set(seen).size).toBe(4);
  });

  it('logout in one tab clears the other, and neither asks for a KS again', async () => {
    const [a, b] = (await openTabs(context, clock, server.url, 2)) as [Page, Page];
    const ks = (await heldKs([a]))[0]!;
    await renewOnce(clock, [a, b], ks);

    await a.evaluate(async () => {
      const g = globalThis as unknown as TabGlobals;
      g.ksTest.client.clear();
      await g.fetch('/logout', { method: 'POST' });
    });
    await expect.poll(async () => (await tabState(b)).log.at(-1)?.type, POLL).toBe('clear');
    expect(await heldKs([a, b])).toEqual([undefined, undefined]);
    for (const page of [a, b]) expect((await tabState(page)).timing).toBeUndefined();

    // Two KS lifetimes later, nobody has renewed.
    const hits = server.hits.length;
    for (let i = 0; i < 4; i++) await clock.runFor(LIFETIME_S * 500);
    await lockBarrier([a, b]);
    expect(server.hits).toHaveLength(hits);
    expect(await heldKs([a, b])).toEqual([undefined, undefined]);
  });
});
