import { verifyKs } from '@kaltura-ks/core';
import { type Emulator, startEmulator } from '@kaltura-ks/emulator';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPageAssets } from '../assets.js';
import { loadConfig } from '../config.js';
import { createDemoApp, type DemoApp, type KalturaSetup } from '../server.js';
import {
  launchChromium,
  listen,
  lockBarrier,
  POLL,
  SharedClock,
  screenshotPath,
} from './harness.js';

/**
 * The demo app in Chromium: sign in, watch the KS renew, sign out in one tab and see the
 * other follow. The real server (createDemoApp, the built page) on the embedded emulator,
 * with the server clock and the page clock moved together.
 *
 * The Kaltura setup is built here the way prepareKaltura builds it for KS_STRATEGY=local,
 * with the emulator on the shared clock (logout ends the session there).
 */

const PARTNER = {
  id: 777_001,
  adminSecret: 'demo-browser-admin-secret-00000000',
  userSecret: 'demo-browser-user-secret-000000000',
};
const LIFETIME_S = 60;
const STEP_MS = 250;
const RENEWALS = 2;

/** A KS the page got from GET /kaltura/ks, with the server clock when it arrived. */
interface Received {
  ks: string;
  expiresAt: number;
  at: number;
}

/** A KS a tab showed in #ks, or sent to the server (/api/ks/inspect), at a server time. */
interface Use {
  tab: string;
  ks: string;
  at: number;
  how: 'shown' | 'sent';
}

/** The tabs' names, for messages. */
const tabNames = new WeakMap<Page, string>();

let browser: Browser;
let clock: SharedClock;
let emulator: Emulator;
let demo: DemoApp;
let server: { url: string; close(): Promise<void> };
let context: BrowserContext;
const received: Received[] = [];
const sent: Use[] = [];
const inspected: { status: number; verified: unknown }[] = [];
const pending: Promise<unknown>[] = [];

beforeAll(async () => {
  // The shared clock starts at the real time, so the page's own Date and the server's agree
  // at the start.
  clock = new SharedClock(Math.ceil(Date.now() / 1000) * 1000);
  const [b, e, assets] = await Promise.all([
    launchChromium(),
    startEmulator({ now: clock.now, partners: [PARTNER] }),
    buildPageAssets(),
  ]);
  browser = b;
  emulator = e;
  const kaltura: KalturaSetup = {
    issuerOptions: {
      partnerId: PARTNER.id,
      adminSecret: PARTNER.adminSecret,
      serviceUrl: emulator.url,
    },
    verifySecrets: [PARTNER.adminSecret],
    description: {
      backend: 'emulator',
      partnerId: PARTNER.id,
      strategy: 'local',
      serviceUrl: emulator.url,
    },
  };
  demo = createDemoApp({
    config: { ...loadConfig({}), expiresInSeconds: LIFETIME_S },
    kaltura,
    assets,
    now: clock.now,
  });
  server = await listen(demo.app);

  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await clock.attach(context);
  context.on('request', (request) => {
    const { pathname } = new URL(request.url());
    if (pathname === '/api/ks/inspect' && request.method() === 'POST') {
      sent.push({
        tab: tabNames.get(request.frame().page()) ?? '?',
        ks: (request.postDataJSON() as { ks: string }).ks,
        at: clock.now(),
        how: 'sent',
      });
    }
  });
  context.on('response', (response) => {
    const { pathname } = new URL(response.url());
    const at = clock.now();
    if (pathname === '/kaltura/ks' && response.ok()) {
      pending.push(
        response.json().then((body: Received) => {
          received.push({ ks: body.ks, expiresAt: body.expiresAt, at });
        }),
      );
    } else if (pathname === '/api/ks/inspect') {
      pending.push(
        response
          .json()
          .then((body: { verified?: unknown }) =>
            inspected.push({ status: response.status(), verified: body.verified }),
          ),
      );
    }
  });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.close();
  await demo?.close();
  await emulator?.close();
});

/** The page's own short form of a KS (shortKs in page/app.ts, which exports nothing). */
const short = (ks: string) => (ks.length > 28 ? `${ks.slice(0, 16)}…${ks.slice(-10)}` : ks);
const text = (page: Page, selector: string) => page.locator(selector).textContent();

/** The full KS behind the short form a tab shows in #ks. */
function fullKs(shown: string | null): string | undefined {
  return received.find((r) => short(r.ks) === shown)?.ks;
}

/** Moves both clocks, then waits for the renewals the step fired to finish. */
async function step(pages: Page[], ms: number): Promise<void> {
  await clock.runFor(ms);
  await lockBarrier(pages);
  await Promise.all(pending);
}

