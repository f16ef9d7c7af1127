/**
 * The child side of a multi-process fleet: one issuer per process, driven by
 * its parent over the IPC channel (`child_process.fork`). The tests use it
 * with a counting minter (`counting-worker.ts`); a benchmark can use it with
 * any way of minting (an app token at the emulator, say) by writing a
 * three-line entry that calls `runIssuerWorker`, and drive it with
 * `spawnIssuerWorker` (`worker-handle.ts`).
 */
import { isKsError } from '@kaltura-ks/core';
import type { KsIssuer, KsIssuerEvent, KsMinter, KsSharedStore } from '@kaltura-ks/core/issuer';
import { createCluster } from 'redis';
import { createRedisStore, type RedisStoreOptions } from '../redis-store.js';
import type { RedisStore } from '../store.js';

/** What the parent asks; every request carries an `id` its answer repeats. */
export type WorkerRequest =
  | { id: number; op: 'getKs'; userId: string; privileges?: string; fresh?: boolean }
  /** Asks for all of them at once (a cold storm), timing each. */
  | { id: number; op: 'storm'; userIds: string[]; privileges?: string }
  | { id: number; op: 'peek'; userId: string; privileges?: string }
  | { id: number; op: 'revoke'; userId: string; endSession?: boolean }
  | { id: number; op: 'clear' }
  | { id: number; op: 'stats' }
  /** Closes the issuer and the store, then exits. */
  | { id: number; op: 'close' };

export interface WorkerKs {
  ks: string;
  issuedAt: number;
  expiresAt: number;
  durationMs: number;
}

export interface WorkerStorm {
  succeeded: number;
  failed: number;
  /** Each request's time to a KS (or to its failure), in request order. */
  durationsMs: number[];
  /** The distinct error codes of the failures. */
  errors: string[];
}

export interface WorkerStats {
  /** Calls to the minter (only when it was wrapped with `countMints`). */
  mints: number;
  /** How many issuer events of each type (`store-error`, `shared-hit`, `mint`...). */
  events: Record<string, number>;
  /** The latest few `store-error`s, as `operation: code message`. */
  storeErrors: string[];
  /** Revocations the store has not confirmed yet (pending, being retried). */
  unconfirmedRevocations: number;
}

export type WorkerResponse =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; code: string; message: string };

/** Sent once, when the worker can take requests. */
export interface WorkerReady {
  ready: true;
  pid: number;
}

export interface WorkerTools {
  /** The Redis store (absent when the setup asked for none: a baseline without sharing). */
  store: KsSharedStore | undefined;
  /** Pass it as the issuer's `onEvent`, so `stats` can count events. */
  onEvent: (event: KsIssuerEvent) => void;
  /** Wraps a minter so `stats` counts its calls. */
  countMints: (minter: KsMinter) => KsMinter;
}

/** The store's options; `cluster` connects to a Redis Cluster (the worker makes and closes the client). */
export type WorkerRedisOptions = Omit<RedisStoreOptions, 'client'> & {
  cluster?: { rootNodes: { url: string }[] };
};

export interface IssuerWorkerSetup {
  /** Options of the Redis store; leave out to run without one. */
  redis?: WorkerRedisOptions;
  /** Wait this long (ms) for the store's connections before announcing readiness. Default 5000. */
  readyTimeoutMs?: number;
  createIssuer(tools: WorkerTools): KsIssuer;
}

function send(message: WorkerResponse | WorkerReady): void {
  process.send?.(message);
}

function failure(error: unknown): { code: string; message: string } {
  if (isKsError(error)) return { code: error.code, message: error.message };
  return { code: 'ERROR', message: error instanceof Error ? error.message : String(error) };
}

