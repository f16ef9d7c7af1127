import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appTokenHash, createKs, KsType, verifyKs } from '@kaltura-ks/core';
import { describe, expect, it } from 'vitest';
import { type RunOptions, runCli } from './test-utils/run.js';

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

const run = (argv: string[], options: RunOptions = {}) =>
  runCli(argv, { now: () => NOW, ...options });

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
    [['mint', '--dotenv', '/nonexistent/.env'], {}, 'Cannot read the settings file'],
    [['mint', '--env-file', '.env'], env, 'name the settings file with --dotenv'],
    [['mint', '--env-file=.env'], env, 'nodejs/node#54232'],
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
    const specEnv = { KALTURA_ADMIN_SECRET: OTHER_SECRET, KALTURA_PARTNER_ID: '12345' };
    const ok = await run(['verify', KS_V2, '--json'], { env: specEnv });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ verified: true, userId: 'alice', type: 2 });
    const wrong = await run(['verify', KS_V2, '-p', '12345'], {
      env: { KALTURA_ADMIN_SECRET: 'wrong' },
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('ERR_KS_SIGNATURE');
    const rotated = await run(['verify', KS_V2, '-p', '12345', '--also-secret', OTHER_SECRET], {
      env: { KALTURA_ADMIN_SECRET: 'old' },
    });
    expect(rotated.code).toBe(0);
    const json = await run(['verify', 'garbage!', '--json'], { env: specEnv });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'ERR_KS_MALFORMED' } });
  });

  it('will not call a KS v2 verified without the partner id it must carry', async () => {
    // The partner id of a v2 KS is clear text outside the encryption: edit it, and the KS
    // still decrypts with the secret.
    const raw = Buffer.from(KS_V2, 'base64url');
    const edited = Buffer.concat([
      Buffer.from('v2|99999|'),
      raw.subarray('v2|12345|'.length),
    ]).toString('base64url');
    const secretOnly = { KALTURA_ADMIN_SECRET: OTHER_SECRET };
    for (const ks of [KS_V2, edited]) {
      const unsure = await run(['verify', ks], { env: secretOnly });
      expect(unsure.code).toBe(2);
      expect(unsure.stdout).not.toContain('verified');
      expect(unsure.stderr).toContain('--partner-id');
    }
    const caught = await run(['verify', edited, '--partner-id', '12345'], { env: secretOnly });
    expect(caught.code).toBe(1);
    expect(caught.stderr).toContain('ERR_KS_PARTNER_MISMATCH');
    // A v1 KS signs its partner id: verified without being told which.
    const v1 = await run(['verify', KS_V1, '--json'], { env: secretOnly });
    expect(v1.code).toBe(0);
    expect(JSON.parse(v1.stdout)).toMatchObject({ verified: true, partnerId: 12345 });
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
    const fromEnv = await run(['token-hash', WIDGET_KS], {
      env: { KALTURA_APP_TOKEN: APP_TOKEN, KALTURA_APP_TOKEN_HASH_TYPE: 'SHA512' },
    });
    expect(fromEnv.stdout.trim()).toBe(appTokenHash(WIDGET_KS, APP_TOKEN, 'SHA512'));
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

  it('create is mint by another name', async () => {
    const created = await run(['create', '-q', '-u', 'carol'], { env });
    expect(created.code).toBe(0);
    const fields = verifyKs(created.stdout.trim(), {
      secrets: SECRET,
      partnerId: 12345,
      now: () => NOW,
    });
    expect(fields.userId).toBe('carol');
    expect((await run(['create', '--help'])).stdout).toBe((await run(['mint', '--help'])).stdout);
    expect((await run(['--help'])).stdout).toMatch(/mint \(create\) +Create a KS locally/);
  });

  it('app-token --help lists its commands; app-token add --help lists the options of add', async () => {
    const group = await run(['app-token', '--help']);
    const add = await run(['app-token', 'add', '--help']);
    const rotate = await run(['app-token', 'rotate', '--help']);
    expect([group.code, add.code, rotate.code]).toEqual([0, 0, 0]);
    expect(group.stdout).toMatch(/^ {2}add +Create an app token/m);
    expect(group.stdout).toMatch(/^ {2}rotate +Replace an app token/m);
    expect(group.stdout).not.toContain('--session-privileges');
    expect(add.stdout).toContain('Usage: kaltura-ks app-token add');
    expect(add.stdout).toContain('--session-privileges');
    expect(add.stdout).not.toContain('--delete-after');
    expect(rotate.stdout).toContain('--delete-after');
    expect(rotate.stdout).not.toContain('--session-privileges');
    const missing = await run(['app-token']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('needs a command (add, list, rotate, delete, start-session)');
    expect((await run(['app-token', 'frob'])).code).toBe(2);
  });
});
