import { type Emulator, startEmulator } from '@kaltura-ks/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// core's test helper (never published): a loopback port where nothing listens.
import { closedPort } from '../../core/src/client/test-utils/server.js';
import { type RunOptions, runCli } from './test-utils/run.js';

const PARTNER = 2201;
const ADMIN_SECRET = 'check-cli-admin-secret-000000000000';
const USER_SECRET = 'check-cli-user-secret-0000000000000';
/** Kaltura's clock against the app server's: changed by the clock tests. */
let kalturaAheadMs = 0;
let emulator: Emulator;
let base: Record<string, string>;
let token: Record<string, string>;

beforeAll(async () => {
  emulator = await startEmulator({
    partners: [{ id: PARTNER, adminSecret: ADMIN_SECRET, userSecret: USER_SECRET }],
    now: () => Date.now() + kalturaAheadMs,
  });
  base = {
    KALTURA_SERVICE_URL: emulator.url,
    KALTURA_PARTNER_ID: String(PARTNER),
  };
  token = await addToken('--hash-type', 'SHA256', '--session-privileges', 'sview:*');
});

afterAll(async () => {
  await emulator.close();
});

const run = (argv: string[], env: Record<string, string>, options: RunOptions = {}) =>
  runCli(argv, { ...options, env: { ...base, ...env } });

async function addToken(...flags: string[]): Promise<Record<string, string>> {
  const added = await run(['app-token', 'add', '--json', ...flags], {
    KALTURA_ADMIN_SECRET: ADMIN_SECRET,
  });
  const created = JSON.parse(added.stdout);
  return {
    KALTURA_APP_TOKEN_ID: created.id,
    KALTURA_APP_TOKEN: created.token,
    KALTURA_APP_TOKEN_HASH_TYPE: created.hashType,
  };
}

const everyWay = () => ({
  KALTURA_ADMIN_SECRET: ADMIN_SECRET,
  KALTURA_USER_SECRET: USER_SECRET,
  ...token,
});

interface Report {
  ok: boolean;
  partnerId: number;
  clock: { offsetMs: number; uncertaintyMs: number };
  ways: Array<{
    way: string;
    ok: boolean;
    entries?: number;
    session?: { partnerId: number; userId?: string; type?: number };
    privileges?: { carried: string | null; missing: string[]; extra: string[] };
    problems?: string[];
    error?: { code: string; kalturaCode?: string; message: string };
    hint?: string;
  }>;
}

async function checkJson(env: Record<string, string>, ...flags: string[]) {
  const result = await run(['check', '--json', ...flags], env);
  return { code: result.code, report: JSON.parse(result.stdout) as Report, result };
}

const way = (report: Report, name: string) => report.ways.find((w) => w.way === name)!;