/** Builds the issuer, answers the parent's requests, and exits when the parent goes. */
export async function runIssuerWorker(setup: IssuerWorkerSetup): Promise<void> {
  if (process.send === undefined) throw new Error('runIssuerWorker needs an IPC channel (fork)');
  let mints = 0;
  const events: Record<string, number> = {};
  const storeErrors: string[] = [];
  const unconfirmed = new Set<string | null>();
  let store: RedisStore | undefined;
  let closeCluster: (() => Promise<void>) | undefined;
  if (setup.redis?.cluster !== undefined) {
    const { cluster: nodes, url: _url, reconnectMaxDelayMs = 250, ...options } = setup.redis;
    const cluster = createCluster({
      rootNodes: nodes.rootNodes,
      defaults: {
        disableOfflineQueue: true,
        socket: {
          reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, reconnectMaxDelayMs),
        },
      },
    });
    cluster.on('error', () => {});
    await cluster.connect();
    store = createRedisStore({ revocationCatchUpMs: 0, ...options, client: cluster });
    closeCluster = () => cluster.close();
  } else if (setup.redis !== undefined) {
    store = createRedisStore({ revocationCatchUpMs: 0, ...setup.redis });
  }
  const issuer = setup.createIssuer({
    store,
    onEvent: (event) => {
      events[event.type] = (events[event.type] ?? 0) + 1;
      if (event.type === 'revoke-pending') unconfirmed.add(event.userId);
      if (event.type === 'revoke-confirmed') unconfirmed.delete(event.userId);
      if (event.type === 'store-error') {
        const { code = 'ERROR' } = event.error as { code?: string };
        storeErrors.push(`${event.operation}: ${code} ${event.error.message}`);
        if (storeErrors.length > 10) storeErrors.shift();
      }
    },
    countMints: (minter) => ({
      ...minter,
      kind: minter.kind,
      mint(request, signal) {
        mints++;
        return minter.mint(request, signal);
      },
    }),
  });
  if (store !== undefined) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      store.ready.catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, setup.readyTimeoutMs ?? 5_000);
      }),
    ]);
    clearTimeout(timer);
  }

  const getKs = async (userId: string, privileges?: string, fresh?: boolean): Promise<WorkerKs> => {
    const started = performance.now();
    const session = await issuer.getKs({ userId, privileges }, { fresh });
    return {
      ks: session.ks,
      issuedAt: session.issuedAt,
      expiresAt: session.expiresAt,
      durationMs: performance.now() - started,
    };
  };

  const handle = async (request: WorkerRequest): Promise<unknown> => {
    switch (request.op) {
      case 'getKs':
        return getKs(request.userId, request.privileges, request.fresh);
      case 'storm': {
        const errors = new Set<string>();
        const durationsMs: number[] = [];
        let failed = 0;
        await Promise.all(
          request.userIds.map(async (userId, i) => {
            const started = performance.now();
            try {
              await issuer.getKs({ userId, privileges: request.privileges });
            } catch (error) {
              failed++;
              errors.add(failure(error).code);
            }
            durationsMs[i] = performance.now() - started;
          }),
        );
        const storm: WorkerStorm = {
          succeeded: request.userIds.length - failed,
          failed,
          durationsMs,
          errors: [...errors],
        };
        return storm;
      }
      case 'peek':
        return issuer.peek({ userId: request.userId, privileges: request.privileges })?.ks ?? null;
      case 'revoke':
        return issuer.revoke(request.userId, { endSession: request.endSession });
      case 'clear':
        await issuer.clear();
        return null;
      case 'stats': {
        const stats: WorkerStats = {
          mints,
          events: { ...events },
          storeErrors: [...storeErrors],
          unconfirmedRevocations: unconfirmed.size,
        };
        return stats;
      }
      case 'close':
        await issuer.close();
        await store?.close();
        await closeCluster?.();
        return null;
    }
  };

  process.on('message', (message: WorkerRequest) => {
    handle(message).then(
      (value) => {
        send({ id: message.id, ok: true, value });
        if (message.op === 'close') process.disconnect();
      },
      (error: unknown) => send({ id: message.id, ok: false, ...failure(error) }),
    );
  });
  // The parent went away (or closed us): nothing left to serve.
  process.on('disconnect', () => process.exit(0));
  send({ ready: true, pid: process.pid });
}
