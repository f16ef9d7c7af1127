import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { launchChromium, lockBarrier, lockName, POLL, SharedClock } from './harness.js';
import { type KsTestServer, startKsServer, USER_COOKIE } from './ks-server.js';
import { converged, heldKs, openTabs, tabState } from './ks-tab.js';

/**
 * Regression (@kaltura-ks/browser, client.ts `lead`): a tab that waited for the Web Lock
 * while another tab renewed checks, once it holds the lock, whether the new KS has arrived;
 * only if not does it fetch. The renewing tab posts its KS on the BroadcastChannel before
 * it lets go of the lock, but Chromium does not order that message before the next lock
 * grant (two separate services in the browser process): with 5 tabs waking together, the
 * grant overtook the message in about one renewal in five, and the waiting tab fetched a
 * second time. Now a tab that had to wait for the lock gives the message a short moment
 * (the election window) before it fetches; an uncontended tab takes the lock with
 * `ifAvailable` and pays nothing.
 *
 * To make that ordering certain here, each tab holds back BroadcastChannel messages while
 * it waits for the lock and delivers them right after the grant — an order Chromium
 * produces on its own — and the server holds the first tab's renewal until the second tab
 * is queued behind it, as a slow answer would.
 */

const START = Date.parse('2030-01-15T09:00:00Z');

/** Page side: messages that arrive while this tab waits for a Web Lock come after the grant. */
function messagesAfterLockGrant(): void {
  type Handler = ((event: unknown) => void) | null;
  interface Channel {
    onmessage: Handler;
  }
  const g = globalThis as unknown as {
    BroadcastChannel: new (name: string) => Channel;
    navigator: {
      locks: { request(name: string, ...rest: unknown[]): Promise<unknown> };
    };
  };
  let waiting = 0;
  let held: (() => void)[] = [];
  const Native = g.BroadcastChannel;
  const proto = Object.getOwnPropertyDescriptor(Native.prototype, 'onmessage')!;
  g.BroadcastChannel = class extends (Native as new (name: string) => object) {
    #handler: Handler = null;
    get onmessage(): Handler {
      return this.#handler;
    }
    set onmessage(handler: Handler) {
      this.#handler = handler;
      proto.set!.call(this, (event: unknown) => {
        if (waiting > 0) held.push(() => handler?.(event));
        else handler?.(event);
      });
    }
  } as unknown as new (
    name: string,
  ) => Channel;
  const locks = g.navigator.locks;
  const request = locks.request.bind(locks);
  locks.request = (name, ...rest) => {
    // Only the client's own waiting requests (name, callback); not the test's barriers,
    // which pass options.
    if (rest.length !== 1) return request(name, ...rest);
    const callback = rest.pop() as (lock: unknown) => unknown;
    waiting++;
    return request(name, ...rest, (lock: unknown) => {
      waiting--;
      try {
        return callback(lock);
      } finally {
        const deliver = held;
        held = [];
        for (const f of deliver) f();
      }
    });
  };
}

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
  server = await startKsServer(clock, { expiresInSeconds: 60 });
  context = await browser.newContext();
  await clock.attach(context);
  await context.addCookies([{ name: USER_COOKIE, value: 'alice', url: server.url }]);
});
afterEach(async () => {
  await context?.close();
  await server?.close();
});

/** Holders and waiters of the client's Web Lock, as Chromium reports them. */
function lockQueue(page: Page): Promise<{ held: number; pending: number }> {
  return page.evaluate(async (name) => {
    type Info = { name?: string };
    const { held = [], pending = [] } = (await (
      globalThis as unknown as {
        navigator: { locks: { query(): Promise<{ held?: Info[]; pending?: Info[] }> } };
      }
    ).navigator.locks.query()) as { held?: Info[]; pending?: Info[] };
    return {
      held: held.filter((l) => l.name === name).length,
      pending: pending.filter((l) => l.name === name).length,
    };
  }, lockName());
}

it('a tab granted the lock after another tab renewed takes that KS instead of fetching again', async () => {
  const pages = (await openTabs(context, clock, server.url, 2, {}, messagesAfterLockGrant)) as [
    Page,
    Page,
  ];
  const old = await converged(pages);
  const due = await Promise.all(
    pages.map(async (page) => {
      const { now, timing } = await tabState(page);
      return timing!.renewAt - now;
    }),
  );
  const [first, second] = [Math.min(...due), Math.max(...due)];
  const before = server.hits.length;

  // The first tab's renewal reaches the server and waits there, holding the lock.
  const release = server.holdRoute();
  await clock.runFor(first);
  await expect.poll(() => server.inflight, POLL).toBe(1);
  // The second tab's renewal comes due meanwhile: it queues behind the first.
  await clock.runFor(second - first);
  await expect.poll(() => lockQueue(pages[0]), POLL).toEqual({ held: 1, pending: 1 });
  release();

  const renewed = await converged(pages, old);
  await clock.runFor(100); // any short wait in the page ends
  await lockBarrier(pages);
  expect(await heldKs(pages)).toEqual([renewed, renewed]);
  expect(server.hits.length - before, 'requests the server saw for one renewal').toBe(1);
});
