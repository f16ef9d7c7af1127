import type { SuiteResult } from './harness.js';
import { stopProcess } from './processes.js';
import {
  type IssuerWorker,
  type RedisCluster,
  type RedisServer,
  spawnIssuerWorker,
  startRedisCluster,
  startRedisServer,
} from './redis-test-utils.js';
import { emulatorStats, POOL, resetEmulatorStats, startEmulator, stormUsers } from './storm.js';

const ISSUER = new URL('./workers/fleet-issuer.ts', import.meta.url);

interface FleetRun {
  startSessions: number;
  widgetSessions: number;
  wallMs: number;
  failed: number;
  /** Issuer events over the fleet's life (including warm-up), by type. */
  events: Record<string, number>;
  /**
   * What the latest store errors of each process said (`operation: code message`), each
   * with how many of those there were: a slow store (`storeTimeoutMs`) or the breaker.
   */
  storeErrors: string;
}

async function stormFleet(
  workers: IssuerWorker[],
  adminUrl: string,
  users: string[],
): Promise<FleetRun> {
  await resetEmulatorStats(adminUrl);
  const t = performance.now();
  // Half the processes walk the users forwards, half backwards: every user is contended.
  const storms = await Promise.all(
    workers.map((worker, i) => worker.storm(i % 2 === 0 ? users : [...users].reverse())),
  );
  const wallMs = performance.now() - t;
  const stats = await Promise.all(workers.map((worker) => worker.stats()));
  const events: Record<string, number> = {};
  for (const s of stats)
    for (const [type, n] of Object.entries(s.events)) events[type] = (events[type] ?? 0) + n;
  const kinds = new Map<string, number>();
  for (const error of stats.flatMap((s) => s.storeErrors))
    kinds.set(error, (kinds.get(error) ?? 0) + 1);
  const counted = await emulatorStats(adminUrl);
  return {
    startSessions: counted['appToken.startSession'] ?? 0,
    widgetSessions: counted['session.startWidgetSession'] ?? 0,
    wallMs,
    failed: storms.reduce((sum, s) => sum + s.failed, 0),
    events,
    storeErrors: [...kinds].map(([kind, n]) => `${kind} (×${n})`).join('; '),
  };
}

/**
 * 7. A fleet: `processes` issuer processes each take a cold storm over the same
 * `users`, minting through an app token at the emulator (+`latencyMs`), first
 * sharing one redis-server through @kaltura-ks/redis, then a Redis Cluster
 * (three masters with a replica each, on loopback), then each on its own.
 */
export async function runFleetSuite({
  processes = 4,
  users = 500,
  perUser = 2,
  latencyMs = 20,
  /** The issuer's storeTimeoutMs and the store's failFastAfterMs; the defaults when absent. */
  storeTimeoutMs = undefined as number | undefined,
} = {}): Promise<SuiteResult> {
  let redis: RedisServer | undefined;
  let cluster: RedisCluster | undefined;
  const emulator = await startEmulator(latencyMs);
  const { adminUrl } = emulator.ready;
  const base = { ...emulator.ready, maxConnections: POOL, storeTimeoutMs };
  const fleet: IssuerWorker[] = [];
  try {
    [redis, cluster] = await Promise.all([startRedisServer(), startRedisCluster()]);
    const spawnAll = (extra: object) =>
      Promise.all(
        Array.from({ length: processes }, () => spawnIssuerWorker(ISSUER, { ...base, ...extra })),
      );
    const shared = await spawnAll({ redisUrl: redis.url, keyPrefix: 'bench-fleet:' });
    fleet.push(...shared);
    const clustered = await spawnAll({ clusterUrls: cluster.urls, keyPrefix: 'bench-fleet:' });
    fleet.push(...clustered);
    const alone = await spawnAll({});
    fleet.push(...alone);
    // Warm each process's code and its widget session, on users outside the storm.
    await Promise.all(fleet.map((worker, i) => worker.getKs(`warm-up-${i}`)));

    const list = stormUsers('fleet-user', users, perUser);
    const withRedis = await stormFleet(shared, adminUrl, list);
    const withCluster = await stormFleet(clustered, adminUrl, list);
    const without = await stormFleet(alone, adminUrl, list);
    const requests = (processes * list.length).toLocaleString('en-US');
    const sharing = [
      ['Redis', withRedis],
      ['Redis Cluster', withCluster],
    ] as const;
    const errorNotes = sharing
      .filter(([, run]) => run.storeErrors !== '')
      .map(([name, run]) => `${name}: the latest store errors (10 a process): ${run.storeErrors}`);
    const row = (name: string, run: FleetRun) => ({
      case: name,
      'appToken.startSession': run.startSessions,
      'widget sessions': run.widgetSessions,
      'failed requests': run.failed,
      'wall ms': Math.round(run.wallMs),
      'issuer events (incl. warm-up)': Object.entries(run.events)
        .map(([k, v]) => `${k}:${v}`)
        .join(' '),
    });
    return {
      suite: 'fleet',
      title: `Fleet: ${processes} issuer processes × a cold storm over ${users} users (${requests} getKs in all), app-token minting at the emulator +${latencyMs} ms`,
      rows: [
        row(`${processes} processes, Redis store`, withRedis),
        row(`${processes} processes, Redis Cluster store (3 masters + 3 replicas)`, withCluster),
        row(`${processes} processes, no shared store`, without),
      ],
      targets: [
        {
          target: `with Redis: exactly ${users} appToken.startSession in total`,
          met: withRedis.startSessions === users && withRedis.failed === 0,
          detail: String(withRedis.startSessions),
        },
        {
          target: `with Redis Cluster: exactly ${users} appToken.startSession in total`,
          met: withCluster.startSessions === users && withCluster.failed === 0,
          detail: String(withCluster.startSessions),
        },
        {
          target: `without a shared store: ${processes * users} (${processes} × ${users})`,
          met: without.startSessions === processes * users && without.failed === 0,
          detail: String(without.startSessions),
        },
      ],
      notes: [
        'Widget sessions were fetched during warm-up (one per process), so the storms count none.',
        ...errorNotes,
      ],
    };
  } finally {
    await Promise.all(fleet.map((worker) => worker.close()));
    await redis?.stop();
    await cluster?.stop();
    await stopProcess(emulator.child);
  }
}
