import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from '../io.js';
import { main } from '../main.js';

export interface RunOptions {
  env?: Record<string, string>;
  /** Default: a new empty directory (no ./.env). */
  cwd?: string;
  stdin?: string;
  now?: () => number;
  /** Default: resolves at once, as if the time had passed. */
  sleep?: (ms: number) => Promise<boolean>;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `kaltura-ks argv…` in-process, with what it prints captured. */
export async function runCli(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: options.env ?? {},
    cwd: options.cwd ?? mkdtempSync(join(tmpdir(), 'ks-cli-')),
    readStdin: async () => options.stdin ?? '',
    now: options.now ?? Date.now,
    sleep: options.sleep ?? (async () => true),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}
