/**
 * Redis killed (SIGKILL) and restarted on the same port under a fleet of
 * issuer processes that keep serving: no request fails, each process mints on
 * its own meanwhile, and sharing resumes once Redis is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CountingWorkerConfig } from './test-utils/counting-worker.js';
import { type RedisServer, startRedisServer, until } from './test-utils/redis-server.js';
import {
  type IssuerWorker,
  spawnIssuerWorkers,
  startAllTimeoutMs,
} from './test-utils/worker-handle.js';

const ENTRY = new URL('./test-utils/counting-worker.ts', import.meta.url);

let server: RedisServer;
let workers: IssuerWorker[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  workers = await spawnIssuerWorkers(
    ENTRY,
    ['a', 'b', 'c'].map(
      (name): CountingWorkerConfig => ({
        name,
        redisUrl: server.url,
        keyPrefix: 'outage:',
        mintDelayMs: 10,
        reconnectMaxDelayMs: 100,
        issuer: { storeTimeoutMs: 200, lockWaitMs: 2_000 },
      }),
    ),
  );
}, startAllTimeoutMs(3));

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.close()));
  await server?.stop();
});

async function sameKsEverywhere(userId: string): Promise<boolean> {
  const seen = await Promise.all(workers.map(async (worker) => (await worker.getKs(userId)).ks));
  return new Set(seen).size === 1;
}

async function mintsAndStoreErrors(): Promise<{ mints: number; storeErrors: number[] }> {
  const stats = await Promise.all(workers.map((worker) => worker.stats()));
  return {
    mints: stats.reduce((sum, s) => sum + s.mints, 0),
    storeErrors: stats.map((s) => s.events['store-error'] ?? 0),
  };
}

describe('Redis killed and restarted mid-run', () => {
  it('keeps serving every request, alone while Redis is gone, shared again once it is back', async () => {
    expect(await sameKsEverywhere('before')).toBe(true);
    expect((await mintsAndStoreErrors()).mints).toBe(1);

    // Steady traffic from every process through the whole outage.
    let load = true;
    let served = 0;
    const failures: unknown[] = [];
    const traffic = (async () => {
      for (let round = 0; load; round++) {
        await Promise.all(
          workers.map((worker, i) =>
            worker.getKs(`load-${i}-${round % 25}`).then(
              () => served++,
              (error: unknown) => failures.push(error),
            ),
          ),
        );
      }
    })();

    await until(() => served > 30, 'traffic to flow');
    await server.kill();
    const during = await Promise.all(workers.map((worker) => worker.getKs('during')));
    // Each process minted its own, and reported the store failing.
    expect(new Set(during.map((s) => s.ks)).size).toBe(workers.length);
    const down = await mintsAndStoreErrors();
    for (const count of down.storeErrors) expect(count).toBeGreaterThan(0);

    const servedWhileDown = served;
    await until(() => served > servedWhileDown + 30, 'traffic to flow while Redis is down');
    await server.restart();

    // Sharing resumes: a user asked of one process is served to the others without a mint.
    await until(async () => sameKsEverywhere(`probe-${performance.now()}`), 'sharing to resume');
    load = false;
    await traffic;
    expect(failures).toEqual([]);
    expect(served).toBeGreaterThan(servedWhileDown + 30);

    const { mints } = await mintsAndStoreErrors();
    expect(await sameKsEverywhere('after')).toBe(true);
    expect((await mintsAndStoreErrors()).mints).toBe(mints + 1);
    // The local tiers were dropped when the subscriptions came back: every process now serves
    // the same KS even for a user each had minted alone during the outage.
    await until(() => sameKsEverywhere('during'), 'the fleet to converge on one KS');
  });
});