/** Waits until a tab shows `ks`, and the server's reading of it (/api/ks/inspect). */
async function shows(page: Page, ks: string): Promise<void> {
  await expect.poll(() => text(page, '#ks'), POLL).toBe(short(ks));
  const { validUntil } = verifyKs(ks, { secrets: [PARTNER.adminSecret], now: () => 0 });
  const expires = await page.evaluate((ms) => new Date(ms).toLocaleString(), validUntil * 1000);
  await expect.poll(() => text(page, '[data-field="validUntil"]'), POLL).toBe(expires);
  expect(await text(page, '[data-field="userId"]')).toBe('alice');
}

/** Seconds to the next renewal, as a tab's countdown shows it (Infinity for "now" or "—"). */
async function renewsIn(page: Page): Promise<number> {
  const match = /^(\d+) s$/.exec((await text(page, '#renews-in')) ?? '');
  return match ? Number(match[1]) : Number.POSITIVE_INFINITY;
}

/** Lets the page's countdown (a 250 ms interval) catch up with the KS it just got. */
async function countdown(
  page: Page,
): Promise<{ expiresIn: string | null; renewsIn: string | null }> {
  await step([page], 300);
  return { expiresIn: await text(page, '#expires-in'), renewsIn: await text(page, '#renews-in') };
}

