import { createKsIssuer } from '@kaltura-ks/core/issuer';
import { type Emulator, startEmulator } from '@kaltura-ks/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunOptions, runCli } from './test-utils/run.js';

const PARTNER = 2101;
const ADMIN_SECRET = 'app-token-cli-admin-secret-00000000';
let emulator: Emulator;
let env: Record<string, string>;
/** The emulator's clock and the CLI's, moved together. */
let nowMs = Date.UTC(2030, 0, 1);
const now = () => nowMs;

beforeAll(async () => {
  emulator = await startEmulator({
    partners: [
      { id: PARTNER, adminSecret: ADMIN_SECRET, userSecret: 'app-token-cli-user-secret-0000000' },
    ],
    now,
  });
  env = {
    KALTURA_SERVICE_URL: emulator.url,
    KALTURA_PARTNER_ID: String(PARTNER),
    KALTURA_ADMIN_SECRET: ADMIN_SECRET,
  };
});

afterAll(async () => {
  await emulator.close();
});

const run = (argv: string[], options: RunOptions = {}) =>
  runCli(argv, { now, ...options, env: { ...env, ...options.env } });

/** The `.env` lines a command printed. */
function envLines(stdout: string): Record<string, string> {
  return Object.fromEntries(
    [...stdout.matchAll(/^ {2}(KALTURA_APP_TOKEN\w*)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]),
  );
}

async function addToken(...flags: string[]) {
  const added = await run(['app-token', 'add', ...flags]);
  expect(added.code, added.stderr).toBe(0);
  return envLines(added.stdout);
}

/** Starts a session with a token through the CLI: exit code and what Kaltura answered. */
async function startWith(token: Record<string, string>, ...flags: string[]) {
  const started = await run(['app-token', 'start-session', '--json', ...flags], { env: token });
  return {
    code: started.code,
    info: JSON.parse(started.stdout || '{}'),
    text: started.stdout + started.stderr,
  };
}

async function listed(): Promise<Array<Record<string, unknown>>> {
  return JSON.parse((await run(['app-token', 'list', '--json'])).stdout).objects;
}

describe('kaltura-ks app-token add', () => {
  it('prints the id, the value and the hash type as .env lines', async () => {
    const added = await run(['app-token', 'add', '--hash-type', 'SHA256']);
    expect(added.code).toBe(0);
    const lines = envLines(added.stdout);
    expect(Object.keys(lines)).toEqual([
      'KALTURA_APP_TOKEN_ID',
      'KALTURA_APP_TOKEN',
      'KALTURA_APP_TOKEN_HASH_TYPE',
    ]);
    expect(lines.KALTURA_APP_TOKEN).toMatch(/^[0-9a-f]{32}$/);
    expect(lines.KALTURA_APP_TOKEN_HASH_TYPE).toBe('SHA256');
    expect(added.stdout).not.toContain(ADMIN_SECRET);
    // The lines work as they are: start-session reads the hash type from them too.
    expect((await startWith(lines, '--user-id', 'alice')).code).toBe(0);
  });

  it("--session-privileges 'sview:*' makes a token whose sessions carry the sview asked", async () => {
    const granting = await addToken('--hash-type', 'SHA256', '--session-privileges', 'sview:*');
    const plain = await addToken('--hash-type', 'SHA256');
    // What the README's server snippet asks, through the issuer.
    const ksFor = async (token: Record<string, string>) => {
      const issuer = createKsIssuer({
        partnerId: PARTNER,
        serviceUrl: emulator.url,
        appToken: {
          id: token.KALTURA_APP_TOKEN_ID!,
          token: token.KALTURA_APP_TOKEN!,
          hashType: 'SHA256',
        },
        now,
      });
      try {
        return await issuer.getKs({ userId: 'alice', privileges: { sview: '*' } });
      } finally {
        await issuer.close();
      }
    };
    expect((await ksFor(granting)).privileges).toContain('sview:*');
    // Kaltura drops a privilege it defines that the token does not grant (spec §9.7).
    expect((await startWith(plain, '--privileges', 'sview:*')).info.privileges).not.toContain(
      'sview',
    );
    const entry = await startWith(granting, '--privileges', 'sview:1_abc');
    expect(entry.info.privileges).toContain('sview:1_abc');
    expect(entry.info.privileges).not.toContain('sview:*');
  });
});

