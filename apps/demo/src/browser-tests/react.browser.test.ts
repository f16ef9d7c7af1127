import { verifyKs } from '@kaltura-ks/core';
import { type Emulator, startEmulator } from '@kaltura-ks/emulator';
import { bundlePage } from '@kaltura-ks/examples/react';
import express from 'express';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPageAssets } from '../assets.js';
import { loadConfig } from '../config.js';
import { createDemoApp, type DemoApp } from '../server.js';
import {
  launchChromium,
  listen,
  lockBarrier,
  POLL,
  SharedClock,
  screenshotPath,
} from './harness.js';

/**
 * A real React page (examples/react/page.tsx: <KsProvider> and useKs(), bundled by esbuild
 * with React, @kaltura-ks/react and @kaltura-ks/browser) in Chromium, against the demo
 * server on the embedded emulator: signed in through the demo, the page shows the KS the
 * route hands out, re-renders on each renewal, and on "Renew now". Both clocks move together.
 */

const PARTNER = {
  id: 777_002,
  adminSecret: 'react-browser-admin-secret-0000000',
  userSecret: 'react-browser-user-secret-00000000',
};
const LIFETIME_S = 60;

let browser: Browser;
let clock: SharedClock;
let emulator: Emulator;
let demo: DemoApp;
let server: { url: string; close(): Promise<void> };
let context: BrowserContext;
const received: string[] = [];

beforeAll(async () => {
  clock = new SharedClock(Math.ceil(Date.now() / 1000) * 1000);
  const [b, e, assets, js] = await Promise.all([
    launchChromium(),
    startEmulator({ now: clock.now, partners: [PARTNER] }),
    buildPageAssets(),
    bundlePage(),
  ]);
  browser = b;
  emulator = e;
  demo = createDemoApp({
    config: { ...loadConfig({}), expiresInSeconds: LIFETIME_S },
    kaltura: {
      issuerOptions: { partnerId: PARTNER.id, adminSecret: PARTNER.adminSecret, serviceUrl: e.url },
      verifySecrets: [PARTNER.adminSecret],
      description: {
        backend: 'emulator',
        partnerId: PARTNER.id,
        strategy: 'local',
        serviceUrl: e.url,
      },
    },
    assets,
    now: clock.now,
  });
  // The React page next to the demo's own: same origin, so the same cookie and KS route.
  const app = express();
  app.get('/react', (_req, res) => {
    res
      .type('html')
      .send(
        '<!doctype html><title>React</title><div id="root"></div><script type="module" src="/react.js"></script>',
      );
  });
  app.get('/react.js', (_req, res) => void res.type('js').send(js));
  app.use(demo.app);
  server = await listen(app);

  context = await browser.newContext({ viewport: { width: 900, height: 500 } });
  await clock.attach(context);
  context.on('response', async (response) => {
    if (new URL(response.url()).pathname === '/kaltura/ks' && response.ok())
      received.push(((await response.json()) as { ks: string }).ks);
  });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.close();
  await demo?.close();
  await emulator?.close();
});

const shownKs = (page: Page) => page.getByTestId('ks').textContent();

/** The KS a page shows is the route's latest, and verifies as alice's at the server's time. */
async function showsLatest(page: Page): Promise<string> {
  await expect.poll(() => received.length, POLL).toBeGreaterThan(0);
  await expect.poll(() => shownKs(page), POLL).toBe(received.at(-1));
  const ks = received.at(-1)!;
  const fields = verifyKs(ks, {
    secrets: [PARTNER.adminSecret],
    partnerId: PARTNER.id,
    now: clock.now,
  });
  expect(fields).toMatchObject({ userId: 'alice', type: 0 });
  expect(await page.getByTestId('user').textContent()).toBe('alice');
  expect(await page.getByTestId('expires').textContent()).toBe(
    new Date(fields.validUntil * 1000).toISOString(),
  );
  return ks;
}

describe('a React page in Chromium, on the demo server', () => {
  let page: Page;

  it('asks who is signed in, then shows their KS', async () => {
    page = await context.newPage();
    await page.goto(`${server.url}/react`);
    // The client asks other tabs first (50 ms, page clock): nobody signed in yet.
    await clock.runFor(100);
    await expect
      .poll(() => page.getByRole('status').textContent(), POLL)
      .toBe('No KS: ERR_KS_NO_USER');

    await page.goto(server.url);
    await page.locator('#user').fill('alice');
    await page.locator('#login-form button[type=submit]').click();
    await page.locator('#user-name').waitFor();
    await page.goto(`${server.url}/react`);
    await clock.runFor(100);
    await showsLatest(page);
  });

  it('re-renders with each renewal, and on "Renew now"', async () => {
    const first = await showsLatest(page);
    // Renewal is due at about 80% of the lifetime: step there, in seconds.
    for (let s = 0; s < LIFETIME_S && (await shownKs(page)) === first; s++) {
      await clock.runFor(1000);
      await lockBarrier([page]);
    }
    const renewed = await showsLatest(page);
    expect(renewed).not.toBe(first);

    await clock.runFor(11_000); // past the server's minimum interval between forced renewals
    await page.getByRole('button', { name: 'Renew now' }).click();
    await lockBarrier([page]);
    await expect.poll(() => shownKs(page), POLL).not.toBe(renewed);
    await showsLatest(page);
    await page.screenshot({ path: screenshotPath('react-page'), fullPage: true });
  });
});
