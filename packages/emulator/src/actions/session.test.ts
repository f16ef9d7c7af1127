import { createKs, KsType, verifyKs } from '@kaltura-ks/core';
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
  USER_SECRET,
  userKs,
  widgetKs,
} from '../test-utils/harness.js';

const clock = testClock();
let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator(
    testOptions({
      now: clock.now,
      partners: [
        {
          id: PARTNER_ID,
          adminSecret: ADMIN_SECRET,
          userSecret: USER_SECRET,
          additionalAdminSecrets: ['second-admin-secret'],
          maxKsExpirySeconds: 7200,
        },
        {
          id: OTHER_PARTNER_ID,
          adminSecret: OTHER_ADMIN_SECRET,
          userSecret: 'other-user',
          ksVersion: 1,
        },
      ],
    }),
  );
});
afterAll(() => emulator.close());

const verify = (ks: string, secrets: string | string[] = ADMIN_SECRET) =>
  verifyKs(ks, { secrets, now: clock.now });

describe('session.start', () => {
  it('starts an ADMIN session with the admin secret, signed with it, clamped to the partner maximum', async () => {
    const ks = await ok(emulator, 'session', 'start', {
      secret: ADMIN_SECRET,
      partnerId: PARTNER_ID,
      type: 2,
      userId: 'bob',
      privileges: 'edit:*,appid:demo',
    });
    expect(typeof ks).toBe('string');
    // The partner's maximum is 7200 s: the default 86400 is clamped.
    expect(verify(ks)).toMatchObject({
      version: 2,
      partnerId: PARTNER_ID,
      userId: 'bob',
      type: KsType.ADMIN,
      privileges: 'edit:*,appid:demo',
      validUntil: START_MS / 1000 + 7200,
    });
  });

  it('starts a USER session with the user secret, signed with the admin secret, default type 0', async () => {
    const ks = await ok(emulator, 'session', 'start', {
      secret: USER_SECRET,
      partnerId: PARTNER_ID,
      expiry: 60,
    });
    expect(verify(ks)).toMatchObject({ type: 0, userId: '', validUntil: START_MS / 1000 + 60 });
  });

  it('accepts an additional admin secret and signs an ADMIN KS with that exact secret', async () => {
    const ks = await ok(emulator, 'session', 'start', {
      secret: 'second-admin-secret',
      partnerId: PARTNER_ID,
      type: 2,
    });
    expect(() => verifyKs(ks, { secrets: ADMIN_SECRET, now: clock.now })).toThrow();
    expect(verify(ks, 'second-admin-secret').type).toBe(2);
    const user = await ok(emulator, 'session', 'start', {
      secret: 'second-admin-secret',
      partnerId: PARTNER_ID,
    });
    expect(verify(user).type).toBe(0);
  });

  it('issues KS v1 for a v1 partner', async () => {
    const ks = await ok(emulator, 'session', 'start', {
      secret: OTHER_ADMIN_SECRET,
      partnerId: OTHER_PARTNER_ID,
    });
    expect(verify(ks, OTHER_ADMIN_SECRET).version).toBe(1);
  });

  it('gives an already expired KS for expiry=0, as Kaltura does', async () => {
    const ks = await ok(emulator, 'session', 'start', {
      secret: ADMIN_SECRET,
      partnerId: PARTNER_ID,
      expiry: 0,
    });
    expect(() => verify(ks)).toThrow(/expired/);
  });

  it('refuses a wrong secret, the user secret for an ADMIN session and an unknown partner with START_SESSION_ERROR', async () => {
    for (const fields of [
      { secret: 'wrong', partnerId: PARTNER_ID },
      { secret: USER_SECRET, partnerId: PARTNER_ID, type: 2 },
      { secret: ADMIN_SECRET, partnerId: 999 },
    ]) {
      const { status, json } = await call(emulator, 'session', 'start', fields);
      expect(status).toBe(200);
      expect(json).toEqual({
        code: 'START_SESSION_ERROR',
        message: `Error while starting session for partner [${fields.partnerId}]`,
        objectType: 'KalturaAPIException',
        args: { PID: String(fields.partnerId) },
      });
      expect(Object.keys(json)).toEqual(['code', 'message', 'objectType', 'args']);
    }
  });

  it('answers MISSING_KS without any partner, MISSING_MANDATORY_PARAMETER without a secret', async () => {
    expect((await call(emulator, 'session', 'start', { secret: ADMIN_SECRET })).json).toEqual({
      code: 'MISSING_KS',
      message: 'Missing KS, session not established',
      objectType: 'KalturaAPIException',
      args: [],
    });
    expect(
      (await call(emulator, 'session', 'start', { partnerId: PARTNER_ID })).json,
    ).toMatchObject({
      code: 'MISSING_MANDATORY_PARAMETER',
      message: 'Missing parameter "secret"',
      args: { PARAM_NAME: 'secret' },
    });
  });

  it('refuses type 1 and non-numbers with INVALID_ENUM_VALUE', async () => {
    for (const type of ['1', 'admin']) {
      const { json } = await call(emulator, 'session', 'start', {
        secret: ADMIN_SECRET,
        partnerId: PARTNER_ID,
        type,
      });
      expect(json).toEqual({
        code: 'INVALID_ENUM_VALUE',
        message: `Invalid enumeration value "${type}" for parameter "type", expecting enumeration type "KalturaSessionType"`,
        objectType: 'KalturaAPIException',
        args: { ENUM_VAL: type, PARAM_NAME: 'type', ENUM_TYPE: 'KalturaSessionType' },
      });
    }
  });

  it('refuses to mint a KS whose user id or privileges could be injected (INVALID_FIELD_VALUE)', async () => {
    const base = { secret: OTHER_ADMIN_SECRET, partnerId: OTHER_PARTNER_ID };
    const { json } = await call(emulator, 'session', 'start', {
      ...base,
      userId: 'mallory;disableentitlement,edit:*',
    });
    expect(json).toMatchObject({ code: 'INVALID_FIELD_VALUE', args: { FIELD_NAME: 'userId' } });
    const bad = await call(emulator, 'session', 'start', { ...base, privileges: 'edit:*;x' });
    expect(bad.json).toMatchObject({
      code: 'INVALID_FIELD_VALUE',
      args: { FIELD_NAME: 'privileges' },
    });
  });

  it('validates actionslimit and setrole at start', async () => {
    const base = { secret: ADMIN_SECRET, partnerId: PARTNER_ID };
    expect(
      (await call(emulator, 'session', 'start', { ...base, privileges: 'actionslimit:x' })).json
        .code,
    ).toBe('INVALID_ACTIONS_LIMIT');
    expect(
      (await call(emulator, 'session', 'start', { ...base, privileges: 'setrole:-3' })).json.code,
    ).toBe('INVALID_SET_ROLE');
  });

  it('fails when the request carries a stale KS, even for session.start', async () => {
    const revoked = await adminKs(emulator);
    await ok(emulator, 'session', 'end', { ks: revoked });
    const { json } = await call(emulator, 'session', 'start', {
      ks: revoked,
      secret: ADMIN_SECRET,
      partnerId: PARTNER_ID,
    });
    expect(json).toMatchObject({
      code: 'INVALID_KS',
      args: { KSID: 'LOGOUT', ERR_CODE: '-1', ERR_DESC: 'INVALID_STR' },
    });
  });
});

