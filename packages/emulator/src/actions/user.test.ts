import { verifyKs } from '@kaltura-ks/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../server.js';
import {
  ADMIN_SECRET,
  call,
  PARTNER_ID,
  START_MS,
  startEmulator,
  testClock,
  testOptions,
} from '../test-utils/harness.js';

const clock = testClock();
let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator(testOptions({ now: clock.now }));
});
afterAll(() => emulator.close());

const WRONG_PASSWORD = {
  code: 'USER_WRONG_PASSWORD',
  message: 'Wrong password supplied',
  objectType: 'KalturaAPIException',
  args: [],
};

describe('user.loginByLoginId', () => {
  it('gives a USER KS to a user and an ADMIN KS to an admin, with privileges * by default', async () => {
    const user = (
      await call(emulator, 'user', 'loginByLoginId', {
        loginId: 'alice@example.com',
        password: 'alice-pw-123',
      })
    ).json;
    expect(verifyKs(user, { secrets: ADMIN_SECRET, now: clock.now })).toMatchObject({
      partnerId: PARTNER_ID,
      userId: 'alice',
      type: 0,
      privileges: '*',
      validUntil: START_MS / 1000 + 86_400,
    });
    const admin = (
      await call(emulator, 'user', 'loginByLoginId', {
        loginId: '  ROOT@example.com ',
        password: 'root-pw-123',
        partnerId: PARTNER_ID,
        expiry: 60,
        privileges: 'sview:*',
      })
    ).json;
    expect(verifyKs(admin, { secrets: ADMIN_SECRET, now: clock.now })).toMatchObject({
      userId: 'root',
      type: 2,
      privileges: 'sview:*',
      validUntil: START_MS / 1000 + 60,
    });
  });

  it('answers USER_WRONG_PASSWORD for every failure, so logins cannot be enumerated', async () => {
    const cases = [
      { loginId: 'alice@example.com', password: 'wrong' },
      { loginId: 'nobody@example.com', password: 'whatever' },
      { loginId: 'alice@example.com', password: 'alice-pw-123', partnerId: 999 },
      { loginId: 'alice@example.com' },
      { password: 'alice-pw-123' },
      { loginId: 'alice@example.com', password: 'alice-pw-123', ks: 'garbage' },
    ];
    for (const fields of cases) {
      const { status, json, text } = await call(emulator, 'user', 'loginByLoginId', fields);
      expect(status).toBe(200);
      expect(json).toEqual(WRONG_PASSWORD);
      expect(text).not.toContain('alice-pw-123');
    }
  });
});
