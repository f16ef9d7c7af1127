import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { createInterface } from 'node:readline';

const TSX = ['--import', 'tsx', '--conditions=@kaltura-ks/source'];

/** `BENCH_CPU_PROF=<dir>` starts every child with `--cpu-prof` writing there (not allowed in NODE_OPTIONS). */
const PROFILE = process.env.BENCH_CPU_PROF
  ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
  : [];

let tasksetAvailable: boolean | undefined;

/** Whether processes can be pinned to cores (`taskset`, Linux, more than one core). */
export function canPin(): boolean {
  if (tasksetAvailable === undefined) {
    try {
      execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
      tasksetAvailable = true;
    } catch {
      tasksetAvailable = false;
    }
  }
  return tasksetAvailable;
}

/** Pins this whole process (all its threads) to `cpus` (a taskset list like `0` or `0,1`), when it can. */
export function pinSelf(cpus: string): boolean {
  if (!canPin()) return false;
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
  return true;
}

/**
 * Runs a TypeScript entry point to completion in its own Node process with `--expose-gc`
 * (heap figures after a forced GC), pinned to `cpus` (a taskset list) when given and
 * `taskset` is available; returns its last stdout line, parsed as JSON.
 */
export function runToEnd<T>(entry: URL, args: string[], { cpus }: { cpus?: string } = {}): T {
  const node = ['--expose-gc', ...PROFILE, ...TSX, entry.pathname, ...args];
  const pinned = cpus !== undefined && canPin();
  const out = execFileSync(
    pinned ? 'taskset' : process.execPath,
    pinned ? ['-c', cpus, process.execPath, ...node] : node,
    { encoding: 'utf8', maxBuffer: 16 * 2 ** 20 },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!) as T;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** Pin the child to these cores (a taskset list), when `taskset` is available. */
  cpus?: string;
  /** Open an IPC channel (for `cpuUsage`). */
  ipc?: boolean;
}

/** Starts a TypeScript entry point in its own Node process; resolves with its first JSON stdout line. */
export async function startProcess<T>(
  entry: URL,
  args: string[],
  { env = {}, cpus, ipc = false }: StartOptions = {},
): Promise<{ child: ChildProcess; ready: T }> {
  const node = [...PROFILE, ...TSX, entry.pathname, ...args];
  const pinned = cpus !== undefined && canPin();
  const child = spawn(
    pinned ? 'taskset' : process.execPath,
    pinned ? ['-c', cpus, process.execPath, ...node] : node,
    {
      stdio: ['ignore', 'pipe', 'inherit', ...(ipc ? (['ipc'] as const) : [])],
      env: { ...process.env, ...env },
    },
  );
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<T>((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`${entry.pathname} exited with ${code} before it was ready`)),
    );
    lines.once('line', (line) => resolve(JSON.parse(line) as T));
  });
  return { child, ready };
}

/** CPU time (µs, user + system) a child has used so far; it must answer `cpu` on its IPC channel. */
export function cpuUsage(child: ChildProcess): Promise<number> {
  return cpuTimes(child).then(({ user, system }) => user + system);
}

/** The same, split: user (JavaScript, V8) and system (the kernel: sockets, on loopback both ends' TCP work). */
export function cpuTimes(child: ChildProcess): Promise<NodeJS.CpuUsage> {
  return ask<{ cpu: NodeJS.CpuUsage }>(child, 'cpu', 'cpu').then(({ cpu }) => cpu);
}

/**
 * Starts a CPU profile (node:inspector) in a child, or stops it and has the child write it
 * to `file` (a `.cpuprofile`, for Chrome DevTools or `speedscope`): a profile of one phase,
 * where `--cpu-prof` (`BENCH_CPU_PROF`) gives the child's whole life.
 */
export async function profile(child: ChildProcess, file?: string): Promise<void> {
  await ask(child, { profile: file ?? true }, 'profiled');
}

function ask<T>(child: ChildProcess, message: unknown, answer: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: unknown) => {
      if (typeof reply !== 'object' || reply === null || !(answer in reply)) return;
      child.off('message', onMessage);
      resolve(reply as T);
    };
    child.on('message', onMessage);
    child.send(message as string, (error) => {
      if (error) reject(error);
    });
  });
}

/** Answers `cpuUsage()` and `profile()` from the parent: call once in a child started with `ipc: true`. */
export function answerCpuUsage(): void {
  let session: Session | undefined;
  const post = (method: string) =>
    new Promise<unknown>((resolve, reject) =>
      session!.post(method, (error, result) => (error ? reject(error) : resolve(result))),
    );
  process.on('message', (message) => {
    if (message === 'cpu') {
      process.send?.({ cpu: process.cpuUsage() });
      return;
    }
    const wanted = (message as { profile?: true | string }).profile;
    if (wanted === true) {
      session = new Session();
      session.connect();
      void post('Profiler.enable')
        .then(() => post('Profiler.start'))
        .then(() => process.send?.({ profiled: true }));
    } else if (typeof wanted === 'string' && session !== undefined) {
      void post('Profiler.stop').then((result) => {
        writeFileSync(wanted, JSON.stringify((result as { profile: unknown }).profile));
        session!.disconnect();
        session = undefined;
        process.send?.({ profiled: wanted });
      });
    }
  });
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
