import { verifyKs } from '@kaltura-ks/core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPageAssets } from '../assets.js';
import { loadConfig } from '../config.js';
import { type PreparedKaltura, prepareKaltura } from '../kaltura.js';
import { createDemoApp, type DemoApp } from '../server.js';
import { launchChromium, listen, screenshotPath } from './harness.js';

/**
 * The demo as `npx -y pnpm@10 demo` starts it (the embedded emulator, the player from npm),
 * with `KALTURA_ENTRY_ID` naming the third sample (the default, the first, is in
 * demo.browser.test.ts), in Chromium with time running for real — the player needs its timers —
 * and KSs of a few seconds so they renew while the video plays. Waits are for conditions.
 */

const LIFETIME_S = 10;
const ENTRY = '0_emu00003';
const WAIT = { timeout: 90_000, interval: 100 } as const;

interface DemoPageGlobals {
  cspViolations: string[];
  demoPlayer?: { getVideoElement(): { currentTime: number } | undefined };
  document: {
    addEventListener(type: string, listener: (event: { violatedDirective: string }) => void): void;
  };
}

let browser: Browser;
let kaltura: PreparedKaltura;
let demo: DemoApp;
let server: { url: string; close(): Promise<void> };
let context: BrowserContext;
const offLoopback: string[] = [];

beforeAll(async () => {
  const config = { ...loadConfig({ KALTURA_ENTRY_ID: ENTRY }), expiresInSeconds: LIFETIME_S };
  const [b, k, assets] = await Promise.all([
    launchChromium(),
    prepareKaltura(config),
    buildPageAssets(),
  ]);
  browser = b;
  kaltura = k;
  demo = createDemoApp({ config, kaltura: kaltura.setup, assets });
  server = await listen(demo.app);
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.route(
    (url) => url.hostname !== '127.0.0.1',
    (route) => {
      offLoopback.push(route.request().url());
      return route.abort('blockedbyclient');
    },
  );
  await context.addInitScript(() => {
    const g = globalThis as unknown as DemoPageGlobals;
    g.cspViolations = [];
    g.document.addEventListener('securitypolicyviolation', (event) =>
      g.cspViolations.push(event.violatedDirective),
    );
  });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.close();
  await demo?.close();
  await kaltura?.close();
});

const text = (page: Page, selector: string) => page.locator(selector).textContent();
const logLines = (page: Page) => page.locator('#log li span').allTextContents();
const videoTime = (page: Page) =>
  page.evaluate(
    () =>
      (globalThis as unknown as DemoPageGlobals).demoPlayer?.getVideoElement()?.currentTime ?? 0,
  );

describe('the demo plays its entry with the Kaltura Player from npm', () => {
  it('plays the entry in KALTURA_ENTRY_ID on a KS that may view it only, and logs the player switching to each renewed KS', async () => {
    const page = await context.newPage();
    const kss: string[] = [];
    page.on('response', async (response) => {
      if (new URL(response.url()).pathname === '/kaltura/ks' && response.ok())
        kss.push(((await response.json()) as { ks: string }).ks);
    });
    const media: { url: string; status: number }[] = [];
    page.on('response', (response) => {
      if (new URL(response.url()).pathname.startsWith('/p/'))
        media.push({ url: response.url(), status: response.status() });
    });
    await page.goto(server.url);
    await page.locator('#user').fill('alice');
    await page.locator('#login-form button[type=submit]').click();
    await expect.poll(() => text(page, '#user-name'), WAIT).toBe('alice');

    // The chosen entry plays, from the player the demo serves (no CDN): the dark city.
    await expect.poll(() => videoTime(page), WAIT).toBeGreaterThan(1);
    const partner = kaltura.emulator!.partners[0]!;
    expect(kss.length).toBeGreaterThan(0);
    expect(
      verifyKs(kss[0]!, { secrets: partner.adminSecret, partnerId: partner.id, now: () => 0 })
        .privileges,
    ).toBe(`sview:${ENTRY},appid:kaltura-ks-demo`);
    expect(media.some((m) => m.url.includes(`/entryId/${ENTRY}/`))).toBe(true);
    expect(media.some((m) => /\/entryId\/0_emu0000[12]\//.test(m.url))).toBe(false);
    expect(await logLines(page)).toContainEqual(
      `Player loaded entry ${ENTRY}, kept on the current KS`,
    );

    // After a renewal, the Log card shows the player's requests on the new KS.
    await expect
      .poll(async () => {
        const switched = (await logLines(page)).flatMap(
          (line) => /^Player requests switched to the renewed KS …(.{8})$/.exec(line)?.[1] ?? [],
        );
        return switched.some((tail) => kss.slice(1).some((ks) => ks.endsWith(tail)));
      }, WAIT)
      .toBe(true);
    await page.screenshot({ path: screenshotPath('demo-player'), fullPage: true });

    // Every media request was accepted; the page broke no rule of its CSP and left loopback never.
    expect(media.filter((m) => m.status >= 400)).toEqual([]);
    expect(
      await page.evaluate(() => (globalThis as unknown as DemoPageGlobals).cspViolations),
    ).toEqual([]);
    expect(offLoopback).toEqual([]);
    expect((await logLines(page)).filter((line) => /error/i.test(line))).toEqual([]);
  }, 300_000);
});
