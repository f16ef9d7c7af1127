/**
 * The store on a real Redis Cluster (three masters, each with a replica, on
 * loopback; started and torn down here): its contract, a fleet of four issuer
 * processes, and masters failed over under traffic — planned (`CLUSTER
 * FAILOVER`) and not (SIGKILL) — with no wrong answer and no lost revocation.
 */
import { verifyKs } from '@kaltura-ks/core';
import { createKsIssuer, type KsIssuer } from '@kaltura-ks/core/issuer';
import { describeStoreContract } from '@kaltura-ks/testing/shared-store';
import { signedSession, TEST_ADMIN_SECRET } from '@kaltura-ks/testing/signed-session';
import { createCluster } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore } from './redis-store.js';
import type { RedisStore } from './store.js';
import type { CountingWorkerConfig } from './test-utils/counting-worker.js';
import { type RedisCluster, startRedisCluster } from './test-utils/redis-cluster.js';
import { until } from './test-utils/redis-server.js';
import { type IssuerWorker, spawnIssuerWorker } from './test-utils/worker-handle.js';

const ENTRY = new URL('./test-utils/counting-worker.ts', import.meta.url);
const PREFIX = 'cluster-fleet:';

let cluster: RedisCluster;
let workers: IssuerWorker[] = [];

function clusterClient() {
  const client = createCluster({
    rootNodes: cluster.urls.map((url) => ({ url })),
    defaults: {
      disableOfflineQueue: true,
      socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 500) },
    },
  });
  client.on('error', () => {});
  return client;
}

/** A store on a cluster client of its own; closing it closes both. */
async function clusterStore(
  keyPrefix: string,
): Promise<RedisStore & { closeAll(): Promise<void> }> {
  const client = clusterClient();
  await client.connect();
  const store = createRedisStore({ revocationCatchUpMs: 0, client, keyPrefix });
  await store.ready;
  return Object.assign(store, {
    async closeAll() {
      await store.close();
      await client.close();
    },
  });
}

/** A fresh instance, in this process: what a new server joining the fleet would serve. */
async function freshIssuer(): Promise<{ issuer: KsIssuer; close(): Promise<void> }> {
  const store = await clusterStore(PREFIX);
  const issuer = createKsIssuer({
    partnerId: 1,
    store,
    minter: { kind: 'counting', mint: async (request) => signedSession(request, Date.now()) },
  });
  return {
    issuer,
    async close() {
      await issuer.close();
      await store.closeAll();
    },
  };
}

async function totalMints(): Promise<number> {
  const stats = await Promise.all(workers.map((worker) => worker.stats()));
  return stats.reduce((sum, s) => sum + s.mints, 0);
}

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 120_000);

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.close()));
  await cluster?.stop();
});

describeStoreContract('Redis Cluster', async () => {
  const prefix = `contract-${Math.random().toString(36).slice(2)}:`;
  const stores = await Promise.all([0, 1, 2].map(() => clusterStore(prefix)));
  return {
    stores: [stores[0]!, stores[1]!, stores[2]!],
    elapse: () => {}, // Redis expires keys on its own clock: the contract polls.
    close: async () => {
      await Promise.all(stores.map((store) => store.closeAll()));
    },
  };
});

