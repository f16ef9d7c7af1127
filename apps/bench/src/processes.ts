import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const TSX = ['--import', 'tsx', '--conditions=@kaltura-ks/source'];

/** Starts a TypeScript entry point in its own Node process; resolves with its first JSON stdout line. */
export async function startProcess<T>(
  entry: URL,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; ready: T }> {
  const child = spawn(process.execPath, [...TSX, entry.pathname, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<T>((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`${entry.pathname} exited with ${code} before it was ready`)),
    );
    lines.once('line', (line) => resolve(JSON.parse(line) as T));
  });
  return { child, ready };
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
