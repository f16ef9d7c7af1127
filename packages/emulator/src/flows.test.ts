import { AppTokenHashType, appTokenHash, verifyKs } from '@kaltura-ks/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from './server.js';
import {
  ADMIN_SECRET,
  adminKs,
  call,
  ok,
  PARTNER_ID,
  START_MS,
  startEmulator,
  testClock,
  testOptions,
  USER_SECRET,
  widgetKs,
} from './test-utils/harness.js';

const clock = testClock();
const NOW = START_MS / 1000;
let emulator: Emulator;
let admin: string;

beforeAll(async () => {
  emulator = await startEmulator(testOptions({ now: clock.now }));
  admin = await adminKs(emulator);
});
afterAll(() => emulator.close());

async function addToken(fields: Record<string, string | number> = {}) {
  const body: Record<string, string | number> = {
    ks: admin,
    'appToken[objectType]': 'KalturaAppToken',
  };
  for (const [key, value] of Object.entries(fields)) body[`appToken[${key}]`] = value;
  return ok(emulator, 'appToken', 'add', body);
}

/** The browser's path: a widget KS, the token hash over it, then appToken.startSession. */
async function sessionFromToken(
  token: { id: string; token: string; hashType: string },
  fields: Record<string, string | number> = {},
) {
  const widget = await widgetKs(emulator);
  const tokenHash = appTokenHash(widget, token.token, token.hashType as AppTokenHashType);
  return ok(emulator, 'appToken', 'startSession', {
    ks: widget,
    id: token.id,
    tokenHash,
    ...fields,
  });
}

async function listEntries(ks: string) {
  return call(emulator, 'baseEntry', 'list', { ks });
}

describe('session.start → baseEntry.list', () => {
  it('lists the sample entries with an admin, a user and a widget KS', async () => {
    const user = await ok(emulator, 'session', 'start', {
      secret: USER_SECRET,
      partnerId: PARTNER_ID,
    });
    for (const ks of [admin, user, await widgetKs(emulator)]) {
      const { json } = await listEntries(ks);
      expect(json).toMatchObject({ totalCount: 3, objectType: 'KalturaBaseEntryListResponse' });
      expect(json.objects[0]).toMatchObject({
        id: '0_emu00001',
        partnerId: PARTNER_ID,
        objectType: 'KalturaMediaEntry',
      });
    }
    const media = await ok(emulator, 'media', 'list', {
      ks: admin,
      'filter[idIn]': '0_emu00002,0_emu00003',
      'pager[pageSize]': 1,
    });
    expect(media).toMatchObject({ totalCount: 2, objectType: 'KalturaMediaListResponse' });
    expect(media.objects.map((e: { id: string }) => e.id)).toEqual(['0_emu00002']);
  });

  it('needs a KS', async () => {
    expect((await call(emulator, 'baseEntry', 'list')).json.code).toBe('MISSING_KS');
    expect((await call(emulator, 'baseEntry', 'list', { partnerId: PARTNER_ID })).json.code).toBe(
      'SERVICE_FORBIDDEN',
    );
  });
});

describe('appToken.add → startWidgetSession → tokenHash → appToken.startSession → baseEntry.list', () => {
  for (const hashType of Object.values(AppTokenHashType)) {
    it(`works with hash type ${hashType}`, async () => {
      const token = await addToken({ hashType, sessionPrivileges: 'sview:*' });
      expect(token.hashType).toBe(hashType);
      const info = await sessionFromToken(token, { userId: 'viewer@example.com' });
      expect(info.privileges).toBe(`sessionid:${token.id},apptoken:${token.id},sview:*`);
      const { json } = await listEntries(info.ks);
      expect(json.totalCount).toBe(3);
    });
  }

  it('merges privileges as the spec example says', async () => {
    const token = await addToken({ sessionPrivileges: 'edit:*,custom:x' });
    const info = await sessionFromToken(token, { sessionPrivileges: 'edit:0_e1,foo:bar,list:*' });
    const expected = `sessionid:${token.id},apptoken:${token.id},edit:0_e1,custom:x,foo:bar`;
    expect(info.privileges).toBe(expected);
    expect(verifyKs(info.ks, { secrets: ADMIN_SECRET, now: clock.now }).privileges).toBe(expected);
  });

  it('lets the token’s sessionUserId and sessionType override the caller’s', async () => {
    const token = await addToken({ sessionUserId: 'service-user', sessionType: 2 });
    const info = await sessionFromToken(token, { userId: 'someone-else', type: 0 });
    expect(info).toMatchObject({ userId: 'service-user', sessionType: 2 });
    expect(verifyKs(info.ks, { secrets: ADMIN_SECRET, now: clock.now })).toMatchObject({
      userId: 'service-user',
      type: 2,
    });
    // An ADMIN KS from the token can do admin things.
    expect((await call(emulator, 'session', 'get', { ks: info.ks })).json.sessionType).toBe('2');

    const open = await addToken();
    expect(await sessionFromToken(open, { userId: 'caller', type: 2 })).toMatchObject({
      userId: 'caller',
      sessionType: 2,
    });
  });

  it('bounds the expiry by the token’s duration and its own expiry', async () => {
    const token = await addToken({ sessionDuration: 600, expiry: 300 });
    expect((await sessionFromToken(token)).expiry).toBe(NOW + 300);
    expect((await sessionFromToken(token, { expiry: 60 })).expiry).toBe(NOW + 60);
    expect((await sessionFromToken(token, { expiry: 100_000 })).expiry).toBe(NOW + 300);

    const issued = await sessionFromToken(token);
    clock.advanceSeconds(301);
    const widget = await widgetKs(emulator);
    const late = await call(emulator, 'appToken', 'startSession', {
      ks: widget,
      id: token.id,
      tokenHash: appTokenHash(widget, token.token),
    });
    expect(late.json).toMatchObject({ code: 'APP_TOKEN_EXPIRED', args: { ID: token.id } });
    // The KS it issued has expired too.
    expect((await listEntries(issued.ks)).json).toMatchObject({
      code: 'INVALID_KS',
      args: { KSID: 'EXPIRED' },
    });
    clock.set(START_MS);
  });

  it('revokes every KS the token issued when the token is deleted', async () => {
    const token = await addToken();
    const first = await sessionFromToken(token);
    const second = await sessionFromToken(token, { userId: 'u2' });
    const unrelated = await sessionFromToken(await addToken());
    expect((await listEntries(first.ks)).json.totalCount).toBe(3);

    await ok(emulator, 'appToken', 'delete', { ks: admin, id: token.id });
    for (const ks of [first.ks, second.ks]) {
      expect((await listEntries(ks)).json).toEqual({
        code: 'INVALID_KS',
        message: 'Invalid KS "LOGOUT", Error "-1,INVALID_STR"',
        objectType: 'KalturaAPIException',
        args: { KSID: 'LOGOUT', ERR_CODE: '-1', ERR_DESC: 'INVALID_STR' },
      });
    }
    expect((await listEntries(unrelated.ks)).json.totalCount).toBe(3);
  });

  it('revokes a token-issued KS with session.end', async () => {
    const info = await sessionFromToken(await addToken());
    await ok(emulator, 'session', 'end', { ks: info.ks });
    expect((await listEntries(info.ks)).json.args.KSID).toBe('LOGOUT');
  });
});