describe('session.startWidgetSession', () => {
  it('starts an anonymous widget session for `_<partnerId>`', async () => {
    const { text, json } = await call(emulator, 'session', 'startWidgetSession', {
      widgetId: `_${PARTNER_ID}`,
      expiry: 600,
    });
    expect(Object.keys(json)).toEqual(['partnerId', 'ks', 'userId', 'objectType']);
    expect(json).toMatchObject({
      partnerId: PARTNER_ID,
      userId: 0,
      objectType: 'KalturaStartWidgetSessionResponse',
    });
    expect(text).toContain('"userId":0');
    expect(verify(json.ks)).toMatchObject({
      type: 0,
      userId: '0',
      privileges: 'view:*,widget:1',
      validUntil: START_MS / 1000 + 600,
    });
  });

  it('answers INVALID_WIDGET_ID for other widgets and MISSING_MANDATORY_PARAMETER without one', async () => {
    expect(
      (await call(emulator, 'session', 'startWidgetSession', { widgetId: '_999' })).json,
    ).toEqual({
      code: 'INVALID_WIDGET_ID',
      message: 'Unknown widget [_999]',
      objectType: 'KalturaAPIException',
      args: { WIDGET_ID: '_999' },
    });
    expect((await call(emulator, 'session', 'startWidgetSession')).json.code).toBe(
      'MISSING_MANDATORY_PARAMETER',
    );
  });
});

