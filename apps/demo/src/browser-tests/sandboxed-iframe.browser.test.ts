import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium, POLL } from './harness.js';
import { type KsTestServer, startKsServer } from './ks-server.js';
import { startClient, type TabGlobals } from './ks-tab.js';

/**
 * @kaltura-ks/browser in a sandboxed iframe (`<iframe sandbox="allow-scripts">`, as LMS/LTI
 * player embeds are): an opaque origin. What Chromium does there, checked below: every
 * `navigator.locks.request` rejects with SecurityError, `localStorage` throws SecurityError
 * (the client uses none), BroadcastChannel works (no other frame shares an opaque origin).
 * The requests carry no cookie: the route takes the user from a header, over CORS.
 *
 * Time runs for real here (no timer is awaited: each renewal is a `refresh()`), and the
 * server's clock is the machine's.
 */

const LOAD = { timeout: 30_000, interval: 20 } as const;

let browser: Browser;
let server: KsTestServer;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  server = await startKsServer({ now: Date.now }, { crossOrigin: true });
  context = await browser.newContext();
  page = await context.newPage();
  await page.goto(server.url);
});
afterEach(async () => {
  await context?.close();
  await server?.close();
});

/** Adds the sandboxed iframe, loading the client bundle from the test server; returns its frame. */
async function sandboxedFrame(): Promise<Frame> {
  await page.evaluate((origin) => {
    const doc = (globalThis as unknown as { document: SandboxDocument }).document;
    const frame = doc.createElement('iframe');
    frame.setAttribute('sandbox', 'allow-scripts');
    frame.srcdoc = `<!doctype html><script src="${origin}/ks-client.js"></script>`;
    doc.body.append(frame);
  }, server.url);
  // Loading the bundle into the frame is I/O: generous bounds for a loaded machine.
  await expect.poll(() => page.frames().length, LOAD).toBe(2);
  const frame = page.frames()[1]!;
  await frame.waitForFunction(() => 'KsBrowser' in globalThis, undefined, LOAD);
  return frame;
}

interface SandboxDocument {
  createElement(tag: 'iframe'): { setAttribute(n: string, v: string): void; srcdoc: string };
  body: { append(node: unknown): void };
}

describe('@kaltura-ks/browser in a sandboxed iframe (opaque origin)', () => {
  it('Chromium denies Web Locks and storage there, and leaves BroadcastChannel', async () => {
    const frame = await sandboxedFrame();
    const found = await frame.evaluate(async () => {
      const g = globalThis as unknown as {
        origin: string;
        navigator: { locks: { request(name: string, f: () => void): Promise<unknown> } };
        localStorage: unknown;
        BroadcastChannel: new (name: string) => { close(): void };
      };
      const name = (f: () => unknown) =>
        Promise.resolve()
          .then(f)
          .then(
            () => 'ok',
            (e: { name: string }) => e.name,
          );
      return {
        origin: g.origin,
        locks: await name(() => g.navigator.locks.request('x', () => {})),
        localStorage: await name(() => g.localStorage),
        channel: await name(() => new g.BroadcastChannel('x').close()),
      };
    });
    expect(found).toEqual({
      origin: 'null',
      locks: 'SecurityError',
      localStorage: 'SecurityError',
      channel: 'ok',
    });
  });

  it('the client gets its KS and renews it there, on its own, and reports no error', async () => {
    const frame = await sandboxedFrame();
    // Cross-tab on, as by default: the client finds out that it cannot coordinate.
    await startClient(frame, {
      url: `${server.url}/kaltura/ks`,
      init: { credentials: 'omit', headers: { Authorization: 'Test alice' } },
    });
    const call = (method: 'getKs' | 'refresh') =>
      frame.evaluate(
        (m) =>
          (globalThis as unknown as TabGlobals).ksTest.client[m]().then(
            (ks): { ks?: string; error?: string } => ({ ks }),
            (e: { code: string }): { ks?: string; error?: string } => ({ error: e.code }),
          ),
        method,
      );

    // The first KS (startClient asked for it: this joins or reads it): this tab does not know
    // its user yet, so it renews alone anyway.
    const first = await call('getKs');
    expect(first.ks).toMatch(/^djJ8/);
    // Each renewal after it goes through the lock, which is denied: it still reaches the
    // route (which, this early in the KS's life, may answer with the same KS).
    const renewals = [];
    for (let i = 0; i < 3; i++) renewals.push(await call('refresh'));
    for (const renewed of renewals) expect(renewed).toEqual({ ks: expect.stringMatching(/^djJ8/) });
    // The server records each status once the answer is out: poll for the last.
    await expect
      .poll(() => server.hits.map((h) => [h.renew, h.status]), POLL)
      .toEqual([
        [false, 200],
        [true, 200],
        [true, 200],
        [true, 200],
      ]);
    const log = await frame.evaluate(() => (globalThis as unknown as TabGlobals).ksTest.log);
    expect(log.filter((e) => e.type !== 'ks')).toEqual([]);
    expect(
      await frame.evaluate(() => (globalThis as unknown as TabGlobals).ksTest.client.current?.ks),
    ).toBe(renewals[2]!.ks);
  });
});
