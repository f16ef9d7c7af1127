import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyKs } from '@kaltura-ks/core';
import { type Emulator, startEmulator } from '@kaltura-ks/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './test-utils/run.js';

let emulator: Emulator;
let env: Record<string, string>;
const cwd = mkdtempSync(join(tmpdir(), 'ks-cli-live-'));

beforeAll(async () => {
  emulator = await startEmulator({
    partners: [
      {
        id: 2001,
        adminSecret: 'cli-live-admin-secret-000000000000',
        userSecret: 'cli-live-user-secret-0000000000000',
      },
    ],
  });
  env = {
    KALTURA_SERVICE_URL: emulator.url,
    KALTURA_PARTNER_ID: '2001',
    KALTURA_ADMIN_SECRET: 'cli-live-admin-secret-000000000000',
    KALTURA_USER_SECRET: 'cli-live-user-secret-0000000000000',
  };
});

afterAll(async () => {
  await emulator.close();
});

const run = (argv: string[], extraEnv: Record<string, string> = {}) =>
  runCli(argv, { env: { ...env, ...extraEnv }, cwd });

const secrets = () => [env.KALTURA_ADMIN_SECRET!, env.KALTURA_USER_SECRET!];

describe('kaltura-ks against a live emulator', () => {
  it('session-start with the admin secret, and with the user secret', async () => {
    const admin = await run(['session-start', '-q', '--type', 'admin', '--user-id', 'ops']);
    expect(admin.code).toBe(0);
    expect(
      verifyKs(admin.stdout.trim(), { secrets: secrets()[0]!, partnerId: 2001 }),
    ).toMatchObject({ userId: 'ops', type: 2 });
    const user = await run([
      'session-start',
      '-q',
      '--user-secret',
      '--user-id',
      'viewer',
      '--privileges',
      'sview:*',
    ]);
    expect(user.code).toBe(0);
    expect(verifyKs(user.stdout.trim(), { secrets: secrets()[0]!, partnerId: 2001 })).toMatchObject(
      { userId: 'viewer', type: 0 },
    );
    for (const r of [admin, user])
      for (const s of secrets()) expect(r.stdout + r.stderr).not.toContain(s);
  });

  it('the app-token lifecycle: add, list (no values), start-session, delete', async () => {
    const added = await run([
      'app-token',
      'add',
      '--json',
      '--hash-type',
      'SHA256',
      '--session-privileges',
      'sview:*',
    ]);
    expect(added.code).toBe(0);
    const token = JSON.parse(added.stdout) as { id: string; token: string };
    expect(token.token).toMatch(/^[0-9a-f]{32}$/);

    const listed = await run(['app-token', 'list', '--json']);
    expect(JSON.parse(listed.stdout).objects.map((t: { id: string }) => t.id)).toContain(token.id);
    expect(listed.stdout).not.toContain(token.token);

    const started = await run(
      ['app-token', 'start-session', '--json', '--hash-type', 'SHA256', '--user-id', 'alice'],
      {
        KALTURA_APP_TOKEN_ID: token.id,
        KALTURA_APP_TOKEN: token.token,
      },
    );
    expect(started.code).toBe(0);
    const info = JSON.parse(started.stdout);
    expect(info.privileges).toBe(`sessionid:${token.id},apptoken:${token.id},sview:*`);
    expect(started.stdout).not.toContain(token.token);

    const remote = await run(['verify-remote', info.ks, '--json']);
    expect(JSON.parse(remote.stdout)).toMatchObject({ userId: 'alice', partnerId: 2001 });

    expect((await run(['app-token', 'delete', token.id])).code).toBe(0);
    const afterDelete = await run(['verify-remote', info.ks]);
    expect(afterDelete.code).toBe(0); // session.get reads a revoked KS (it does not check validity)
    const wrong = await run(['app-token', 'start-session', '--hash-type', 'SHA1'], {
      KALTURA_APP_TOKEN_ID: token.id,
      KALTURA_APP_TOKEN: token.token,
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('ERR_KS_API');
    expect(wrong.stderr).not.toContain(token.token);
  });

  it('widget-session gives an anonymous widget KS', async () => {
    const { code, stdout } = await run(['widget-session', '--json']);
    expect(code).toBe(0);
    const fields = verifyKs(JSON.parse(stdout).ks, { secrets: secrets()[0]!, partnerId: 2001 });
    expect(fields.privileges).toContain('widget:1');
  });

  it('a wrong secret is a typed API error, exit 1, without echoing the secret', async () => {
    const { code, stderr } = await run([
      'session-start',
      '--secret',
      'definitely-wrong-secret-value',
    ]);
    expect(code).toBe(1);
    expect(stderr).toContain('START_SESSION_ERROR');
    expect(stderr).not.toContain('definitely-wrong-secret-value');
  });

  it('app-token without an action is a usage error', async () => {
    expect((await run(['app-token'])).code).toBe(2);
  });
});