describe('session.get', () => {
  it('reads the request KS back, with string values as Kaltura reports them', async () => {
    const ks = await adminKs(emulator, { userId: 'carol', privileges: 'sview:*', expiry: 100 });
    const { json } = await call(emulator, 'session', 'get', { ks });
    expect(json).toEqual({
      sessionType: '2',
      partnerId: String(PARTNER_ID),
      userId: 'carol',
      expiry: String(START_MS / 1000 + 100),
      privileges: 'sview:*',
      objectType: 'KalturaSessionInfo',
    });
  });

  it('reads another KS of the partner, expired or not', async () => {
    const ks = await adminKs(emulator);
    const user = await userKs(emulator, { userId: 'dave', expiry: 0 });
    expect((await call(emulator, 'session', 'get', { ks, session: user })).json).toMatchObject({
      userId: 'dave',
      sessionType: '0',
    });
  });

  it('needs an ADMIN KS: SERVICE_FORBIDDEN for a user KS (with Kaltura headers), MISSING_KS without one', async () => {
    const { json, headers } = await call(emulator, 'session', 'get', {
      ks: await userKs(emulator),
    });
    expect(json).toEqual({
      code: 'SERVICE_FORBIDDEN',
      message: 'The access to service [session->get] is forbidden',
      objectType: 'KalturaAPIException',
      args: { SERVICE: 'session->get' },
    });
    expect(headers.get('x-kaltura')).toBe('error-SERVICE_FORBIDDEN');
    expect(
      (await call(emulator, 'session', 'get', { ks: await widgetKs(emulator) })).json.code,
    ).toBe('SERVICE_FORBIDDEN');
    expect((await call(emulator, 'session', 'get')).json.code).toBe('MISSING_KS');
    expect((await call(emulator, 'session', 'get', { partnerId: PARTNER_ID })).json.code).toBe(
      'SERVICE_FORBIDDEN',
    );
  });

  it('answers PARTNER_ACCESS_FORBIDDEN across partners and INTERNAL_SERVERL_ERROR for an unreadable session', async () => {
    const ks = await adminKs(emulator);
    const other = createKs({
      secret: OTHER_ADMIN_SECRET,
      partnerId: OTHER_PARTNER_ID,
      now: clock.now,
    });
    expect((await call(emulator, 'session', 'get', { ks, session: other })).json).toMatchObject({
      code: 'PARTNER_ACCESS_FORBIDDEN',
      args: { ACCESSING_PID: String(PARTNER_ID), ACCESSED_PID: String(OTHER_PARTNER_ID) },
    });
    expect((await call(emulator, 'session', 'get', { ks, session: 'not-a-ks' })).json).toEqual({
      code: 'INTERNAL_SERVERL_ERROR',
      message: 'Internal server error occurred',
      objectType: 'KalturaAPIException',
      args: [],
    });
  });
});