describe('four issuer processes on Redis Cluster', () => {
  beforeAll(async () => {
    workers = await Promise.all(
      ['a', 'b', 'c', 'd'].map((name) => {
        const config: CountingWorkerConfig = {
          name,
          clusterUrls: cluster.urls,
          keyPrefix: PREFIX,
          mintDelayMs: 20,
          // Generous bounds: on a loaded machine a store call that times out makes its process
          // mint alone (by design), which would blur the counts the storm checks.
          // A lock whose holder could neither write nor release it while a slot moved blocks
          // its key until it lapses (lockTtlMs), by design: keep that short here.
          issuer: {
            lockTtlMs: 5_000,
            lockWaitMs: 20_000,
            mintTimeoutMs: 40_000,
            storeTimeoutMs: 5_000,
          },
          store: { failFastAfterMs: 5_000 },
        };
        // A request may wait up to mintTimeoutMs (a loaded machine, a lock that lapses).
        return spawnIssuerWorker(ENTRY, config, { requestTimeoutMs: 60_000 });
      }),
    );
  }, 120_000);

  it('a cold storm over 500 users causes exactly 500 mints', async () => {
    const users = Array.from({ length: 500 }, (_, i) => `storm-${i}`);
    const before = await totalMints();
    const storms = await Promise.all(
      // Two processes go through the users in order, two backwards: every user is contended.
      workers.map((worker, i) => worker.storm(i % 2 === 0 ? users : [...users].reverse())),
    );
    for (const storm of storms) expect(storm).toMatchObject({ failed: 0, errors: [] });
    // Any store call that failed would have made its process mint alone: the count shows it.
    // (A late lock release, which a loaded machine can cause, costs nothing and counts nothing.)
    expect(await totalMints()).toBe(before + users.length);
  }, 120_000);

  it('a revocation in one process reaches every other', async () => {
    const before = await Promise.all(workers.map((worker) => worker.getKs('rev-1')));
    expect(new Set(before.map((s) => s.ks)).size).toBe(1);
    expect(await workers[2]!.revoke('rev-1')).toEqual({ revoked: 1, ended: 0, reach: 'fleet' });
    await until(
      async () =>
        (await Promise.all(workers.map((w) => w.peek('rev-1')))).every((ks) => ks === null),
      'every process to drop rev-1',
    );
    for (const worker of workers) expect((await worker.getKs('rev-1')).ks).not.toBe(before[0]!.ks);
  });

  describe.each([
    ['a planned failover (CLUSTER FAILOVER on its replica)', 'failover' as const],
    ['a master killed (SIGKILL)', 'kill' as const],
  ])('%s of the master serving the partner', (_, how) => {
    it('costs no wrong answer and no lost revocation', { timeout: 180_000 }, async () => {
      const users = Array.from({ length: 40 }, (_, i) => `${how}-${i}`);
      for (const worker of workers) await worker.storm(users);
      /** Every KS each user was served before their revocation began. */
      const revokedKs = new Map<string, Set<string>>();
      const served = new Map<string, Set<string>>();
      const wrong: string[] = [];
      const failures: unknown[] = [];
      let answers = 0;
      const check = (userId: string, ks: string) => {
        answers++;
        try {
          const fields = verifyKs(ks, { secrets: TEST_ADMIN_SECRET, partnerId: 1 });
          if (fields.userId !== userId) wrong.push(`${userId} got ${fields.userId}'s KS`);
        } catch (error) {
          wrong.push(`${userId} got a KS that does not verify: ${(error as Error).message}`);
        }
        const seen = served.get(userId) ?? new Set<string>();
        seen.add(ks);
        served.set(userId, seen);
      };
      let load = true;
      const traffic = (async () => {
        for (let round = 0; load; round++) {
          await Promise.all(
            workers.map((worker, i) => {
              const userId = users[(round * 7 + i * 11) % users.length]!;
              return worker.getKs(userId).then(
                ({ ks }) => check(userId, ks),
                (error: unknown) => failures.push(error),
              );
            }),
          );
        }
      })();
      let revokedSoFar = 0;
      /** Revokes the next user on a worker; the KSs it was served so far are revoked. */
      const revokeNext = async (worker: IssuerWorker) => {
        const userId = users[revokedSoFar++]!;
        revokedKs.set(userId, new Set(served.get(userId) ?? []));
        const peek = await Promise.all(workers.map((w) => w.peek(userId)));
        for (const ks of peek) if (ks !== null) revokedKs.get(userId)!.add(ks);
        return worker.revoke(userId);
      };

      await until(() => served.size > 10, 'traffic to flow');
      const { master } = await cluster.shardOf('{1}');
      await revokeNext(workers[0]!);
      // Right before the failover: with SIGKILL, a revocation only the master had would be lost.
      const lastBefore = revokeNext(workers[1]!);
      await lastBefore;
      const switching = how === 'failover' ? cluster.failover(master) : cluster.kill(master);
      // During it: Redis may refuse these; they must land later all the same.
      const during = [revokeNext(workers[2]!), revokeNext(workers[3]!)];
      await switching;
      await Promise.all(during);
      await revokeNext(workers[0]!);
      const answered = answers;
      await until(() => answers > answered + 40, 'traffic to go on after the switch', 60_000);
      load = false;
      await traffic;

      // Every revocation has landed: each process confirmed what it had kept pending.
      await until(
        async () =>
          (await Promise.all(workers.map((w) => w.stats()))).every(
            (s) => s.unconfirmedRevocations === 0,
          ),
        'pending revocations to land',
        60_000,
      );
      expect(wrong).toEqual([]);
      expect(failures).toEqual([]);
      const fresh = await freshIssuer();
      try {
        for (const [userId, before] of revokedKs) {
          await until(
            async () => {
              const now = await Promise.all(workers.map((w) => w.getKs(userId)));
              return now.every(({ ks }) => !before.has(ks));
            },
            `no process to serve ${userId}'s revoked KS`,
            60_000,
          );
          expect(before.has((await fresh.issuer.getKs({ userId })).ks)).toBe(false);
        }
      } finally {
        await fresh.close();
      }
    });
  });
});