describe('the demo in Chromium', () => {
  const uses: Use[] = [];
  let a: Page;
  let b: Page;

  it('signs in and shows a KS', async () => {
    a = await context.newPage();
    tabNames.set(a, 'a');
    await a.goto(server.url);
    await a.locator('#login-form').waitFor();
    await a.locator('#user').fill('alice');
    await a.locator('#login-form button[type=submit]').click();
    await expect.poll(() => text(a, '#user-name'), POLL).toBe('alice');
    await step([a], 100);
    expect(received).toHaveLength(1);
    await shows(a, received[0]!.ks);
    // Least privilege by default: the entry the player plays, and the app id.
    expect(await text(a, '[data-field="privileges"]')).toBe(
      'sview:0_emu00001,appid:kaltura-ks-demo',
    );
    await expect
      .poll(() => text(a, '#log li:last-child span'), POLL)
      .toMatch(/^Got a KS from this tab \(Tab 1\)/);
    const shown = await countdown(a);
    expect(shown.expiresIn).toBe(`${LIFETIME_S} s`);
    expect(shown.renewsIn).toMatch(/^4\d s$/);
    await a.screenshot({ path: screenshotPath('demo-signed-in'), fullPage: true });
  });

  it(`watches ${RENEWALS} renewals in two tabs, every KS valid while held`, async () => {
    b = await context.newPage();
    tabNames.set(b, 'b');
    await b.goto(server.url);
    await expect.poll(() => text(b, '#user-name'), POLL).toBe('alice');
    await step([a, b], 100);
    await expect.poll(() => text(b, '#ks'), POLL).toBe(short(received[0]!.ks));
    // The second tab fetched its first KS itself (before a tab knows its user it trusts no
    // other tab): the server answered from its cache, with the same KS.
    expect(received.map((r) => r.ks)).toEqual([received[0]!.ks, received[0]!.ks]);
    for (const [tab, page] of [
      ['a', a],
      ['b', b],
    ] as const) {
      expect(fullKs(await text(page, '#ks'))).toBe(received[0]!.ks);
      uses.push({ tab, ks: received[0]!.ks, at: clock.now(), how: 'shown' });
    }

    // Time runs to two seconds before the next renewal the pages show, then in steps of
    // STEP_MS (so the server's clock and the page's stay that close); each tab's KS is
    // sampled after every step.
    for (let i = 0; received.length < RENEWALS + 2 && i < LIFETIME_S * (RENEWALS + 1); i++) {
      const next = Math.min(...(await Promise.all([a, b].map(renewsIn))));
      await step([a, b], Number.isFinite(next) && next > 3 ? (next - 2) * 1000 : STEP_MS);
      for (const page of [a, b]) {
        const ks = fullKs(await text(page, '#ks'));
        if (ks) uses.push({ tab: tabNames.get(page)!, ks, at: clock.now(), how: 'shown' });
      }
    }
    expect(received).toHaveLength(RENEWALS + 2);
    const latest = received.at(-1)!.ks;
    for (const page of [a, b]) {
      // The last renewal may reach the page after the step that caused it was sampled.
      await shows(page, latest);
      uses.push({ tab: tabNames.get(page)!, ks: latest, at: clock.now(), how: 'shown' });
    }
    // Each tab's Log card says which tab renewed, and both say the same.
    const renewedBy = async (page: Page) =>
      (await page.locator('#log li span').allTextContents())
        .flatMap((line) => {
          const by = /^Renewed by (this tab \((Tab \d)\)|(Tab \d)):/.exec(line);
          return by ? [{ tab: by[2] ?? by[3], self: by[2] !== undefined }] : [];
        })
        .reverse();
    for (const page of [a, b])
      await expect.poll(async () => (await renewedBy(page)).length, POLL).toBe(RENEWALS);
    const [byA, byB] = [await renewedBy(a), await renewedBy(b)];
    expect(byA.map((r) => r.tab)).toEqual(byB.map((r) => r.tab));
    for (let i = 0; i < RENEWALS; i++) {
      // Tab 1 is a, Tab 2 is b: exactly one of them says "this tab".
      expect(byA[i]!.self).toBe(byA[i]!.tab === 'Tab 1');
      expect(byB[i]!.self).toBe(byB[i]!.tab === 'Tab 2');
    }
    // The renewal may have come early in the last step: a second of the new KS may be gone.
    expect((await countdown(a)).expiresIn).toMatch(
      new RegExp(`^(${LIFETIME_S}|${LIFETIME_S - 1}) s$`),
    );
    await a.screenshot({ path: screenshotPath('demo-after-renewals'), fullPage: true });

    // Every KS the page held verifies (signature, partner, user) at each moment it was
    // held or sent, which is to say it was never used after its expiry.
    const check = (ks: string, at: number) =>
      verifyKs(ks, { secrets: [PARTNER.adminSecret], partnerId: PARTNER.id, now: () => at });
    for (const r of received) expect(check(r.ks, r.at)).toMatchObject({ userId: 'alice', type: 0 });
    for (const use of [...uses, ...sent])
      expect(
        () => check(use.ks, use.at),
        `KS …${use.ks.slice(-8)} ${use.how} by tab ${use.tab} at ${new Date(use.at).toISOString()}`,
      ).not.toThrow();
    expect(sent.length).toBeGreaterThanOrEqual(RENEWALS + 1);
    expect(new Set(uses.map((u) => u.ks)).size).toBe(RENEWALS + 1);
    expect(inspected.length).toBeGreaterThan(0);
    for (const answer of inspected) expect(answer).toEqual({ status: 200, verified: true });
    // Each renewal came while the KS before it still had time left.
    for (let i = 1; i < received.length; i++)
      expect(received[i]!.at).toBeLessThan(received[i - 1]!.expiresAt);
  });

  it('signs out in one tab, and the other tab clears', async () => {
    await a.locator('#logout-form button[type=submit]').click();
    await expect.poll(() => text(b, '#ks'), POLL).toBe('—');
    expect(await text(b, '#log li:first-child span')).toMatch(/^Signed out/);
    // The other tab goes back to the sign-in page 400 ms later (page clock). Both tabs are
    // navigating: move the clock without a lock barrier.
    await clock.runFor(500);
    await b.locator('#signed-out').waitFor();
    await a.locator('#signed-out').waitFor();
    // The tab that did not sign out says why it is back on the sign-in page; the other does not.
    await expect.poll(() => text(b, '#notice'), POLL).toBe('You were signed out in another tab.');
    expect(await b.locator('#notice').isVisible()).toBe(true);
    expect(await a.locator('#notice').isVisible()).toBe(false);
    await b.screenshot({ path: screenshotPath('demo-signed-out-other-tab'), fullPage: true });
    // The server dropped the user's KS and ended it on the emulator (on the shared clock).
    expect(demo.engine.issuer.size).toBe(0);
    expect(emulator.stats()['session.end']).toBe(1);
    expect((await context.request.get(`${server.url}/kaltura/ks`)).status()).toBe(401);
    // Neither tab asks for a KS again.
    const count = received.length;
    await clock.runFor(LIFETIME_S * 1000);
    await Promise.all(pending);
    expect(received).toHaveLength(count);
  });
  it('says when "Renew now" will work, and fits a 390 px screen', async () => {
    await a.locator('#user').fill('alice');
    await a.locator('#login-form button[type=submit]').click();
    await expect.poll(() => text(a, '#user-name'), POLL).toBe('alice');
    await step([a], 100);
    const first = received.at(-1)!.ks;
    await shows(a, first);

    // Within the server's forced-refresh interval (10 s after the mint), nothing changes: the
    // page says from when a renewal is possible.
    await a.locator('#renew').click();
    await expect
      .poll(() => text(a, '#log li:first-child span'), POLL)
      .toMatch(/^Not renewed: .* possible in 10 s \(at \d\d:\d\d:\d\d\)\.$/);
    expect(received.at(-1)!.ks).toBe(first);
    await step([a], 10_000);
    await a.locator('#renew').click();
    await expect.poll(() => received.at(-1)!.ks, POLL).not.toBe(first);
    await shows(a, received.at(-1)!.ks);

    await a.setViewportSize({ width: 390, height: 844 });
    const pageWidth = () =>
      (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document
        .documentElement.scrollWidth;
    expect(await a.evaluate(pageWidth)).toBeLessThanOrEqual(390);
    const renew = await a.locator('#renew').boundingBox();
    expect(renew).not.toBeNull();
    expect(renew!.x).toBeGreaterThanOrEqual(0);
    expect(renew!.x + renew!.width).toBeLessThanOrEqual(390);
    await a.screenshot({ path: screenshotPath('demo-390px'), fullPage: true });
  });
});
