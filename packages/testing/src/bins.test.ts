import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { verifyKs } from '@kaltura-ks/core';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The published bins, spawned as a shell runs them: `node <bin> args…`. Node reads some
 * flags (`--env-file`) from the whole command line, script arguments included
 * (nodejs/node#54232), so only a real process shows what reaches the CLI.
 */
const BINS = {
  'kaltura-ks': fileURLToPath(new URL('../../cli/bin/kaltura-ks.js', import.meta.url)),
  'kaltura-ks-emulator': fileURLToPath(
    new URL('../../emulator/bin/kaltura-ks-emulator.js', import.meta.url),
  ),
};
/** tsx and the hook that points a bin's `../dist/` import at `../src/`: no build needed. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const FROM_SOURCE = new URL('./bins/from-source.mjs', import.meta.url).href;
const SECRET = 'bins-test-admin-secret-0000000000000';

const dir = mkdtempSync(join(tmpdir(), 'ks-bins-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Spawned {
  child: ChildProcess;
  /** Resolves once stdout matches, with what it printed so far. */
  output(pattern: RegExp): Promise<string>;
  exit: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function start(bin: keyof typeof BINS, args: string[], env: Record<string, string> = {}): Spawned {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@kaltura-ks/source',
      '--import',
      TSX,
      '--import',
      FROM_SOURCE,
      BINS[bin],
      ...args,
    ],
    { cwd: dir, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let stdout = '';
  let stderr = '';
  const waiters: Array<[RegExp, (text: string) => void]> = [];
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const [pattern, resolve] of waiters) if (pattern.test(stdout)) resolve(stdout);
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return {
    child,
    exit,
    output: (pattern) =>
      new Promise((resolve, reject) => {
        if (pattern.test(stdout)) return resolve(stdout);
        waiters.push([pattern, resolve]);
        exit.then(({ code }) => reject(new Error(`exited ${code}: ${stdout}${stderr}`)));
      }),
  };
}

const run = (bin: keyof typeof BINS, args: string[], env?: Record<string, string>) =>
  start(bin, args, env).exit;

// A process each, tsx compiling the sources: seconds apiece on a busy machine.
const SPAWNS = { timeout: 60_000 };

describe('the kaltura-ks bin', SPAWNS, () => {
  it('mints and verifies with exit codes', async () => {
    const env = { KALTURA_PARTNER_ID: '5', KALTURA_ADMIN_SECRET: SECRET };
    const [minted, bad] = await Promise.all([
      run('kaltura-ks', ['mint', '-q', '-u', 'bob'], env),
      run('kaltura-ks', ['verify', 'not-a-ks'], env),
    ]);
    expect(minted.code, minted.stderr).toBe(0);
    expect(verifyKs(minted.stdout.trim(), { secrets: SECRET, partnerId: 5 }).userId).toBe('bob');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('ERR_KS_MALFORMED');
  });

  it('reads its settings file from --dotenv, and says so when it is missing', async () => {
    const settings = join(dir, 'settings.env');
    writeFileSync(settings, `KALTURA_PARTNER_ID=6\nKALTURA_ADMIN_SECRET=${SECRET}\n`);
    const [read, missing, nodeFlag] = await Promise.all([
      run('kaltura-ks', ['mint', '-q', '--dotenv', settings]),
      run('kaltura-ks', ['mint', '--dotenv', join(dir, 'missing.env')]),
      run('kaltura-ks', ['mint', '--env-file', settings]),
    ]);
    expect(read.code, read.stderr).toBe(0);
    expect(verifyKs(read.stdout.trim(), { secrets: SECRET, partnerId: 6 }).partnerId).toBe(6);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`Cannot read the settings file ${join(dir, 'missing.env')}`);
    // Where Node lets --env-file through (the file exists), the CLI says what to use instead.
    expect(nodeFlag.code).toBe(2);
    expect(nodeFlag.stderr).toContain('--dotenv');
    expect(read.stdout + missing.stderr + nodeFlag.stderr).not.toContain(SECRET);
  });
});

describe('the kaltura-ks-emulator bin', SPAWNS, () => {
  it('writes the .env it is asked to with --write-env, and kaltura-ks check reads it', async () => {
    const envFile = join(dir, 'written.env');
    expect(existsSync(envFile)).toBe(false);
    const emulator = start('kaltura-ks-emulator', ['--write-env', envFile]);
    const banner = await emulator.output(/Stop with Ctrl\+C/);
    expect(banner).toContain(`env file: wrote ${envFile} (mode 0600)`);
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    const written = readFileSync(envFile, 'utf8');
    expect(written).toMatch(/^KALTURA_SERVICE_URL=http:\/\/127\.0\.0\.1:\d+\/api_v3$/m);
    expect(banner).not.toContain(/KALTURA_ADMIN_SECRET=(\S+)/.exec(written)![1]!);

    const checked = await run('kaltura-ks', ['check', '--dotenv', envFile]);
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    expect(checked.stdout).toMatch(/^ok +admin secret \(session\.start\)/m);
    expect(checked.stdout).toContain('Every configured way works (2).');

    emulator.child.kill('SIGTERM');
    const stopped = await emulator.exit;
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain('Emulator stopped.');
  });

  it('turns --env-file away with the flag to use', async () => {
    const existing = join(dir, 'existing.env');
    writeFileSync(existing, 'X=1\n');
    const { code, stderr } = await run('kaltura-ks-emulator', ['--env-file', existing]);
    expect(code).toBe(2);
    expect(stderr).toContain('--write-env <file>');
  });
});
