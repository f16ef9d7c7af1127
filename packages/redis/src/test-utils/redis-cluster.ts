/**
 * A throwaway Redis Cluster on loopback: three masters, each with a replica,
 * started from Debian's `redis-server` and joined with `redis-cli --cluster
 * create`, on free ports (each node's bus port too: `cluster-port`). Waits
 * until the cluster is healthy; gives ways to fail a master over.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from 'redis';
import { answering, exitedEarly, freePorts, gone, until } from './redis-server.js';

const run = promisify(execFile);

const INSTALL_HINT =
  'redis-server and redis-cli were not found on PATH. The Redis Cluster tests start their own ' +
  'cluster from them: `sudo apt-get install redis-server` (Debian/Ubuntu) or `brew install redis`.';

export interface ClusterNode {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
}

export interface RedisCluster {
  /** Every node, for `createCluster({ rootNodes })`. */
  readonly urls: string[];
  /** The master serving `key`'s slot now, and its replica. */
  shardOf(key: string): Promise<{ master: ClusterNode; replica: ClusterNode | undefined }>;
  /** `CLUSTER FAILOVER` on a master's replica: a planned switch, no write lost. Waits until healthy. */
  failover(master: ClusterNode): Promise<ClusterNode>;
  /** SIGKILL a master; waits until its replica has taken over and the cluster is healthy again. */
  kill(master: ClusterNode): Promise<ClusterNode>;
  /** A command on one node (`CLUSTER INFO`…). */
  command(node: ClusterNode, args: string[]): Promise<unknown>;
  stop(): Promise<void>;
}

interface Node extends ClusterNode {
  child: ChildProcess;
  alive: boolean;
}

/** Nodes fail after this much silence (ms): fast failovers for tests, still above a loaded machine's hiccups. */
const NODE_TIMEOUT_MS = 2_000;
const HEALTHY_TIMEOUT_MS = 60_000;

async function launch(dir: string, port: number, busPort: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-port',
      String(busPort),
      '--cluster-config-file',
      join(dir, `nodes-${port}.conf`),
      '--cluster-node-timeout',
      String(NODE_TIMEOUT_MS),
      // A replica takes over whatever its last contact with the master (tests kill masters).
      '--cluster-replica-validity-factor',
      '0',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--loglevel',
      'warning',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return answering(child, port, `cluster node on port ${port}`, 15_000);
}

/**
 * Starts one node on `ports` (its port and bus port); when another process took one of them
 * before the node bound it, on new ones, a few times.
 */
async function startNode(dir: string, ports: readonly number[]) {
  for (let attempt = 0; ; attempt++) {
    const [port, bus] = attempt === 0 ? ports : await freePorts(2);
    try {
      return { port: port!, child: await launch(dir, port!, bus!) };
    } catch (error) {
      if (attempt >= 3 || !exitedEarly(error)) throw error;
    }
  }
}

