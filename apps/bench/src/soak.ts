import type { SoakReport } from '@kaltura-ks/testing/soak';
import type { SuiteResult } from './harness.js';
import { runToEnd } from './processes.js';

const WORKER = new URL('./workers/soak.ts', import.meta.url);

const MiB = 2 ** 20;

/**
 * 8. A longer soak of the Express route than CI's (packages/testing's soak.test.ts runs
 * 3 s): every answer verified, more users than the cache holds, heap after a full GC.
 */
export function runSoakSuite({
  seconds = 60,
  users = 30_000,
  max = 10_000,
  concurrency = 32,
} = {}): SuiteResult {
  const options = { durationMs: seconds * 1000, users, max, concurrency, hotShare: 0.5 };
  const report = runToEnd<SoakReport>(WORKER, [JSON.stringify(options)]);
  const heapBoundMiB = 64;
  return {
    suite: 'soak',
    title: `Soak: the Express route for ${seconds} s, ${concurrency} keep-alive clients, ${users.toLocaleString('en-US')} users over a cache of ${max.toLocaleString('en-US')}, half the requests for a hot set; every KS verified`,
    rows: [
      { measure: 'requests', value: report.requests },
      { measure: 'requests/s', value: Math.round(report.requestsPerSecond) },
      {
        measure: 'p50 / p99 / max latency, ms',
        value: `${fmt(report.p50Ms)} / ${fmt(report.p99Ms)} / ${fmt(report.maxMs)}`,
      },
      { measure: 'distinct users served', value: report.usersServed },
      { measure: 'KSs minted (cache misses)', value: report.mints },
      { measure: 'largest cache size seen', value: report.maxCacheSize },
      { measure: 'cache size samples', value: report.cacheSamples },
      { measure: 'wrong answers', value: report.failureCount },
      { measure: 'heap before (after GC), MiB', value: fmt(report.heapBeforeBytes / MiB) },
      {
        measure: 'heap after (after GC, cache full), MiB',
        value: fmt(report.heapAfterBytes / MiB),
      },
      { measure: 'heap growth, MiB', value: fmt(report.heapGrowthBytes / MiB) },
    ],
    targets: [
      {
        target: `cache size <= max (${max.toLocaleString('en-US')})`,
        met: report.maxCacheSize <= max,
        detail: report.maxCacheSize.toLocaleString('en-US'),
      },
      {
        target: 'wrong answers: 0',
        met: report.failureCount === 0,
        detail: String(report.failureCount),
      },
      {
        target: `heap growth < ${heapBoundMiB} MiB with the cache full`,
        met: report.gcForced && report.heapGrowthBytes < heapBoundMiB * MiB,
        detail: `${fmt(report.heapGrowthBytes / MiB)} MiB${report.gcForced ? '' : ' (no forced GC)'}`,
      },
    ],
    notes: report.failures.length > 0 ? report.failures.slice(0, 5) : undefined,
  };
}

function fmt(value: number): string {
  return value.toFixed(1);
}
