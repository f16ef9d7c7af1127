import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appTokenHash, createKs, KsType, verifyKs } from '@kaltura-ks/core';
import { describe, expect, it } from 'vitest';
import type { CliIo } from './io.js';
import { main } from './main.js';

const SECRET = 'cli-test-admin-secret-0123456789';
const NOW = 1_700_000_000_000;

// KSs to read back: a v1 and a v2 one for alice, signed with another partner's secret.
const OTHER_SECRET = '0123456789abcdef0123456789abcdef';
const aliceKs = (version: 1 | 2) =>
  createKs({
    secret: OTHER_SECRET,
    partnerId: 12345,
    userId: 'alice',
    type: KsType.ADMIN,
    privileges: 'edit:*',
    version,
    validUntil: 2_000_000_000,
    now: () => NOW,
  });
const KS_V1 = aliceKs(1);
const KS_V2 = aliceKs(2);
const WIDGET_KS = createKs({
  secret: OTHER_SECRET,
  partnerId: 12345,
  userId: '0',
  privileges: 'view:*,widget:1',
  now: () => NOW,
});
const APP_TOKEN = '00112233445566778899aabbccddeeff';

function run(
  argv: string[],
  options: { env?: Record<string, string>; cwd?: string; stdin?: string } = {},
) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: options.env ?? {},
    cwd: options.cwd ?? mkdtempSync(join(tmpdir(), 'ks-cli-')),
    readStdin: async () => options.stdin ?? '',
    now: () => NOW,
  };
  return main(argv, io).then((code) => ({ code, stdout, stderr }));
}

const env = { KALTURA_PARTNER_ID: '12345', KALTURA_ADMIN_SECRET: SECRET };

describe('kaltura-ks mint', () => {
  it('mints a USER KS from the environment and never prints the secret', async () => {
    const { code, stdout, stderr } = await run(
      ['mint', '--user-id', 'alice', '--privileges', 'sview:*'],
      { env },
    );
    expect(code).toBe(0);
    const ks = stdout.split('\n')[0]!;
    expect(verifyKs(ks, { secrets: SECRET, partnerId: 12345, now: () => NOW })).toMatchObject({
      userId: 'alice',
      type: 0,
      privileges: 'sview:*',
      validUntil: NOW / 1000 + 86_400,
    });
    expect(stdout).toContain('USER (0)');
    expect(stdout + stderr).not.toContain(SECRET);
  });

  it('reads settings from a .env file in the working directory, flags winning', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'ks-cli-'));
    writeFileSync(join(cwd, '.env'), `KALTURA_PARTNER_ID=777\nKALTURA_ADMIN_SECRET="${SECRET}"\n`);
    const fromFile = await run(
      ['mint', '--json', '--type', 'admin', '--ks-version', '1', '--expires-in', '60'],
      { cwd },
    );
    expect(fromFile.code).toBe(0);
    const json = JSON.parse(fromFile.stdout);
    expect(json).toMatchObject({
      partnerId: 777,
      type: 2,
      version: 1,
      validUntil: NOW / 1000 + 60,
    });
    expect(fromFile.stdout).not.toContain(SECRET);
    const flagged = await run(['mint', '-q', '-p', '888'], { cwd });
    expect(verifyKs(flagged.stdout.trim(), { secrets: SECRET, now: () => NOW }).partnerId).toBe(
      888,
    );
  });

  it('refuses an injection attempt with a typed error and exit code 1', async () => {
    const { code, stdout, stderr } = await run(
      ['mint', '--ks-version', '1', '--user-id', 'mallory;edit:*'],
      { env },
    );
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('ERR_KS_INVALID_FIELD');
    expect(stderr).not.toContain(SECRET);
  });

  it.each([
    [['mint'], {}, 'partner id is needed'],
    [['mint', '-p', '1'], {}, 'admin secret is needed'],
    [['mint', '--type', 'root'], env, '--type must be user'],
    [['mint', '--expires-in', 'soon'], env, '--expires-in must be an integer'],
    [['mint', '--bogus'], env, "Unknown option '--bogus'"],
    [['mint', '--env-file', '/nonexistent/.env'], {}, 'Cannot read the env file'],
  ])('%j is a usage error (exit 2)', async (argv, environment, message) => {
    const { code, stderr } = await run(argv, { env: environment });
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr).toContain('--help');
  });
});

