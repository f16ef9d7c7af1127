import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { KsRevokeResult } from '@kaltura-ks/core/issuer';
import type {
  WorkerKs,
  WorkerReady,
  WorkerRequest,
  WorkerResponse,
  WorkerStats,
  WorkerStorm,
} from './issuer-worker.js';

/** Distributes `Omit` over a union, so each request keeps its own fields. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export class WorkerError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** The parent's side of one issuer process. */
export interface IssuerWorker {
  readonly pid: number;
  request(request: WithoutId<WorkerRequest>): Promise<unknown>;
  getKs(userId: string, options?: { privileges?: string; fresh?: boolean }): Promise<WorkerKs>;
  storm(userIds: string[]): Promise<WorkerStorm>;
  peek(userId: string): Promise<string | null>;
  revoke(userId: string, options?: { endSession?: boolean }): Promise<KsRevokeResult>;
  stats(): Promise<WorkerStats>;
  /** `kill -9` (or another signal), resolved once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Closes the issuer and its store, and waits for the process to exit. */
  close(): Promise<void>;
}

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Workers started at once by `spawnIssuerWorkers`: about the cores of a CI machine. */
const STARTS_AT_ONCE = 2;
/** How long one worker may take to start (load tsx and the sources), one of two at a time. */
const START_TIMEOUT_MS = 45_000;

/**
 * A hook's timeout for `spawnIssuerWorkers(…, configs)` with `count` configs: their starts'
 * deadlines one batch after another, and a little for the rest of the hook.
 */
export function startAllTimeoutMs(count: number): number {
  return Math.ceil(count / STARTS_AT_ONCE) * START_TIMEOUT_MS + 10_000;
}

/**
 * One worker per config, started two at a time: each start is a few hundred files to load,
 * CPU-bound, so starting them all at once only makes each of them slower — six at once on a
 * loaded two-core machine missed the start deadline. If one fails, the others are closed.
 */
export async function spawnIssuerWorkers(
  entry: URL,
  configs: readonly unknown[],
): Promise<IssuerWorker[]> {
  const workers: IssuerWorker[] = [];
  try {
    for (let i = 0; i < configs.length; i += STARTS_AT_ONCE) {
      const batch = configs.slice(i, i + STARTS_AT_ONCE);
      const started = await Promise.allSettled(
        batch.map((config) => spawnIssuerWorker(entry, config)),
      );
      for (const outcome of started)
        if (outcome.status === 'fulfilled') workers.push(outcome.value);
      const failed = started.find((outcome) => outcome.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    }
    return workers;
  } catch (error) {
    await Promise.all(workers.map((worker) => worker.close()));
    throw error;
  }
}

/**
 * Forks `entry` (a TypeScript file run through tsx, against workspace
 * sources) with `config` as its JSON argument, and waits for it to be ready.
 */
export async function spawnIssuerWorker(
  entry: URL,
  config: unknown,
  {
    startTimeoutMs = START_TIMEOUT_MS,
    requestTimeoutMs = 20_000,
  }: { startTimeoutMs?: number; requestTimeoutMs?: number } = {},
): Promise<IssuerWorker> {
  const child: ChildProcess = fork(fileURLToPath(entry), [JSON.stringify(config)], {
    cwd: REPO_ROOT,
    // tsx's ESM hooks only: the TypeScript here is ESM, and leaving require() to Node loads
    // node-redis's few hundred CommonJS files noticeably faster.
    execArgv: ['--import', 'tsx/esm', '--conditions=@kaltura-ks/source'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
  });
  const pending = new Map<number, { resolve(value: unknown): void; reject(e: Error): void }>();
  let nextId = 1;
  const exited = once(child, 'exit');
  child.on('exit', (code, signal) => {
    for (const { reject } of pending.values())
      reject(new Error(`worker exited (${signal ?? code}) with a request pending`));
    pending.clear();
  });
  child.on('message', (message: WorkerResponse | WorkerReady) => {
    if ('ready' in message) return;
    const waiting = pending.get(message.id);
    pending.delete(message.id);
    if (message.ok) waiting?.resolve(message.value);
    else waiting?.reject(new WorkerError(message.code, message.message));
  });

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker did not start in ${startTimeoutMs} ms`)),
      startTimeoutMs,
    );
    child.on('message', (message: WorkerResponse | WorkerReady) => {
      if ('ready' in message) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (code ${code}) before it was ready`));
    });
  });

  const request = (body: WithoutId<WorkerRequest>): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`worker did not answer ${body.op} in ${requestTimeoutMs} ms`));
      }, requestTimeoutMs);
      pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      child.send({ ...body, id });
    });

  const gone = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
  };

  return {
    pid: child.pid ?? -1,
    request,
    getKs: (userId, options = {}) =>
      request({ op: 'getKs', userId, ...options }) as Promise<WorkerKs>,
    storm: (userIds) => request({ op: 'storm', userIds }) as Promise<WorkerStorm>,
    peek: (userId) => request({ op: 'peek', userId }) as Promise<string | null>,
    revoke: (userId, options = {}) =>
      request({ op: 'revoke', userId, ...options }) as Promise<KsRevokeResult>,
    stats: () => request({ op: 'stats' }) as Promise<WorkerStats>,
    kill: (signal = 'SIGKILL') => gone(signal),
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        await request({ op: 'close' });
        await exited;
      } catch {
        await gone('SIGKILL');
      }
    },
  };
}
