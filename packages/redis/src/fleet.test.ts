/**
 * A real fleet: issuers in separate processes (test-utils/counting-worker.ts),
 * sharing one redis-server through the store.
 */
import { createKalturaClient, type KalturaClient } from '@kaltura-ks/core/client';
import { type Emulator, startEmulator } from '@kaltura-ks/emulator';
import { TEST_ADMIN_SECRET } from '@kaltura-ks/testing/signed-session';
import { createClient } from 'redis';
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
let admin: ReturnType<typeof createClient>;
/** Kaltura, for session.end: the workers sign for its partner 1. */
let emulator: Emulator;
let kaltura: KalturaClient;
let workers: IssuerWorker[] = [];
/**
 * A pair under its own prefix and a short lock TTL, for the kill -9 test. Its lockWaitMs is far
 * past the TTL and past the taker's mintTimeoutMs (the default 10 s): a taker that waited it out
 * instead of going on once the lock lapsed fails its mint, however late a loaded machine runs
 * (at 10 s, the test's bound of half of it was 3.5 s of stalls from the TTL).
 */
let holder: IssuerWorker;
let taker: IssuerWorker;
const TAKEOVER = { keyPrefix: 'takeover:', lockTtlMs: 1_500, lockWaitMs: 60_000 };

function config(worker: Omit<CountingWorkerConfig, 'redisUrl'>): CountingWorkerConfig {
  return { redisUrl: server.url, ...worker };
}

async function totalMints(fleet: IssuerWorker[]): Promise<number> {
  const stats = await Promise.all(fleet.map((worker) => worker.stats()));
  return stats.reduce((sum, s) => sum + s.mints, 0);
}

beforeAll(async () => {
  server = await startRedisServer();
  emulator = await startEmulator({
    partners: [
      { id: 1, adminSecret: TEST_ADMIN_SECRET, userSecret: 'redis-test-user-secret-000000000' },
    ],
  });
  kaltura = createKalturaClient({ serviceUrl: emulator.url, partnerId: 1, retry: false });
  admin = createClient({ url: server.url });
  admin.on('error', () => {});
  await admin.connect();
  const { keyPrefix, lockTtlMs, lockWaitMs } = TAKEOVER;
  const pair = { keyPrefix, mintDelayMs: 10, issuer: { lockTtlMs, lockWaitMs } };
  const [first, second, ...rest] = await spawnIssuerWorkers(ENTRY, [
    config({ ...pair, name: 'holder', hangUserIds: ['stuck'] }),
    config({ ...pair, name: 'taker' }),
    ...['a', 'b', 'c', 'd'].map((name) =>
      config({
        name,
        keyPrefix: 'fleet:',
        mintDelayMs: 30,
        serviceUrl: emulator.url,
        // Generous bounds: on a loaded CI machine a store call that times out makes its
        // process mint alone (by design), which would blur the counts these tests check.
        issuer: { lockWaitMs: 10_000, storeTimeoutMs: 5_000 },
      }),
    ),
  ]);
  [holder, taker, workers] = [first!, second!, rest];
}, startAllTimeoutMs(6));

afterAll(async () => {
  await Promise.all([holder, taker, ...workers].map((worker) => worker?.close()));
  admin?.destroy();
  await kaltura?.close();
  await emulator?.close();
  await server?.stop();
});

