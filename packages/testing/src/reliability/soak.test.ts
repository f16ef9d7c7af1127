import { describe, expect, it } from 'vitest';
import { runSoak } from './soak.js';

/**
 * The CI-sized soak of the Express route: 3 s of load from 16 concurrent clients over
 * 300 distinct users with a cache of 100 (3×). `pnpm bench` can run `runSoak` longer.
 * Throughput is not asserted: CI machines vary too much.
 */

const MAX = 100;
const USERS = 3 * MAX;
const HEAP_BOUND_MB = 64;

describe('soak: the Express route under load, more users than the cache holds', () => {
  it(`answers every request correctly, never holds more than max, heap grows < ${HEAP_BOUND_MB} MB`, async () => {
    const report = await runSoak({
      durationMs: 3_000,
      users: USERS,
      max: MAX,
      concurrency: 16,
      hotShare: 0.25,
    });
    expect(report.failures).toEqual([]);
    expect(report.failureCount).toBe(0);
    expect(report.requests).toBeGreaterThan(USERS);
    expect(report.usersServed).toBe(USERS);
    // The cache kept evicting (misses beyond the first fill) and stayed within its bound.
    expect(report.mints).toBeGreaterThan(USERS);
    expect(report.cacheSamples).toBeGreaterThan(report.mints);
    expect(report.maxCacheSize).toBeLessThanOrEqual(MAX);
    expect(report.maxCacheSize).toBe(MAX);
    expect(report.heapGrowthBytes).toBeLessThan(HEAP_BOUND_MB * 2 ** 20);
  }, 30_000);
});
