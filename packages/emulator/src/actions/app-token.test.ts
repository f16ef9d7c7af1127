import { appTokenHash, verifyKs } from '@kaltura-ks/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../server.js';
import {
  ADMIN_SECRET,
  adminKs,
  call,
  OTHER_ADMIN_SECRET,
  OTHER_PARTNER_ID,
  ok,
  PARTNER_ID,
  START_MS,
  startEmulator,
  testClock,
  testOptions,
  userKs,
  widgetKs,
} from '../test-utils/harness.js';
import { mergeAppTokenPrivileges } from './app-token.js';

const clock = testClock();
const NOW = START_MS / 1000;
let emulator: Emulator;
let ks: string;

beforeAll(async () => {
  emulator = await startEmulator(testOptions({ now: clock.now }));
  ks = await adminKs(emulator);
});
afterAll(() => emulator.close());

async function addToken(fields: Record<string, string | number> = {}) {
  const body: Record<string, string | number> = { ks, 'appToken[objectType]': 'KalturaAppToken' };
  for (const [key, value] of Object.entries(fields)) body[`appToken[${key}]`] = value;
  return ok(emulator, 'appToken', 'add', body);
}

describe('appToken.add', () => {
  it('creates an active token with Kaltura defaults, fields in declaration order', async () => {
    const token = await addToken({ description: 'demo' });
    expect(Object.keys(token)).toEqual([
      'id',
      'token',
      'partnerId',
      'createdAt',
      'updatedAt',
      'status',
      'sessionDuration',
      'hashType',
      'description',
      'objectType',
    ]);
    expect(token).toMatchObject({
      partnerId: PARTNER_ID,
      createdAt: NOW,
      updatedAt: NOW,
      status: 2,
      sessionDuration: 86_400,
      hashType: 'SHA1',
      description: 'demo',
      objectType: 'KalturaAppToken',
    });
    expect(token.id).toMatch(/^0_[0-9a-z]{8}$/);
    expect(token.token).toMatch(/^[0-9a-f]{32}$/);
  });

  it('keeps every writable field; a small expiry is relative to now (kTime), a large one absolute', async () => {
    const token = await addToken({
      expiry: 3600,
      sessionType: 2,
      sessionUserId: 'svc@example.com',
      sessionDuration: 600,
      sessionPrivileges: 'sview:*',
      hashType: 'SHA256',
    });
    expect(token).toMatchObject({
      expiry: NOW + 3600,
      sessionType: 2,
      sessionUserId: 'svc@example.com',
      sessionDuration: 600,
      sessionPrivileges: 'sview:*',
      hashType: 'SHA256',
    });
    expect((await addToken({ expiry: 2_000_000_000 })).expiry).toBe(2_000_000_000);
  });

  it('understands the three ways clients nest objects: a[b], a:b and JSON', async () => {
    const colon = await ok(emulator, 'appToken', 'add', {
      ks,
      'appToken:objectType': 'KalturaAppToken',
      'appToken:description': 'colon',
    });
    expect(colon.description).toBe('colon');
    const response = await fetch(`${emulator.url}/service/apptoken/action/add`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        ks,
        format: 1,
        appToken: { objectType: 'KalturaAppToken', description: 'json', sessionType: 0 },
      }),
    });
    expect(await response.json()).toMatchObject({ description: 'json', sessionType: 0 });
  });

  it('answers Kaltura errors for bad input', async () => {
    expect((await call(emulator, 'appToken', 'add', { ks })).json).toMatchObject({
      code: 'MISSING_MANDATORY_PARAMETER',
      args: { PARAM_NAME: 'appToken' },
    });
    expect(
      (await call(emulator, 'appToken', 'add', { ks, 'appToken[hashType]': 'sha1' })).json,
    ).toEqual({
      code: 'INVALID_ENUM_VALUE',
      message:
        'Invalid enumeration value "sha1" for parameter "hashType", expecting enumeration type "KalturaAppTokenHashType"',
      objectType: 'KalturaAPIException',
      args: { ENUM_VAL: 'sha1', PARAM_NAME: 'hashType', ENUM_TYPE: 'KalturaAppTokenHashType' },
    });
    expect(
      (await call(emulator, 'appToken', 'add', { ks, 'appToken[sessionType]': 1 })).json.code,
    ).toBe('INVALID_ENUM_VALUE');
    for (const sessionUserId of ['has space', 'mallory;edit:*', '*']) {
      expect(
        (await call(emulator, 'appToken', 'add', { ks, 'appToken[sessionUserId]': sessionUserId }))
          .json,
      ).toMatchObject({
        code: 'INVALID_FIELD_VALUE',
        args: { FIELD_NAME: 'sessionUserId' },
      });
    }
    expect(
      (await call(emulator, 'appToken', 'add', { ks, 'appToken[sessionPrivileges]': 'edit:*;x' }))
        .json,
    ).toMatchObject({
      code: 'INVALID_FIELD_VALUE',
      args: { FIELD_NAME: 'sessionPrivileges' },
    });
  });

  it('needs an ADMIN KS', async () => {
    const body = { 'appToken[description]': 'x' };
    expect(
      (await call(emulator, 'appToken', 'add', { ...body, ks: await userKs(emulator) })).json,
    ).toMatchObject({
      code: 'SERVICE_FORBIDDEN',
      args: { SERVICE: 'apptoken->add' },
    });
    expect(
      (await call(emulator, 'appToken', 'add', { ...body, ks: await widgetKs(emulator) })).json
        .code,
    ).toBe('SERVICE_FORBIDDEN');
    expect((await call(emulator, 'appToken', 'add', body)).json.code).toBe('MISSING_KS');
  });
});