describe('kaltura-ks check', () => {
  it('starts a session each configured way and lists entries with it', async () => {
    const { code, stdout, stderr } = await run(
      ['check', '--privileges', 'sview:*', '--user-id', 'alice'],
      everyWay(),
    );
    expect(code, stdout + stderr).toBe(0);
    expect(stdout).toContain(`partner ${PARTNER}`);
    for (const label of [
      'admin secret (session.start)',
      'admin secret (signed here',
      'user secret (session.start',
      `app token ${token.KALTURA_APP_TOKEN_ID} (SHA256)`,
    ])
      expect(stdout).toMatch(new RegExp(`^ok +${label.replace(/[()]/g, '\\$&')}`, 'm'));
    expect(stdout).toMatch(/session +USER \(0\) for "alice", partner 2201/);
    expect(stdout).toMatch(/entries +3 listed/);
    expect(stdout).toContain('Every configured way works (4).');
    for (const secret of [ADMIN_SECRET, USER_SECRET, token.KALTURA_APP_TOKEN!])
      expect(stdout + stderr).not.toContain(secret);

    const { report } = await checkJson(everyWay(), '--privileges', 'sview:*');
    expect(report.ok).toBe(true);
    expect(report.ways.map((w) => w.way)).toEqual([
      'admin-secret',
      'local-signing',
      'user-secret',
      'app-token',
    ]);
    for (const w of report.ways) {
      expect(w).toMatchObject({ ok: true, entries: 3, privileges: { missing: [] } });
      expect(w.session).toMatchObject({ partnerId: PARTNER, userId: 'kaltura-ks-check', type: 0 });
    }
    expect(JSON.stringify(report)).not.toMatch(/djJ8|[0-9a-f]{32}/); // no KS, no token value
  });

  it('reports the clock offset to Kaltura (system.getTime)', async () => {
    kalturaAheadMs = 0;
    const inStep = await run(['check'], everyWay());
    expect(inStep.stdout).toMatch(/clock +Kaltura is in step with this machine \(±\d\.\d s\)/);
    try {
      kalturaAheadMs = 5 * 60_000;
      const { code, report, result } = await checkJson(everyWay());
      // Whole seconds from Kaltura, halfway through the round trip: the uncertainty it reports
      // (half a second plus half the round trip) bounds the error.
      expect(Math.abs(report.clock.offsetMs - kalturaAheadMs)).toBeLessThanOrEqual(
        report.clock.uncertaintyMs + 5,
      );
      expect(report.clock.uncertaintyMs).toBeGreaterThanOrEqual(500);
      // Sessions Kaltura starts are on its own clock; a KS signed here is already expired there.
      expect(way(report, 'admin-secret').ok).toBe(true);
      expect(way(report, 'app-token').ok).toBe(true);
      expect(way(report, 'local-signing')).toMatchObject({
        ok: false,
        error: { code: 'ERR_KS_EXPIRED' },
        hint: expect.stringContaining('clock'),
      });
      expect(code).toBe(1);
      expect(result.stdout).not.toContain('djJ8');
      const text = await run(['check'], everyWay());
      expect(text.stdout).toMatch(/Kaltura is [45]m \d+s ahead of this machine .*NTP/);
      kalturaAheadMs = -90_000;
      const behind = await checkJson(everyWay());
      expect(Math.abs(behind.report.clock.offsetMs + 90_000)).toBeLessThanOrEqual(
        behind.report.clock.uncertaintyMs + 5,
      );
    } finally {
      kalturaAheadMs = 0;
    }
  });

  it("fails with Kaltura's error code when a way does not work", async () => {
    const wrongHash = { ...everyWay(), KALTURA_APP_TOKEN_HASH_TYPE: 'SHA1' };
    const { code, report } = await checkJson(wrongHash);
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(way(report, 'admin-secret').ok).toBe(true);
    expect(way(report, 'app-token')).toMatchObject({
      ok: false,
      error: { code: 'ERR_KS_API', kalturaCode: 'INVALID_APP_TOKEN_HASH' },
      hint: expect.stringContaining('KALTURA_APP_TOKEN_HASH_TYPE'),
    });
    const text = await run(['check'], wrongHash);
    expect(text.stdout).toMatch(
      /^FAILED +app token .*\n {10}error +appToken\.startSession: .*\[INVALID_APP_TOKEN_HASH\]/m,
    );
    expect(text.stdout).toContain('3 of 4 configured ways work.');

    const wrongSecret = await checkJson({
      KALTURA_ADMIN_SECRET: 'check-cli-wrong-secret-00000000000',
    });
    expect(wrongSecret.code).toBe(1);
    expect(way(wrongSecret.report, 'admin-secret').error?.kalturaCode).toBe('START_SESSION_ERROR');
    expect(way(wrongSecret.report, 'local-signing').error?.kalturaCode).toBe('INVALID_KS');
    expect(JSON.stringify(wrongSecret.report)).not.toContain('check-cli-wrong-secret');
  });

  it('reports privileges carried against those asked, and sessions for someone else', async () => {
    const plain = await addToken('--hash-type', 'SHA256');
    const noSview = await checkJson({ ...plain }, '--privileges', 'sview:*');
    expect(noSview.code).toBe(1);
    expect(way(noSview.report, 'app-token')).toMatchObject({
      ok: false,
      entries: 3,
      privileges: { missing: ['sview'] },
      error: { code: 'ERR_KS_NOT_GRANTED' },
    });
    const extra = await checkJson({ ...token });
    expect(way(extra.report, 'app-token')).toMatchObject({
      ok: true,
      privileges: { missing: [], extra: ['sview'] },
    });

    const ceo = await addToken('--session-user-id', 'ceo');
    const someoneElse = await checkJson({ ...ceo }, '--user-id', 'alice');
    expect(way(someoneElse.report, 'app-token')).toMatchObject({
      ok: false,
      session: { userId: 'ceo' },
      problems: ['user "ceo", not "alice"'],
      error: { code: 'ERR_KS_NOT_GRANTED' },
    });
    const text = await run(['check', '--user-id', 'alice'], ceo);
    expect(text.stdout).toContain('Kaltura issued a session with user "ceo", not "alice"');
  });

  it('without the admin secret, reads only the partner of an encrypted KS', async () => {
    const { code, report } = await checkJson({ KALTURA_USER_SECRET: USER_SECRET });
    expect(code).toBe(0);
    expect(way(report, 'user-secret')).toMatchObject({
      ok: true,
      session: { partnerId: PARTNER },
      privileges: { carried: null },
    });
    expect(way(report, 'user-secret').session).not.toHaveProperty('userId');
  });

  it('is a usage error with nothing, or half an app token, configured', async () => {
    const nothing = await run(['check'], {});
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('Nothing to check');
    const half = await run(['check'], { KALTURA_APP_TOKEN_ID: '0_abc' });
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('KALTURA_APP_TOKEN_ID is set without KALTURA_APP_TOKEN');
  });

  it('names the host it could not reach', async () => {
    const port = await closedPort();
    const { code, stderr, stdout } = await run(['check'], {
      ...everyWay(),
      KALTURA_SERVICE_URL: `http://127.0.0.1:${port}`,
    });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(
      `ERR_KS_NETWORK: system.getTime: connection failed (ECONNREFUSED 127.0.0.1:${port})`,
    );
  });
});
