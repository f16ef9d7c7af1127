import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';

const INSTALL_HINT =
  'redis-server was not found on PATH. The @kaltura-ks/redis tests run against a real Redis: ' +
  'install it with `sudo apt-get install redis-server` (Debian/Ubuntu; the tests start their own ' +
  'server, the system service is not needed) or `brew install redis` (macOS).';

/** A free TCP port on loopback (the OS picks; there is a small window before it is reused). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * `count` free TCP ports on loopback, all different: each is held until the last is picked
 * (ports picked one at a time can come back twice). Another process can still take one before
 * it is bound: callers try again with new ones.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(
      servers.map(async (server) => {
        server.listen(0, '127.0.0.1');
        await once(server, 'listening');
        const address = server.address();
        if (address === null || typeof address === 'string') throw new Error('no port');
        return address.port;
      }),
    );
  } finally {
    await Promise.all(
      servers.map(async (server) => {
        if (!server.listening) return;
        server.close();
        await once(server, 'close');
      }),
    );
  }
}

/** Whether a failed start is worth another try on other ports (the server could not bind). */
export function exitedEarly(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('redis-server exited');
}

/** Sends PING; true when the server answers PONG. */
export function ping(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    let reply = '';
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
    socket.on('error', () => finish(false));
  });
}

/** Polls `check` every `everyMs` until it holds, for at most `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** The server's process id, for `kill -STOP`/`-CONT`. */
  readonly pid: number;
  /** SIGKILL, and wait for the process to be gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port (after `kill`), and waits for PING. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: a Redis that hangs without closing its connections. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

function launch(port: number): ChildProcess {
  return spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      tmpdir(),
      '--loglevel',
      'warning',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

async function up(port: number): Promise<ChildProcess> {
  return answering(launch(port), port, `redis-server on port ${port}`, 10_000);
}

/**
 * Waits until the `redis-server` just spawned as `child` answers PING on `port`, failing at
 * once with its stderr if it exits first, or with the install hint if there is none.
 */
export async function answering(
  child: ChildProcess,
  port: number,
  what: string,
  timeoutMs: number,
): Promise<ChildProcess> {
  let failure: Error | undefined;
  // Redis logs to stdout (a port it cannot bind, for one): both are kept for the message.
  let output = '';
  const keep = (chunk: Buffer) => {
    if (output.length < 4096) output += chunk.toString();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (error: NodeJS.ErrnoException) => {
    failure = error.code === 'ENOENT' ? new Error(INSTALL_HINT) : error;
  });
  child.on('exit', (code) => {
    failure ??= new Error(`redis-server exited (code ${code}) before answering: ${output.trim()}`);
  });
  await until(
    async () => {
      if (failure !== undefined) throw failure;
      return ping(port);
    },
    what,
    timeoutMs,
  );
  return child;
}

/** Sends `signal` to `child` unless it has already exited, and waits for it to be gone. */
export async function gone(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

/**
 * Starts a throwaway `redis-server` on a free loopback port (no persistence,
 * no dump files), waits until it answers PING, and gives ways to break it.
 */
export async function startRedisServer(): Promise<RedisServer> {
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 0; child === undefined; attempt++) {
    port = await freePort();
    try {
      child = await up(port);
    } catch (error) {
      // Someone took the port in the meantime: try another, a few times.
      if (attempt >= 3 || !exitedEarly(error)) throw error;
    }
  }
  let current: ChildProcess = child;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return current.pid ?? -1;
    },
    kill: () => gone(current, 'SIGKILL'),
    async restart() {
      await gone(current, 'SIGKILL');
      current = await up(port);
    },
    pause() {
      current.kill('SIGSTOP');
    },
    resume() {
      current.kill('SIGCONT');
    },
    async stop() {
      current.kill('SIGCONT');
      await gone(current, 'SIGTERM');
    },
  };
}