describe('appToken.get, update, delete, list', () => {
  it('gets, updates (including field__null) and deletes a token', async () => {
    const token = await addToken({ description: 'before', sessionUserId: 'u1' });
    expect(await ok(emulator, 'appToken', 'get', { ks, id: token.id })).toEqual(token);

    clock.advanceSeconds(5);
    const updated = await ok(emulator, 'appToken', 'update', {
      ks,
      id: token.id,
      'appToken[objectType]': 'KalturaAppToken',
      'appToken[description]': 'after',
      'appToken[sessionUserId__null]': '',
      'appToken[hashType]': 'MD5',
    });
    expect(updated).toMatchObject({
      id: token.id,
      token: token.token,
      description: 'after',
      hashType: 'MD5',
      updatedAt: NOW + 5,
    });
    expect(updated.sessionUserId).toBeUndefined();
    clock.set(START_MS);

    expect((await call(emulator, 'appToken', 'delete', { ks, id: token.id })).text).toBe('null');
    expect((await ok(emulator, 'appToken', 'get', { ks, id: token.id })).status).toBe(3);
  });

  it('answers APP_TOKEN_ID_NOT_FOUND for unknown ids and for another partner’s tokens', async () => {
    for (const action of ['get', 'update', 'delete']) {
      expect(
        (
          await call(emulator, 'appToken', action, {
            ks,
            id: '0_nothere',
            'appToken[description]': 'x',
          })
        ).json,
      ).toEqual({
        code: 'APP_TOKEN_ID_NOT_FOUND',
        message: 'Application token id "0_nothere" not found',
        objectType: 'KalturaAPIException',
        args: { ID: '0_nothere' },
      });
    }
    const mine = await addToken();
    const otherKs = await ok(emulator, 'session', 'start', {
      secret: OTHER_ADMIN_SECRET,
      partnerId: OTHER_PARTNER_ID,
      type: 2,
    });
    expect((await call(emulator, 'appToken', 'get', { ks: otherKs, id: mine.id })).json.code).toBe(
      'APP_TOKEN_ID_NOT_FOUND',
    );
    expect((await call(emulator, 'appToken', 'get', { ks })).json.code).toBe(
      'MISSING_MANDATORY_PARAMETER',
    );
  });

  it('lists the partner’s tokens with filter and pager', async () => {
    const fresh = await startEmulator(testOptions({ now: clock.now }));
    try {
      const freshKs = await adminKs(fresh);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const body = { ks: freshKs, 'appToken[sessionUserId]': i % 2 ? 'odd' : 'even' };
        ids.push((await ok(fresh, 'appToken', 'add', body)).id);
      }
      await ok(fresh, 'appToken', 'delete', { ks: freshKs, id: ids[0] });

      const all = await ok(fresh, 'appToken', 'list', { ks: freshKs });
      expect(all).toMatchObject({ totalCount: 5, objectType: 'KalturaAppTokenListResponse' });
      expect(Object.keys(all)).toEqual(['objects', 'totalCount', 'objectType']);
      expect(all.objects.map((t: { id: string }) => t.id)).toEqual(ids);

      const active = await ok(fresh, 'appToken', 'list', { ks: freshKs, 'filter[statusEqual]': 2 });
      expect(active.totalCount).toBe(4);
      const odd = await ok(fresh, 'appToken', 'list', {
        ks: freshKs,
        'filter:sessionUserIdEqual': 'odd',
      });
      expect(odd.totalCount).toBe(2);
      const some = await ok(fresh, 'appToken', 'list', {
        ks: freshKs,
        'filter[idIn]': `${ids[1]},${ids[2]}`,
      });
      expect(some.objects).toHaveLength(2);
      const page = await ok(fresh, 'appToken', 'list', {
        ks: freshKs,
        'pager[pageSize]': 2,
        'pager[pageIndex]': 3,
      });
      expect(page).toMatchObject({ totalCount: 5 });
      expect(page.objects.map((t: { id: string }) => t.id)).toEqual([ids[4]]);
      const created = await ok(fresh, 'appToken', 'list', {
        ks: freshKs,
        'filter[createdAtGreaterThanOrEqual]': NOW + 1,
      });
      expect(created.totalCount).toBe(0);
    } finally {
      await fresh.close();
    }
  });
});

