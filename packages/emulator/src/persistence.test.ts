import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appTokenHash, KsError } from '@kaltura-ks/core';
import { describe, expect, it } from 'vitest';
import {
  ADMIN_SECRET,
  adminKs,
  call,
  ok,
  PARTNER_ID,
  startEmulator,
  testClock,
  testOptions,
  widgetKs,
} from './test-utils/harness.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ks-emulator-'));
}

describe('persistPath', () => {
  it('keeps app tokens and revocations across a restart, in an owner-only file', async () => {
    const clock = testClock();
    const persistPath = join(tempDir(), 'nested', 'state.json');
    const first = await startEmulator(testOptions({ persistPath, now: clock.now }));
    const admin = await adminKs(first);
    const token = await ok(first, 'appToken', 'add', {
      ks: admin,
      'appToken[sessionPrivileges]': 'sview:*',
    });
    const doomed = await ok(first, 'appToken', 'add', {
      ks: admin,
      'appToken[objectType]': 'KalturaAppToken',
    });
    const widget = await widgetKs(first);
    const issued = await ok(first, 'appToken', 'startSession', {
      ks: widget,
      id: doomed.id,
      tokenHash: appTokenHash(widget, doomed.token),
    });
    const ended = await adminKs(first, { userId: 'ended' });
    await ok(first, 'session', 'end', { ks: ended });
    await ok(first, 'appToken', 'delete', { ks: admin, id: doomed.id });
    await first.close();

    expect(statSync(persistPath).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(persistPath, '..'))).toEqual(['state.json']); // no temp files left

    // Restarted with no options at all: everything comes back from the file.
    const second = await startEmulator({ persistPath, now: clock.now });
    try {
      expect(second.generatedPartner).toBe(false);
      expect(second.partners.map((p) => p.id).sort()).toEqual(
        testOptions()
          .partners!.map((p) => p.id)
          .sort(),
      );
      expect(await ok(second, 'appToken', 'get', { ks: admin, id: token.id })).toEqual(token);
      expect((await ok(second, 'appToken', 'get', { ks: admin, id: doomed.id })).status).toBe(3);
      expect((await call(second, 'baseEntry', 'list', { ks: ended })).json.args.KSID).toBe(
        'LOGOUT',
      );
      expect((await call(second, 'baseEntry', 'list', { ks: issued.ks })).json.args.KSID).toBe(
        'LOGOUT',
      );
      expect((await call(second, 'baseEntry', 'list', { ks: admin })).json.totalCount).toBe(3);
      const login = await call(second, 'user', 'loginByLoginId', {
        loginId: 'alice@example.com',
        password: 'alice-pw-123',
      });
      expect(typeof login.json).toBe('string');

      const again = await widgetKs(second);
      const info = await ok(second, 'appToken', 'startSession', {
        ks: again,
        id: token.id,
        tokenHash: appTokenHash(again, token.token),
      });
      expect(info.privileges).toBe(`sessionid:${token.id},apptoken:${token.id},sview:*`);
    } finally {
      await second.close();
    }
  });

  it('persists a generated partner and uses it again', async () => {
    const persistPath = join(tempDir(), 'state.json');
    const first = await startEmulator({ persistPath });
    expect(first.generatedPartner).toBe(true);
    const [partner] = first.partners;
    expect(partner!.adminSecret).toMatch(/^[0-9a-f]{32}$/);
    await first.close();
    const second = await startEmulator({ persistPath });
    expect(second.generatedPartner).toBe(false);
    expect(second.partners).toEqual([partner]);
    await second.close();
    expect(readFileSync(persistPath, 'utf8')).toContain(partner!.adminSecret);
  });

  it('lets given partners override persisted ones', async () => {
    const persistPath = join(tempDir(), 'state.json');
    await (await startEmulator(testOptions({ persistPath }))).close();
    const rotated = await startEmulator({
      persistPath,
      partners: [{ id: PARTNER_ID, adminSecret: 'rotated-secret', userSecret: 'u' }],
    });
    try {
      expect(rotated.partners.find((p) => p.id === PARTNER_ID)?.adminSecret).toBe('rotated-secret');
      const old = await call(rotated, 'session', 'start', {
        secret: ADMIN_SECRET,
        partnerId: PARTNER_ID,
      });
      expect(old.json.code).toBe('START_SESSION_ERROR');
    } finally {
      await rotated.close();
    }
  });

  it('refuses a file that is not emulator state, naming the path', async () => {
    const persistPath = join(tempDir(), 'state.json');
    writeFileSync(persistPath, '{"hello": "world"}');
    await expect(startEmulator({ persistPath })).rejects.toThrow(KsError);
    await expect(startEmulator({ persistPath })).rejects.toThrow(/persistPath/);
  });
});
