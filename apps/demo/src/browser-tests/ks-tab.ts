import type { BrowserContext, Frame, Page } from 'playwright-core';
import { expect } from 'vitest';
import { lockBarrier, POLL, type SharedClock } from './harness.js';

/**
 * A tab of the `ks-server` test page with a `createKsClient()` running in it, driven
 * through `page.evaluate`. The page-side shapes are written out here (rather than imported
 * from `@kaltura-ks/browser`) because this side of the suite compiles without the DOM lib.
 */

/** What the page's `KsSession` carries, as far as these tests read it. */
export interface TabSession {
  ks: string;
  partnerId: number;
  userId: string;
  expiresAt: number;
  serverTime: number;
}

/** The client's events as the tab records them, with the page's clock. */
export type TabEvent =
  | { type: 'ks'; ks: string; userId: string; at: number }
  | { type: 'switch'; userId: string; at: number }
  | { type: 'error'; code: string; at: number }
  | { type: 'clear'; at: number };

type ClientEvent =
  | { type: 'ks' | 'switch'; session: TabSession }
  | { type: 'error'; error: { code: string } }
  | { type: 'clear' };

interface PageClient {
  getKs(): Promise<string>;
  readonly current: TabSession | undefined;
  readonly timing: { expiresAt: number; renewAt: number } | undefined;
  refresh(): Promise<string>;
  reportRejected(ks?: string): Promise<string>;
  clear(): void;
  stop(): void;
  subscribe(listener: (event: ClientEvent) => void): () => void;
  attachPlayer(player: unknown): () => void;
}

/** The globals of a test tab (this is how `page.evaluate` callbacks see the page). */
export interface TabGlobals {
  KsBrowser: { createKsClient(options?: object): PageClient };
  ksTest: { client: PageClient; log: TabEvent[] };
  fetch(url: string, init?: object): Promise<{ status: number }>;
}

/** What a test reads from a tab at once. */
export interface TabState {
  now: number;
  ks: string | undefined;
  timing: { expiresAt: number; renewAt: number } | undefined;
  log: TabEvent[];
}

/**
 * Opens the test page in a new tab of `context` and starts a client (getKs at once).
 * `init` runs in the page before any of its scripts.
 */
export async function openTab(
  context: BrowserContext,
  url: string,
  options: object = {},
  init?: () => void,
): Promise<Page> {
  const page = await context.newPage();
  if (init) await page.addInitScript(init);
  await page.goto(url);
  await startClient(page, options);
  return page;
}

/**
 * Starts a `createKsClient(options)` in a tab already on the test page (or a frame with the
 * bundle loaded), and asks for a KS.
 */
export async function startClient(page: Page | Frame, options: object = {}): Promise<void> {
  await page.evaluate((opts) => {
    const g = globalThis as unknown as TabGlobals;
    const client = g.KsBrowser.createKsClient(opts);
    const log: TabEvent[] = [];
    client.subscribe((e) =>
      log.push(
        e.type === 'ks'
          ? { type: 'ks', ks: e.session.ks, userId: e.session.userId, at: Date.now() }
          : e.type === 'switch'
            ? { type: 'switch', userId: e.session.userId, at: Date.now() }
            : e.type === 'error'
              ? { type: 'error', code: e.error.code, at: Date.now() }
              : { type: 'clear', at: Date.now() },
      ),
    );
    g.ksTest = { client, log };
    client.getKs().catch(() => {});
  }, options);
}

export function tabState(page: Page): Promise<TabState> {
  return page.evaluate(() => {
    const { client, log } = (globalThis as unknown as TabGlobals).ksTest;
    return { now: Date.now(), ks: client.current?.ks, timing: client.timing, log: [...log] };
  });
}

/** The KS each tab holds (`client.current?.ks`). */
export function heldKs(pages: readonly Page[]): Promise<(string | undefined)[]> {
  return Promise.all(
    pages.map((page) =>
      page.evaluate(() => (globalThis as unknown as TabGlobals).ksTest.client.current?.ks),
    ),
  );
}

/** The earliest renewal due among the tabs, as ms from the pages' now. */
export async function nextRenewalIn(pages: readonly Page[]): Promise<number> {
  const states = await Promise.all(pages.map(tabState));
  const due = states.flatMap((s) => (s.timing ? [s.timing.renewAt - s.now] : []));
  if (due.length === 0) throw new Error('no tab has a renewal scheduled');
  return Math.max(0, Math.min(...due));
}

/**
 * Opens `n` tabs one after the other, letting each fetch its first KS (a new client trusts
 * no other tab before it knows its user), until all hold the same KS.
 */
export async function openTabs(
  context: BrowserContext,
  clock: SharedClock,
  url: string,
  n: number,
  options: object = {},
  init?: () => void,
): Promise<Page[]> {
  const pages: Page[] = [];
  for (let i = 0; i < n; i++) {
    pages.push(await openTab(context, url, options, init));
    await clock.runFor(60);
    await lockBarrier(pages);
    await expect.poll(() => heldKs(pages).then((held) => held.every(Boolean)), POLL).toBe(true);
  }
  expect(new Set(await heldKs(pages)).size).toBe(1);
  return pages;
}

/** Waits until every tab holds one and the same KS, other than `previous`; returns it. */
export async function converged(pages: readonly Page[], previous?: string): Promise<string> {
  await lockBarrier(pages);
  await expect
    .poll(async () => {
      const held = await heldKs(pages);
      return held.every((ks) => ks !== undefined && ks !== previous && ks === held[0]);
    }, POLL)
    .toBe(true);
  return (await heldKs(pages))[0]!;
}

/**
 * Runs the clock (pages and servers) exactly to the earliest renewal due among the tabs,
 * and waits until every tab holds the new KS.
 */
export async function renewOnce(
  clock: SharedClock,
  pages: readonly Page[],
  previous: string,
): Promise<string> {
  await clock.runFor(await nextRenewalIn(pages));
  return converged(pages, previous);
}