describe('appToken.startSession', () => {
  async function start(
    token: { id: string; token: string; hashType?: string },
    fields: Record<string, string | number> = {},
    caller?: string,
  ) {
    const widget = caller ?? (await widgetKs(emulator));
    const hashType = (token.hashType ?? 'SHA1') as 'SHA1';
    return call(emulator, 'appToken', 'startSession', {
      ks: widget,
      id: token.id,
      tokenHash: appTokenHash(widget, token.token, hashType),
      ...fields,
    });
  }

  it('returns a KalturaSessionInfo with the KS and what it holds', async () => {
    const token = await addToken({ sessionDuration: 900 });
    const { json } = await start(token, { userId: 'viewer' });
    expect(Object.keys(json)).toEqual([
      'ks',
      'sessionType',
      'partnerId',
      'userId',
      'expiry',
      'privileges',
      'objectType',
    ]);
    expect(json).toMatchObject({
      sessionType: 0,
      partnerId: PARTNER_ID,
      userId: 'viewer',
      expiry: NOW + 900,
      privileges: `sessionid:${token.id},apptoken:${token.id}`,
      objectType: 'KalturaSessionInfo',
    });
    expect(verifyKs(json.ks, { secrets: ADMIN_SECRET, now: clock.now })).toMatchObject({
      type: 0,
      userId: 'viewer',
      validUntil: NOW + 900,
      privileges: `sessionid:${token.id},apptoken:${token.id}`,
    });
  });

  it('accepts a user KS too, and leaves userId out when neither side sets it', async () => {
    const token = await addToken();
    const { json } = await start(token, {}, await userKs(emulator));
    expect(json.objectType).toBe('KalturaSessionInfo');
    expect('userId' in json).toBe(false);
  });

  it('answers INVALID_APP_TOKEN_HASH for a wrong, upper-case or other-KS hash', async () => {
    const token = await addToken();
    const widget = await widgetKs(emulator);
    const right = appTokenHash(widget, token.token);
    for (const tokenHash of [
      '0'.repeat(40),
      right.toUpperCase(),
      appTokenHash(await widgetKs(emulator), token.token, 'SHA256'),
    ]) {
      expect(
        (await call(emulator, 'appToken', 'startSession', { ks: widget, id: token.id, tokenHash }))
          .json,
      ).toEqual({
        code: 'INVALID_APP_TOKEN_HASH',
        message: 'Invalid application token hash',
        objectType: 'KalturaAPIException',
        args: [],
      });
    }
  });

  it('answers APP_TOKEN_ID_NOT_FOUND, APP_TOKEN_NOT_ACTIVE and APP_TOKEN_EXPIRED', async () => {
    expect((await start({ id: '0_missing0', token: 'x' })).json.code).toBe(
      'APP_TOKEN_ID_NOT_FOUND',
    );
    const deleted = await addToken();
    await ok(emulator, 'appToken', 'delete', { ks, id: deleted.id });
    expect((await start(deleted)).json).toEqual({
      code: 'APP_TOKEN_NOT_ACTIVE',
      message: `Application token id "${deleted.id}" not active`,
      objectType: 'KalturaAPIException',
      args: { ID: deleted.id },
    });
    const expired = await addToken({ expiry: NOW - 1 });
    expect((await start(expired)).json).toMatchObject({
      code: 'APP_TOKEN_EXPIRED',
      args: { ID: expired.id },
    });
  });

  it('needs a KS and the mandatory parameters', async () => {
    const token = await addToken();
    expect(
      (await call(emulator, 'appToken', 'startSession', { id: token.id, tokenHash: 'x' })).json
        .code,
    ).toBe('MISSING_KS');
    expect(
      (
        await call(emulator, 'appToken', 'startSession', {
          partnerId: PARTNER_ID,
          id: token.id,
          tokenHash: 'x',
        })
      ).json,
    ).toMatchObject({
      code: 'SERVICE_FORBIDDEN',
      args: { SERVICE: 'apptoken->startsession' },
    });
    expect(
      (
        await call(emulator, 'appToken', 'startSession', {
          ks: await widgetKs(emulator),
          id: token.id,
        })
      ).json,
    ).toMatchObject({
      code: 'MISSING_MANDATORY_PARAMETER',
      args: { PARAM_NAME: 'tokenHash' },
    });
  });

  it('refuses a caller user id that would inject fields', async () => {
    const token = await addToken();
    expect((await start(token, { userId: 'x;disableentitlement' })).json).toMatchObject({
      code: 'INVALID_FIELD_VALUE',
      args: { FIELD_NAME: 'userId' },
    });
  });

  it('signs with the partner’s admin secret whatever the type', async () => {
    const token = await addToken({ sessionType: 2 });
    const { json } = await start(token);
    expect(verifyKs(json.ks, { secrets: ADMIN_SECRET, now: clock.now }).type).toBe(2);
  });
});

describe('mergeAppTokenPrivileges (spec §9.7 step 5)', () => {
  it('follows the spec example', () => {
    expect(mergeAppTokenPrivileges('0_tk', 'edit:*,custom:x', 'edit:0_e1,foo:bar,list:*')).toBe(
      'sessionid:0_tk,apptoken:0_tk,edit:0_e1,custom:x,foo:bar',
    );
  });

  it('never lets a caller replace sessionid or apptoken, nor values the token set without *', () => {
    expect(
      mergeAppTokenPrivileges(
        '0_tk',
        'custom:x,sview:0_a',
        'sessionid:evil,apptoken:evil,custom:y,sview:0_b,new',
      ),
    ).toBe('sessionid:0_tk,apptoken:0_tk,custom:x,sview:0_a,new');
    expect(mergeAppTokenPrivileges('0_tk', null, undefined)).toBe('sessionid:0_tk,apptoken:0_tk');
    expect(mergeAppTokenPrivileges('0_tk', 'edit:a,edit:b', ' extra:1')).toBe(
      'sessionid:0_tk,apptoken:0_tk,edit:a/b,extra:1',
    );
  });
});
