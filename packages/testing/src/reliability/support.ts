import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type RequestListener,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { isKsError, KsType } from '@kaltura-ks/core';
import { createKalturaClient, type KalturaAppTokenInput } from '@kaltura-ks/core/client';
import {
  type ExpressKalturaKsOptions,
  type KalturaKsMiddleware,
  kalturaKs,
} from '@kaltura-ks/express';
import express, { type NextFunction, type Request, type Response } from 'express';

/**
 * Helpers shared by the reliability and security suites: a movable clock, loopback
 * servers, an HTTP client with no connection pool (every request is one socket, so a
 * measured time is the request's own), the Express route, and a resource census for
 * leak checks.
 */

/** Never start a fake clock at 0 (house style); this is 2027-01-15. */
export const START_MS = 1_800_000_000_000;

export interface TestClock {
  now: () => number;
  advance(ms: number): void;
}

export function testClock(startMs = START_MS): TestClock {
  let current = startMs;
  return {
    now: () => current,
    advance: (ms) => {
      current += ms;
    },
  };
}

export interface Listening {
  server: Server;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  close(): Promise<void>;
}

/** Listens on a loopback port; `close` also drops keep-alive connections. */
export async function listen(target: Server | RequestListener): Promise<Listening> {
  const server = typeof target === 'function' ? createServer(target) : target;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', backlog: 1024 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    server,
    origin: `http://127.0.0.1:${port}`,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  json: any;
  /** Wall time from sending the request to the end of the answer, ms. */
  ms: number;
}

/** One request on its own socket (no pool, no keep-alive), timed with `performance.now()`. */
export function httpRequestOnce(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<HttpAnswer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: init.method ?? 'GET', headers: init.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json,
            ms: performance.now() - started,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Makes app tokens as an account owner would: an admin KS, then `appToken.add`. */
export async function addAppTokens(
  serviceUrl: string,
  partnerId: number,
  adminSecret: string,
  inputs: readonly KalturaAppTokenInput[],
): Promise<{ id: string; token: string }[]> {
  const client = createKalturaClient({ serviceUrl, partnerId });
  try {
    client.ks = await client.session.start({ secret: adminSecret, type: KsType.ADMIN });
    const tokens: { id: string; token: string }[] = [];
    for (const input of inputs) {
      const { id, token } = await client.appToken.add(input);
      tokens.push({ id, token });
    }
    return tokens;
  } finally {
    await client.close();
  }
}

/** The header that names the signed-in user in these suites' apps. */
export const USER_HEADER = 'x-user';

export interface RouteApp {
  /** `http://127.0.0.1:PORT/kaltura/ks` */
  url: string;
  origin: string;
  engine: KalturaKsMiddleware['engine'];
  /** Errors that reached Express's error path (the route itself never sends any there). */
  errors: unknown[];
  /** GET the route as this user (no user: no header). */
  get(user?: string, headers?: Record<string, string>): Promise<HttpAnswer>;
  close(): Promise<void>;
}

/**
 * The Express route as an app mounts it: `app.use(kalturaKs(options))`, the user from
 * the `x-user` header (unless `getUser` is given), and an error handler that answers
 * 500 with the error's code, never its message.
 */
export async function startRoute(
  options: Omit<ExpressKalturaKsOptions, 'getUser'> &
    Partial<Pick<ExpressKalturaKsOptions, 'getUser'>>,
): Promise<RouteApp> {
  const middleware = kalturaKs({
    getUser: (req) => {
      const id = req.headers[USER_HEADER];
      return typeof id === 'string' ? { id } : null;
    },
    onWarning: () => {},
    ...options,
  });
  const errors: unknown[] = [];
  const app = express();
  app.disable('x-powered-by');
  app.use(middleware);
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    errors.push(error);
    res.status(500).json({ error: { code: isKsError(error) ? error.code : 'INTERNAL' } });
  });
  const listening = await listen(app as unknown as RequestListener);
  const url = `${listening.origin}/kaltura/ks`;
  return {
    url,
    origin: listening.origin,
    engine: middleware.engine,
    errors,
    get: (user, headers = {}) =>
      httpRequestOnce(url, {
        headers: user === undefined ? headers : { [USER_HEADER]: user, ...headers },
      }),
    async close() {
      await listening.close();
      await middleware.engine.close();
    },
  };
}

/** How many of each kind of resource keeps the event loop alive (sockets, servers, timers…). */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo())
    counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** The kinds of which there are more now than in `baseline`. */
export function resourcesAbove(baseline: Map<string, number>): Record<string, number> {
  const extra: Record<string, number> = {};
  for (const [type, count] of activeResources()) {
    const over = count - (baseline.get(type) ?? 0);
    if (over > 0) extra[type] = over;
  }
  return extra;
}

/**
 * Waits (for real, up to `timeoutMs`: sockets close asynchronously) until no kind of
 * resource outnumbers the baseline; returns what is still extra, `{}` when clean.
 */
export async function settleResources(
  baseline: Map<string, number>,
  timeoutMs = 2_000,
): Promise<Record<string, number>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const extra = resourcesAbove(baseline);
    if (Object.keys(extra).length === 0 || performance.now() > deadline) return extra;
    await sleep(20);
  }
}

const PROCESS_EVENTS = [
  'exit',
  'beforeExit',
  'warning',
  'uncaughtException',
  'unhandledRejection',
  'SIGINT',
  'SIGTERM',
] as const;

/** Listener counts on `process` for the events a library might hook. */
export function processListeners(): Record<string, number> {
  return Object.fromEntries(PROCESS_EVENTS.map((event) => [event, process.listenerCount(event)]));
}

/**
 * A clock with timers that fire only when a test moves time (the browser client's
 * `now` and `timers` options). Real I/O started by a timer still runs for real.
 */
export class ManualTimers {
  #time: number;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(startMs = START_MS) {
    this.#time = startMs;
  }

  readonly now = (): number => this.#time;

  readonly provider = {
    setTimeout: (fn: () => void, ms: number): unknown => {
      const id = ++this.#seq;
      this.#timers.set(id, { at: this.#time + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout: (handle: unknown): void => {
      this.#timers.delete(handle as number);
    },
  };

  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    this.advanceTo(this.#time + ms);
  }

  advanceTo(end: number): void {
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= end && (next === undefined || entry[1].at < next[1].at)) next = entry;
      }
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.#time = Math.max(this.#time, next[1].at);
      next[1].fn();
    }
    this.#time = Math.max(this.#time, end);
  }
}