describe('KS validation on every request', () => {
  it('answers INVALID_KS for a forged or unreadable KS without echoing it', async () => {
    const forged = createKs({
      secret: 'not-the-secret',
      partnerId: PARTNER_ID,
      type: 2,
      now: clock.now,
    });
    for (const ks of [
      forged,
      'garbage!',
      createKs({ secret: 'x', partnerId: 31337, now: clock.now }),
    ]) {
      const { json, text } = await call(emulator, 'session', 'get', { ks });
      expect(json).toEqual({
        code: 'INVALID_KS',
        message: 'Invalid KS "[redacted]", Error "-1,INVALID_STR"',
        objectType: 'KalturaAPIException',
        args: { KSID: '[redacted]', ERR_CODE: '-1', ERR_DESC: 'INVALID_STR' },
      });
      expect(text).not.toContain(ks);
    }
  });

  it('answers INVALID_KS "EXPIRED" once the KS expires (now >= validUntil)', async () => {
    const ks = await adminKs(emulator, { expiry: 30 });
    clock.advanceSeconds(29);
    expect((await call(emulator, 'session', 'get', { ks })).json.objectType).toBe(
      'KalturaSessionInfo',
    );
    clock.advanceSeconds(1);
    expect((await call(emulator, 'session', 'get', { ks })).json).toMatchObject({
      code: 'INVALID_KS',
      message: 'Invalid KS "EXPIRED", Error "-1,INVALID_STR"',
      args: { KSID: 'EXPIRED' },
    });
    clock.set(START_MS);
  });

  it('enforces iprestrict, urirestrict and actionslimit', async () => {
    const elsewhere = await adminKs(emulator, { privileges: 'iprestrict:10.9.9.9' });
    expect((await call(emulator, 'system', 'ping', { ks: elsewhere })).json.args.KSID).toBe(
      'EXCEEDED_RESTRICTED_IP',
    );
    const here = await adminKs(emulator, { privileges: 'iprestrict:127.0.0.1' });
    expect((await call(emulator, 'system', 'ping', { ks: here })).json).toBe(true);

    const pingOnly = await adminKs(emulator, {
      privileges: 'urirestrict:/api_v3/service/system/*',
    });
    expect((await call(emulator, 'system', 'ping', { ks: pingOnly })).json).toBe(true);
    expect((await call(emulator, 'session', 'get', { ks: pingOnly })).json.args.KSID).toBe(
      'EXCEEDED_RESTRICTED_URI',
    );

    const twice = await adminKs(emulator, { privileges: 'actionslimit:2' });
    expect((await call(emulator, 'system', 'ping', { ks: twice })).json).toBe(true);
    expect((await call(emulator, 'system', 'ping', { ks: twice })).json).toBe(true);
    expect((await call(emulator, 'system', 'ping', { ks: twice })).json.args.KSID).toBe(
      'EXCEEDED_ACTIONS_LIMIT',
    );
  });
});

describe('session.end', () => {
  it('revokes the KS everywhere and answers null', async () => {
    const ks = await adminKs(emulator);
    expect((await call(emulator, 'baseEntry', 'list', { ks })).json.totalCount).toBe(3);
    const { text } = await call(emulator, 'session', 'end', { ks });
    expect(text).toBe('null');
    for (const [service, action] of [
      ['baseEntry', 'list'],
      ['session', 'get'],
      ['system', 'ping'],
    ] as const) {
      expect((await call(emulator, service, action, { ks })).json).toMatchObject({
        code: 'INVALID_KS',
        args: { KSID: 'LOGOUT' },
      });
    }
    // Other sessions are untouched.
    expect(
      (await call(emulator, 'baseEntry', 'list', { ks: await adminKs(emulator) })).json.totalCount,
    ).toBe(3);
  });

  it('cannot revoke a widget session (Kaltura never checks those)', async () => {
    const ks = await widgetKs(emulator);
    await ok(emulator, 'session', 'end', { ks });
    expect((await call(emulator, 'baseEntry', 'list', { ks })).json.totalCount).toBe(3);
  });

  it('is a no-op without a KS when a partner is named, MISSING_KS otherwise', async () => {
    expect((await call(emulator, 'session', 'end', { partnerId: PARTNER_ID })).text).toBe('null');
    expect((await call(emulator, 'session', 'end')).json.code).toBe('MISSING_KS');
  });
});