describe('issuers in separate processes sharing Redis', () => {
  it('serves a KS minted in one process from the others', async () => {
    const before = await totalMints(workers);
    const first = await workers[0]!.getKs('share-1');
    for (const worker of workers.slice(1))
      expect((await worker.getKs('share-1')).ks).toBe(first.ks);
    expect(await totalMints(workers)).toBe(before + 1);
    expect((await workers[3]!.stats()).events['shared-hit']).toBeGreaterThanOrEqual(1);
  });

  it('a cold storm of 4 processes over N users mints exactly N times in all', async () => {
    const users = Array.from({ length: 150 }, (_, i) => `storm-${i}`);
    const before = await totalMints(workers);
    const storms = await Promise.all(
      // Two processes go through the users in order, two backwards: every user is contended.
      workers.map((worker, i) => worker.storm(i % 2 === 0 ? users : [...users].reverse())),
    );
    for (const storm of storms) expect(storm).toMatchObject({ failed: 0, errors: [] });
    for (const worker of workers)
      expect((await worker.stats()).events['store-error']).toBeUndefined();
    expect(await totalMints(workers)).toBe(before + users.length);
    for (const userId of users.slice(0, 10)) {
      const seen = await Promise.all(
        workers.map(async (worker) => (await worker.getKs(userId)).ks),
      );
      expect(new Set(seen).size).toBe(1);
    }
  });

  it('a revocation in one process evicts the user from every other', async () => {
    const before = await Promise.all(workers.map((worker) => worker.getKs('rev-1')));
    expect(new Set(before.map((s) => s.ks)).size).toBe(1);
    await workers[0]!.getKs('rev-2');
    expect(await workers[2]!.revoke('rev-1')).toEqual({ revoked: 1, ended: 0, reach: 'fleet' });
    await until(
      async () =>
        (await Promise.all(workers.map((w) => w.peek('rev-1')))).every((ks) => ks === null),
      'every process to drop rev-1',
    );
    expect(await workers[0]!.peek('rev-2')).not.toBeNull();
    const after = await workers[3]!.getKs('rev-1');
    expect(after.ks).not.toBe(before[0]!.ks);
  });

  it('revoke with endSession on a process that never served the user ends every KS of theirs at Kaltura, each once', async () => {
    const [a, b, c, d] = workers as [IssuerWorker, IssuerWorker, IssuerWorker, IssuerWorker];
    const one = await a.getKs('ended-1');
    const two = await b.getKs('ended-1', { privileges: 'sview:*' });
    expect((await c.getKs('ended-1', { privileges: 'sview:*' })).ks).toBe(two.ks);
    for (const { ks } of [one, two])
      expect(await kaltura.request('baseEntry', 'list', {}, { ks })).toBeTruthy();
    emulator.resetStats();
    expect(await d.revoke('ended-1', { endSession: true })).toEqual({
      revoked: 2,
      ended: 2,
      reach: 'fleet',
    });
    expect(emulator.stats()['session.end']).toBe(2);
    for (const { ks } of [one, two]) {
      await expect(kaltura.request('baseEntry', 'list', {}, { ks })).rejects.toMatchObject({
        kalturaCode: 'INVALID_KS',
      });
    }
    await until(
      async () =>
        (await Promise.all(workers.map((w) => w.peek('ended-1')))).every((k) => k === null),
      'every process to drop the user',
    );
  });

  it('takes over after the lock TTL when the holder is killed (kill -9) mid-mint', async () => {
    const { keyPrefix, lockWaitMs } = TAKEOVER;
    void holder.getKs('stuck').catch(() => {}); // its minter never answers
    const lockPattern = `${keyPrefix}*:lock:*`;
    // It took the lock, then called its minter (which hangs).
    await until(
      async () =>
        (await holder.stats()).mints === 1 && (await admin.keys(lockPattern)).length === 1,
      'the holder to lock and mint',
    );
    const [lockKey] = await admin.keys(lockPattern);
    const measured = performance.now(); // Redis reads the TTL after this instant
    const remaining = await admin.pTTL(lockKey!);

    await holder.kill('SIGKILL');
    const started = performance.now();
    const taken = await taker.getKs('stuck');
    const done = performance.now();
    const waited = done - started;

    // It did not steal a live lock: it answered only after the holder's lock had lapsed.
    expect(done - measured).toBeGreaterThanOrEqual(remaining - 20);
    expect(waited).toBeLessThan(lockWaitMs / 2); // it went once the lock lapsed, not at lockWaitMs
    expect((await taker.stats()).mints).toBe(1); // the KS is the taker's own
    // The KS it minted is in Redis for the fleet, as usual.
    const stored = await admin.keys(`${keyPrefix}*:ks:*`);
    expect(stored).toHaveLength(1);
    expect(JSON.parse((await admin.get(stored[0]!))!).ks).toBe(taken.ks);
    expect(await admin.keys(lockPattern)).toEqual([]);
  });
});
