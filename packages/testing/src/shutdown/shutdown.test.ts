/**
 * A server run as the adapters' READMEs say, with the Redis store, exits by
 * itself soon after SIGTERM while a mint is in flight: the request waiting for
 * it gets its 503 at once, and nothing (socket, timer, Redis connection) keeps
 * the process alive.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../../redis/src/test-utils/redis-server.js';
import { FRAMEWORKS, type Framework } from './frameworks.js';

const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** Far below the server's mintTimeoutMs (10 minutes), far above a loaded machine's shutdown. */
const PROMPTLY_MS = 60_000;

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

/** Starts the server; resolves with its port and a way to wait for a line of its output. */
async function start(framework: Framework) {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx/esm',
      '--conditions=@kaltura-ks/source',
      SERVER,
      JSON.stringify({ framework, redisUrl: redis.url }),
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const lines: string[] = [];
  const waiting = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const wake of [...waiting]) wake();
  });
  const line = (match: (line: string) => boolean) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const found = lines.find(match);
        if (found === undefined) return;
        waiting.delete(check);
        resolve(found);
      };
      waiting.add(check);
      check();
      void exited.then(() => reject(new Error(`the server exited; it said: ${lines.join(' | ')}`)));
    });
  const { port } = JSON.parse(await line((l) => l.startsWith('{'))) as { port: number };
  return { child, port, exited, line };
}

describe.each(FRAMEWORKS)('%s, with the Redis store, on SIGTERM', (framework) => {
  it('answers the request waiting for a mint and exits by itself, promptly', {
    timeout: 240_000,
  }, async () => {
    const server = await start(framework);
    try {
      // The same user in every case: each server lets go of its lock on the way out.
      const answer = fetch(`http://127.0.0.1:${server.port}/kaltura/ks`, {
        headers: { 'x-user': 'alice' },
      });
      await server.line((l) => l === 'minting');
      const signalled = performance.now();
      server.child.kill('SIGTERM');
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`still running ${PROMPTLY_MS} ms after SIGTERM`)),
          PROMPTLY_MS,
        );
      });
      const [code, signal] = await Promise.race([
        (async () => {
          const response = await answer;
          expect(response.status).toBe(503);
          await response.arrayBuffer();
          return server.exited;
        })(),
        late,
      ]).finally(() => clearTimeout(timer));
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(performance.now() - signalled).toBeLessThan(PROMPTLY_MS);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});
