import { Agent, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { KsType, verifyKs } from '@kaltura-ks/core';
import type { KsIssuer } from '@kaltura-ks/core/issuer';
import { mulberry32 } from '@kaltura-ks/emulator';
import { startRoute, USER_HEADER } from './support.js';

/**
 * A soak of the Express KS route (`app.use(kalturaKs(…))`) on loopback: many concurrent
 * keep-alive clients ask for the KSs of more distinct users than the cache holds, for a
 * bounded time. Every answer is checked (status, JSON, the user, and the KS itself with
 * `verifyKs`), the cache size is sampled on every issuer event and on a timer, and the
 * heap is measured after a full GC before and after.
 *
 * Minting is local (adminSecret), so the load is on the route, the cache and the signer,
 * not on a Kaltura stand-in. `runSoak` is exported for a longer run from `pnpm bench`.
 */

export interface SoakOptions {
  /**
   * How long to keep the load on, ms. On a slow machine the run goes on (up to three
   * times as long) until every user has been asked for once.
   */
  durationMs: number;
  /** Distinct users asked for (more than `max` makes the cache evict). */
  users: number;
  /** The issuer's cache size. */
  max: number;
  /** Clients sending at once, each on its own keep-alive socket. */
  concurrency: number;
  /** Share of requests for a hot set of `max / 2` users (cache hits). Default 0.5. */
  hotShare?: number;
  /** Seeds the choice of users, so a run repeats. Default 1. */
  seed?: number;
}

export interface SoakReport {
  durationMs: number;
  requests: number;
  requestsPerSecond: number;
  /** Distinct users that got a KS. */
  usersServed: number;
  /** KSs minted (cache misses). */
  mints: number;
  /** Answers that were wrong in any way (empty when all were right), at most 20 kept. */
  failures: string[];
  failureCount: number;
  /** The largest cache size seen, and how often it was sampled. */
  maxCacheSize: number;
  cacheSamples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Heap in use after a full GC, before the load and after it (with the cache full). */
  heapBeforeBytes: number;
  heapAfterBytes: number;
  heapGrowthBytes: number;
  /** False when no GC could be forced: the heap figures then include garbage. */
  gcForced: boolean;
}

const PARTNER = 5304;
const ADMIN_SECRET = 'soak-admin-secret-8e21f0c6b93a';
const PRIVILEGES = 'sview:*,appid:soak';

/** `gc()`, when V8 lets us have it (it does after `--expose-gc`, even set at run time). */
function findGc(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

function heapAfterGc(gc: (() => void) | undefined): number {
  if (gc !== undefined) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

function get(
  agent: Agent,
  url: string,
  user: string,
): Promise<{ status: number; text: string; cacheControl: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent, headers: { [USER_HEADER]: user } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          text: Buffer.concat(chunks).toString('utf8'),
          cacheControl: res.headers['cache-control'],
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const { durationMs, users, max, concurrency, hotShare = 0.5, seed = 1 } = options;
  const gc = findGc();
  let issuer: KsIssuer | undefined;
  let maxCacheSize = 0;
  let cacheSamples = 0;
  let mints = 0;
  const sample = () => {
    if (issuer === undefined) return;
    cacheSamples++;
    if (issuer.size > maxCacheSize) maxCacheSize = issuer.size;
  };
  const route = await startRoute({
    partnerId: PARTNER,
    adminSecret: ADMIN_SECRET,
    privileges: PRIVILEGES,
    max,
    onEvent: (event) => {
      if (event.type === 'mint') mints++;
      sample();
    },
  });
  issuer = route.engine.issuer;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const poll = setInterval(sample, 5);

  const random = mulberry32(seed);
  const hot = Math.max(1, Math.floor(max / 2));
  // A seeded permutation: the cold path walks every user before repeating one.
  const order = Array.from({ length: users }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let cold = 0;
  const pick = () => (random() < hotShare ? Math.floor(random() * hot) : order[cold++ % users]!);

  const served = new Set<number>();
  const failures: string[] = [];
  let failureCount = 0;
  const fail = (message: string) => {
    failureCount++;
    if (failures.length < 20) failures.push(message);
  };
  const latencies: number[] = [];

  try {
    const heapBeforeBytes = heapAfterGc(gc);
    const started = performance.now();
    const deadline = started + durationMs;
    const hardDeadline = started + 3 * durationMs;
    const going = () => {
      const now = performance.now();
      return now < deadline || (cold < users && now < hardDeadline);
    };
    const worker = async () => {
      while (going()) {
        const n = pick();
        const user = `soak-user-${n}`;
        const sent = performance.now();
        let answer: Awaited<ReturnType<typeof get>>;
        try {
          answer = await get(agent, route.url, user);
        } catch (error) {
          fail(`${user}: ${(error as Error).message}`);
          continue;
        }
        latencies.push(performance.now() - sent);
        if (answer.status !== 200 || answer.cacheControl !== 'no-store') {
          fail(`${user}: HTTP ${answer.status} ${answer.text.slice(0, 100)}`);
          continue;
        }
        try {
          const body = JSON.parse(answer.text) as Record<string, unknown>;
          const fields = verifyKs(body.ks as string, { secrets: ADMIN_SECRET, partnerId: PARTNER });
          if (
            body.userId !== user ||
            body.partnerId !== PARTNER ||
            body.type !== KsType.USER ||
            body.privileges !== PRIVILEGES ||
            fields.userId !== user ||
            fields.type !== KsType.USER ||
            fields.privileges !== PRIVILEGES ||
            body.expiresAt !== fields.validUntil * 1000
          ) {
            fail(`${user}: wrong answer ${answer.text.slice(0, 200)}`);
            continue;
          }
          served.add(n);
        } catch (error) {
          fail(`${user}: ${(error as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const elapsed = performance.now() - started;
    sample();
    const heapAfterBytes = heapAfterGc(gc);
    latencies.sort((a, b) => a - b);
    return {
      durationMs: elapsed,
      requests: latencies.length,
      requestsPerSecond: Math.round((latencies.length / elapsed) * 1000),
      usersServed: served.size,
      mints,
      failures,
      failureCount,
      maxCacheSize,
      cacheSamples,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies.at(-1) ?? 0,
      heapBeforeBytes,
      heapAfterBytes,
      heapGrowthBytes: heapAfterBytes - heapBeforeBytes,
      gcForced: gc !== undefined,
    };
  } finally {
    clearInterval(poll);
    agent.destroy();
    await route.close();
  }
}