describe('kaltura-ks app-token list', () => {
  it('has a header over its columns, and no token values', async () => {
    const token = await addToken('--session-privileges', 'sview:*', '--description', 'web');
    const { code, stdout } = await run(['app-token', 'list']);
    expect(code).toBe(0);
    const [header, ...rows] = stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID +STATUS +HASH +USER +TYPE +PRIVILEGES +EXPIRY +DESCRIPTION$/);
    const row = rows.find((r) => r.startsWith(token.KALTURA_APP_TOKEN_ID!))!;
    expect(row).toMatch(/ +active +SHA1 +\(caller\) +\(caller\) +sview:\* +never +web$/);
    // Columns line up under the header.
    expect(row.indexOf('active')).toBe(header!.indexOf('STATUS'));
    expect(stdout).not.toContain(token.KALTURA_APP_TOKEN);
  });
});

describe('kaltura-ks app-token rotate', () => {
  const settingsOf = (token: Record<string, unknown> | undefined) => ({
    hashType: token?.hashType,
    sessionType: token?.sessionType,
    sessionUserId: token?.sessionUserId,
    sessionPrivileges: token?.sessionPrivileges,
    sessionDuration: token?.sessionDuration,
    expiry: token?.expiry,
    description: token?.description,
  });
  const SETTINGS = [
    '--hash-type',
    'SHA512',
    '--session-type',
    'user',
    '--session-privileges',
    'sview:*,appid:web',
    '--session-duration',
    '600',
    '--expiry',
    String(nowMs / 1000 + 30 * 86_400),
    '--description',
    'web servers',
  ];

  it('--dry-run shows the settings it would copy, and changes nothing', async () => {
    const old = await addToken(...SETTINGS);
    const before = await listed();
    const dry = await run(['app-token', 'rotate', old.KALTURA_APP_TOKEN_ID!, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('Dry run: nothing changed.');
    expect(dry.stdout).toMatch(/hash type +SHA512/);
    expect(dry.stdout).toMatch(/session privileges +sview:\*,appid:web/);
    expect(dry.stdout).toMatch(/session duration +10m 0s/);
    expect(dry.stdout).not.toContain('KALTURA_APP_TOKEN=');
    expect(await listed()).toEqual(before);
  });

  it("creates a token with the old one's settings, prints its lines, and keeps the old one", async () => {
    const old = await addToken(...SETTINGS);
    const rotated = await run(['app-token', 'rotate', old.KALTURA_APP_TOKEN_ID!]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const fresh = envLines(rotated.stdout);
    expect(fresh.KALTURA_APP_TOKEN_ID).not.toBe(old.KALTURA_APP_TOKEN_ID);
    expect(fresh.KALTURA_APP_TOKEN_HASH_TYPE).toBe('SHA512');
    expect(rotated.stdout).toContain(`kaltura-ks app-token delete ${old.KALTURA_APP_TOKEN_ID}`);
    const tokens = await listed();
    const find = (id: string | undefined) => tokens.find((t) => t.id === id);
    expect(settingsOf(find(fresh.KALTURA_APP_TOKEN_ID))).toEqual(
      settingsOf(find(old.KALTURA_APP_TOKEN_ID)),
    );
    expect(settingsOf(find(fresh.KALTURA_APP_TOKEN_ID)).sessionPrivileges).toBe(
      'sview:*,appid:web',
    );
    // Both work until the second command.
    expect((await startWith(old)).code).toBe(0);
    expect((await startWith(fresh)).code).toBe(0);
    const deleted = await run(['app-token', 'delete', old.KALTURA_APP_TOKEN_ID!]);
    expect(deleted.code).toBe(0);
    expect((await startWith(old)).text).toContain('APP_TOKEN_NOT_ACTIVE');
    expect((await startWith(fresh)).code).toBe(0);
  });

  it('--delete-after waits the grace period, then deletes the old token', async () => {
    const old = await addToken('--hash-type', 'SHA256');
    const waits: number[] = [];
    let oldWorkedDuringWait = false;
    const rotated = await run(['app-token', 'rotate', '--delete-after', '15m'], {
      env: old, // the token to rotate comes from KALTURA_APP_TOKEN_ID
      sleep: async (ms) => {
        waits.push(ms);
        oldWorkedDuringWait = (await startWith(old)).code === 0;
        return true;
      },
    });
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(waits).toEqual([15 * 60_000]);
    expect(oldWorkedDuringWait).toBe(true);
    expect(rotated.stdout).toContain(`${old.KALTURA_APP_TOKEN_ID} will be deleted in 15m 0s`);
    expect(rotated.stdout).toContain(`${old.KALTURA_APP_TOKEN_ID} deleted`);
    expect((await startWith(old)).text).toContain('APP_TOKEN_NOT_ACTIVE');
    expect((await startWith(envLines(rotated.stdout))).code).toBe(0);
  });

  it('Ctrl+C during the wait keeps the old token (exit 130)', async () => {
    const old = await addToken();
    const rotated = await run(
      ['app-token', 'rotate', old.KALTURA_APP_TOKEN_ID!, '--delete-after', '90'],
      { sleep: async () => false },
    );
    expect(rotated.code).toBe(130);
    expect(rotated.stdout).toContain(`Interrupted: ${old.KALTURA_APP_TOKEN_ID} is kept`);
    expect((await startWith(old)).code).toBe(0);
  });

  it('with --json, one document when the token is made and one when the old one is deleted', async () => {
    const old = await addToken();
    const rotated = await run([
      'app-token',
      'rotate',
      old.KALTURA_APP_TOKEN_ID!,
      '--delete-after',
      '2h',
      '--json',
    ]);
    expect(rotated.code).toBe(0);
    const documents = rotated.stdout
      .split(/\n(?=\{)/)
      .map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(documents).toHaveLength(2);
    expect(documents[0]).toMatchObject({
      rotated: old.KALTURA_APP_TOKEN_ID,
      created: { token: expect.stringMatching(/^[0-9a-f]{32}$/) },
      deleteOld: new Date(nowMs + 2 * 3_600_000).toISOString(),
      differ: [],
    });
    expect(documents[1]).toEqual({ deleted: old.KALTURA_APP_TOKEN_ID });
  });

  it('refuses a token that is not active, one that has expired, and a bad grace period', async () => {
    const gone = await addToken();
    await run(['app-token', 'delete', gone.KALTURA_APP_TOKEN_ID!]);
    const deleted = await run(['app-token', 'rotate', gone.KALTURA_APP_TOKEN_ID!]);
    expect(deleted.code).toBe(1);
    expect(deleted.stderr).toContain('APP_TOKEN_NOT_ACTIVE');

    const expiring = await addToken('--expiry', String(nowMs / 1000 + 60));
    const before = (await listed()).length;
    nowMs += 120_000;
    const expired = await run(['app-token', 'rotate', expiring.KALTURA_APP_TOKEN_ID!]);
    expect(expired.code).toBe(1);
    expect(expired.stderr).toContain('APP_TOKEN_EXPIRED');
    expect(expired.stderr).toContain('--expiry');
    expect((await listed()).length).toBe(before);
    const renewed = await run([
      'app-token',
      'rotate',
      expiring.KALTURA_APP_TOKEN_ID!,
      '--expiry',
      String(nowMs / 1000 + 86_400),
    ]);
    expect(renewed.code, renewed.stderr).toBe(0);
    expect((await startWith(envLines(renewed.stdout))).code).toBe(0);

    for (const grace of ['soon', '0', '25h']) {
      const bad = await run(['app-token', 'rotate', 'x', '--delete-after', grace]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--delete-after must be a duration');
    }
    expect((await run(['app-token', 'rotate'], { env: {} })).stderr).toContain(
      'KALTURA_APP_TOKEN_ID',
    );
  });
});
