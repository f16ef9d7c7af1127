import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Express } from 'express';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/**
 * Shared pieces of the real-browser suite (`pnpm test:browser`): Debian's Chromium driven
 * by playwright-core, servers on loopback, and one clock for both sides.
 *
 * Time never passes for real: the pages run on Playwright's clock (installed on the whole
 * browser context, so every tab shares it) and the servers (middleware, issuer, emulator) on
 * a `now()` that the same call moves. Real waiting is only for I/O to settle, by bounded
 * polling.
 */

export const CHROMIUM_PATH = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const INSTALL_HINT = 'apt-get update && apt-get install -y chromium';

/** Bounded polling for I/O to settle (real time): never a fixed sleep. */
export const POLL = { timeout: 5_000, interval: 20 } as const;

/** The repository root: artifacts go to `test-results/` and `bench-results/` there. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Starts Debian's Chromium, or fails saying how to install it. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium is missing (${CHROMIUM_PATH}). Install it: ${INSTALL_HINT}`);
  }
  try {
    return await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  } catch (error) {
    throw new Error(
      `Chromium at ${CHROMIUM_PATH} did not start (${(error as Error).message.split('\n')[0]}). Reinstall it: ${INSTALL_HINT}`,
      { cause: error },
    );
  }
}

/**
 * One clock for the servers and the pages. `now` goes to the middleware and the emulator;
 * `attach(context)` installs Playwright's clock on a browser context, paused at the same
 * time; `runFor`/`fastForward` move both.
 */
export class SharedClock {
  #t: number;
  readonly #contexts = new Set<BrowserContext>();

  /** `start`: epoch ms, never 0 (lru-cache and the KS fields need a real date). */
  constructor(start: number) {
    this.#t = start;
  }

  /** The server side's clock, epoch ms. */
  readonly now = (): number => this.#t;

  /** Installs the clock on every page of the context, paused at the server's time. */
  async attach(context: BrowserContext): Promise<void> {
    await context.clock.install({ time: this.#t });
    await context.clock.pauseAt(this.#t);
    this.#contexts.add(context);
  }

  /**
   * Time passes normally for `ms`: every page timer due fires, in order. The server clock
   * moves first, so a request fired inside the window meets the server at its end: step
   * to the exact time something is due, or in steps small enough not to matter.
   */
  async runFor(ms: number): Promise<void> {
    if (ms <= 0) return;
    this.#t += ms;
    for (const context of this.#contexts) await context.clock.runFor(ms);
  }

  /** The laptop lid closed for `ms`: each page timer due fires once, at the end. */
  async fastForward(ms: number): Promise<void> {
    if (ms <= 0) return;
    this.#t += ms;
    for (const context of this.#contexts) await context.clock.fastForward(ms);
  }
}

/** Listens on 127.0.0.1, any free port. */
export async function listen(app: Express): Promise<{ url: string; close(): Promise<void> }> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const bundles = new Map<string, Promise<string>>();

/**
 * A module's named exports, bundled from source by esbuild as a classic script that defines
 * the global `globalName` (`KsBrowser.createKsClient`, …). Bundled once per run.
 */
export function bundleGlobal(contents: string, globalName: string): Promise<string> {
  let bundle = bundles.get(globalName);
  if (bundle === undefined) {
    bundle = build({
      stdin: {
        contents,
        resolveDir: dirname(fileURLToPath(import.meta.url)),
        sourcefile: `${globalName}-entry.ts`,
        loader: 'ts',
      },
      bundle: true,
      format: 'iife',
      globalName,
      platform: 'browser',
      target: 'es2022',
      conditions: ['@kaltura-ks/source'],
      write: false,
      logLevel: 'silent',
    }).then((result) => result.outputFiles[0]!.text);
    bundles.set(globalName, bundle);
  }
  return bundle;
}

/** `@kaltura-ks/browser` as the global `KsBrowser` (`KsBrowser.createKsClient`). */
export function bundleKsClient(): Promise<string> {
  return bundleGlobal("export { createKsClient } from '@kaltura-ks/browser';", 'KsBrowser');
}

/** The Web Lock (and BroadcastChannel) name of a client on `url`, as client.ts names it. */
export const lockName = (url = '/kaltura/ks') => `kaltura-ks:${url}`;

interface PageGlobals {
  navigator: {
    locks: { request(name: string, options: object, callback: () => unknown): Promise<unknown> };
  };
}

/**
 * Waits until every renewal the pages' clients have queued on the Web Lock is done: each
 * page takes the lock once, behind whoever asked before. A renewal fired by a timer asks
 * for the lock synchronously, so after `runFor` returns this catches all of them.
 */
export async function lockBarrier(pages: readonly Page[], url = '/kaltura/ks'): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new Error(`a page held the Web Lock ${lockName(url)} for over ${POLL.timeout} ms`)),
      POLL.timeout,
    );
  });
  const barrier = Promise.all(
    pages.map((page) =>
      page.evaluate(
        (name) =>
          (globalThis as unknown as PageGlobals).navigator.locks
            // Options given (the client gives none): lock-handoff's page script tells
            // this barrier from the client's own requests by that.
            .request(name, { mode: 'exclusive' }, () => undefined)
            .then(() => undefined),
        lockName(url),
      ),
    ),
  );
  try {
    await Promise.race([barrier, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Writes a file under the repository root, creating its folder. Returns the path. */
export function writeArtifact(relativePath: string, data: string | Uint8Array): string {
  const path = join(REPO_ROOT, relativePath);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
  return path;
}

/** Where a screenshot goes: `test-results/<name>.png` at the repository root. */
export function screenshotPath(name: string): string {
  const path = join(REPO_ROOT, 'test-results', `${name}.png`);
  mkdirSync(dirname(path), { recursive: true });
  return path;
}