/** Starts 3 masters and 3 replicas, joins them, and waits until every node says the cluster is ok. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'kaltura-ks-cluster-'));
  const nodes: Node[] = [];
  try {
    // Twelve different ports (six nodes, each with its bus port), picked together.
    const ports = await freePorts(12);
    const started = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => startNode(dir, ports.slice(2 * i, 2 * i + 2))),
    );
    for (const result of started) {
      if (result.status !== 'fulfilled') continue;
      const { port, child } = result.value;
      nodes.push({
        port,
        url: `redis://127.0.0.1:${port}`,
        pid: child.pid ?? -1,
        child,
        alive: true,
      });
    }
    // Every node that did start is in `nodes`, so the catch below stops it.
    const failed = started.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    try {
      await run(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...nodes.map((node) => `127.0.0.1:${node.port}`),
          '--cluster-replicas',
          '1',
          '--cluster-yes',
        ],
        { timeout: 60_000 },
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(INSTALL_HINT);
      throw error;
    }
  } catch (error) {
    await Promise.all(nodes.map((node) => gone(node.child, 'SIGKILL')));
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const clients = new Map<number, ReturnType<typeof createClient>>();
  async function command(node: ClusterNode, args: string[]): Promise<unknown> {
    let client = clients.get(node.port);
    if (client === undefined) {
      client = createClient({ url: node.url, socket: { reconnectStrategy: false } });
      client.on('error', () => {});
      clients.set(node.port, client);
      await client.connect();
    }
    return client.sendCommand(args);
  }
  function forget(node: ClusterNode): void {
    clients.get(node.port)?.destroy();
    clients.delete(node.port);
  }

  /** Every live node agrees: state ok, all slots served, each master with a replica in sync. */
  async function healthy(expectedReplicas: number): Promise<boolean> {
    try {
      for (const node of nodes.filter((n) => n.alive)) {
        const info = String(await command(node, ['CLUSTER', 'INFO']));
        if (!info.includes('cluster_state:ok') || !info.includes('cluster_slots_ok:16384'))
          return false;
      }
      let replicas = 0;
      for (const node of nodes.filter((n) => n.alive)) {
        const replication = String(await command(node, ['INFO', 'replication']));
        if (replication.includes('role:slave')) {
          if (!replication.includes('master_link_status:up')) return false;
          replicas++;
        }
      }
      return replicas >= expectedReplicas;
    } catch {
      return false;
    }
  }
  let replicasExpected = 3;
  await until(
    () => healthy(replicasExpected),
    'the cluster to be healthy',
    HEALTHY_TIMEOUT_MS,
    100,
  );

  function byPort(port: number): Node {
    const node = nodes.find((n) => n.port === port);
    if (node === undefined) throw new Error(`no cluster node on port ${port}`);
    return node;
  }

  async function shardOf(key: string) {
    const live = nodes.find((n) => n.alive)!;
    const slot = Number(await command(live, ['CLUSTER', 'KEYSLOT', key]));
    const slots = (await command(live, ['CLUSTER', 'SLOTS'])) as unknown[][];
    for (const [from, to, master, ...replicas] of slots) {
      if (slot < Number(from) || slot > Number(to)) continue;
      const masterPort = Number((master as unknown[])[1]);
      const replicaPorts = replicas.map((r) => Number((r as unknown[])[1]));
      const replica = replicaPorts.map(byPort).find((n) => n.alive);
      return { master: byPort(masterPort), replica };
    }
    throw new Error(`no master serves slot ${slot}`);
  }

  /** The replica the master reports first (each master has one here). */
  async function replicaOf(master: ClusterNode): Promise<Node> {
    const replication = String(await command(master, ['INFO', 'replication']));
    const port = /slave0:ip=[^,]+,port=(\d+)/.exec(replication)?.[1];
    if (port === undefined) throw new Error(`the master on port ${master.port} has no replica`);
    return byPort(Number(port));
  }

  async function masterNow(port: number): Promise<boolean> {
    try {
      return String(await command(byPort(port), ['INFO', 'replication'])).includes('role:master');
    } catch {
      return false;
    }
  }

  return {
    urls: nodes.map((node) => node.url),
    shardOf,
    async failover(master) {
      const replica = await replicaOf(master);
      await command(replica, ['CLUSTER', 'FAILOVER']);
      await until(
        () => masterNow(replica.port),
        'the replica to take over',
        HEALTHY_TIMEOUT_MS,
        50,
      );
      await until(
        () => healthy(replicasExpected),
        'the cluster to be healthy',
        HEALTHY_TIMEOUT_MS,
        100,
      );
      return replica;
    },
    async kill(master) {
      const replica = await replicaOf(master);
      const node = byPort(master.port);
      node.alive = false;
      forget(node);
      await gone(node.child, 'SIGKILL');
      replicasExpected--;
      await until(
        () => masterNow(replica.port),
        'the replica to take over',
        HEALTHY_TIMEOUT_MS,
        50,
      );
      await until(
        () => healthy(replicasExpected),
        'the cluster to be healthy',
        HEALTHY_TIMEOUT_MS,
        100,
      );
      return replica;
    },
    command,
    async stop() {
      for (const node of nodes) forget(node);
      await Promise.all(nodes.map((node) => gone(node.child, 'SIGKILL')));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