describe('kaltura-ks decode / verify / token-hash', () => {
  it('decodes a v1 KS without the secret, saying it is unverified', async () => {
    const { code, stdout } = await run(['decode', KS_V1]);
    expect(code).toBe(0);
    expect(stdout).toContain('UNVERIFIED');
    expect(stdout).toContain('alice');
    expect(JSON.parse((await run(['decode', '--json', KS_V1])).stdout)).toMatchObject({
      userId: 'alice',
      verified: false,
    });
  });

  it('says a v2 KS is encrypted', async () => {
    const { stdout } = await run(['decode', KS_V2]);
    expect(stdout).toContain('KS v2 for partner 12345');
  });

  it('reads the KS from standard input with -', async () => {
    const { code, stdout } = await run(['decode', '-'], { stdin: `${KS_V1}\n` });
    expect(code).toBe(0);
    expect(stdout).toContain('alice');
  });

  it('verifies with the secret, and fails with exit 1 and a code otherwise', async () => {
    const specEnv = { KALTURA_ADMIN_SECRET: OTHER_SECRET };
    const ok = await run(['verify', KS_V2, '--json'], { env: specEnv });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ verified: true, userId: 'alice', type: 2 });
    const wrong = await run(['verify', KS_V2], { env: { KALTURA_ADMIN_SECRET: 'wrong' } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('ERR_KS_SIGNATURE');
    const rotated = await run(['verify', KS_V2, '--also-secret', OTHER_SECRET], {
      env: { KALTURA_ADMIN_SECRET: 'old' },
    });
    expect(rotated.code).toBe(0);
    const json = await run(['verify', 'garbage!', '--json'], { env: specEnv });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'ERR_KS_MALFORMED' } });
  });

  it('computes the app token hash of the spec', async () => {
    const { stdout } = await run(['token-hash', WIDGET_KS], {
      env: { KALTURA_APP_TOKEN: APP_TOKEN },
    });
    expect(stdout.trim()).toBe(appTokenHash(WIDGET_KS, APP_TOKEN, 'SHA1'));
    const sha256 = await run([
      'token-hash',
      WIDGET_KS,
      '--token',
      APP_TOKEN,
      '--hash-type',
      'sha256',
    ]);
    expect(sha256.stdout.trim()).toBe(appTokenHash(WIDGET_KS, APP_TOKEN, 'SHA256'));
    const missing = await run(['token-hash', WIDGET_KS]);
    expect(missing.code).toBe(2);
  });
});

describe('kaltura-ks itself', () => {
  it('prints an overview, per-command help and the version', async () => {
    expect((await run(['--help'])).stdout).toContain('Commands:');
    const help = await run(['mint', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--privileges');
    expect((await run(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+/);
    expect((await run([])).code).toBe(2);
    expect((await run(['frobnicate'])).code).toBe(2);
  });
});

describe('the kaltura-ks executable', () => {
  it('runs as a process, with exit codes', async () => {
    const { spawnSync } = await import('node:child_process');
    const entry = new URL('./main.ts', import.meta.url).pathname;
    const exec = (args: string[]) =>
      spawnSync(
        process.execPath,
        ['--conditions=@kaltura-ks/source', '--import', 'tsx', entry, ...args],
        {
          env: { PATH: process.env.PATH, KALTURA_PARTNER_ID: '5', KALTURA_ADMIN_SECRET: SECRET },
          encoding: 'utf8',
        },
      );
    const minted = exec(['mint', '-q', '-u', 'bob']);
    expect(minted.status).toBe(0);
    expect(verifyKs(minted.stdout.trim(), { secrets: SECRET, partnerId: 5 }).userId).toBe('bob');
    const bad = exec(['verify', 'not-a-ks']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('ERR_KS_MALFORMED');
  });
});
