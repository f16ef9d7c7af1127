import { inspect } from 'node:util';
import {
  AppTokenHashType,
  appTokenHash,
  KalturaApiError,
  KsError,
  KsType,
  verifyKs,
} from '@kaltura-ks/core';
import {
  createKalturaClient,
  KalturaAppTokenStatus,
  type KalturaClient,
  type KalturaClientEvent,
  type KalturaClientOptions,
} from '@kaltura-ks/core/client';
import { type Emulator, startEmulator } from '@kaltura-ks/emulator';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

/**
 * The Kaltura API client against the emulator on loopback: every action, the app-token
 * lifecycle, Kaltura's errors, and retries and timeouts against the emulator's faults.
 * The emulator and the clients share one fake clock; only the hung-request and flood
 * tests let a real timer (≤ 300 ms) run, because a socket must actually time out.
 */

const PARTNER_ID = 3101;
const ADMIN_SECRET = 'client-live-admin-secret-7f3a9c1e5b';
const USER_SECRET = 'client-live-user-secret-2d8e4a6c0f';
const PASSWORD = 'correct horse battery staple 42';
const ADMIN_PASSWORD = 'admin password never echoed 9';
const START = 1_800_000_000_000;
/** Not a KS any partner could have made: Kaltura cannot read it. */
const GARBAGE_KS = 'djJ8MzEwMXxub3QtYS1yZWFsLWtzLWF0LWFsbA';

let t = START;
const now = () => t;
const nowSeconds = () => Math.floor(t / 1000);
const noSleep = async () => {};

let emulator: Emulator;
let adminKs: string;
const clients: KalturaClient[] = [];

/** Every credential seen in this file: none may appear in any error. */
const credentials = new Set<string>([ADMIN_SECRET, USER_SECRET, PASSWORD, ADMIN_PASSWORD]);
/** Every error provoked in this file, re-checked at the end against every credential. */
const provoked: unknown[] = [];

function keep<T extends string>(credential: T): T {
  credentials.add(credential);
  return credential;
}

function leaked(error: unknown): string[] {
  const views = [inspect(error, { depth: 10 }), JSON.stringify(error)];
  if (error instanceof KalturaApiError)
    views.push(error.kalturaMessage, JSON.stringify(error.args));
  return [...credentials].filter((credential) => views.some((view) => view.includes(credential)));
}

function checkError(error: unknown): void {
  provoked.push(error);
  expect(leaked(error)).toEqual([]);
}

async function failure(promise: Promise<unknown>): Promise<KsError> {
  const error = await promise.then(
    () => 'resolved instead of rejecting',
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KsError);
  checkError(error);
  return error as KsError;
}

async function apiFailure(
  promise: Promise<unknown>,
  kalturaCode: string,
): Promise<KalturaApiError> {
  const error = await failure(promise);
  expect(error).toBeInstanceOf(KalturaApiError);
  expect(error).toMatchObject({ code: 'ERR_KS_API', kalturaCode, status: 200 });
  expect(error.message).toContain(`[${kalturaCode}]`);
  return error as KalturaApiError;
}

function client(options: Partial<KalturaClientOptions> = {}): KalturaClient {
  const created = createKalturaClient({
    serviceUrl: emulator.url,
    partnerId: PARTNER_ID,
    now,
    sleep: noSleep,
    ...options,
  });
  clients.push(created);
  return created;
}

function verify(ks: string) {
  return verifyKs(ks, { secrets: ADMIN_SECRET, partnerId: PARTNER_ID, now });
}

function calls(key: string): number {
  return emulator.stats()[key] ?? 0;
}

/** What `curl -d` would send: a form POST with `format=1`. */
async function curl(
  service: string,
  action: string,
  params: Record<string, string | number>,
): Promise<unknown> {
  const body = new URLSearchParams({ format: '1' });
  for (const [name, value] of Object.entries(params)) body.set(name, String(value));
  const response = await fetch(`${emulator.url}/service/${service}/action/${action}`, {
    method: 'POST',
    body,
  });
  expect(response.status).toBe(200);
  return response.json();
}

beforeAll(async () => {
  emulator = await startEmulator({
    partners: [{ id: PARTNER_ID, adminSecret: ADMIN_SECRET, userSecret: USER_SECRET }],
    users: [
      {
        partnerId: PARTNER_ID,
        loginId: 'editor@example.com',
        password: PASSWORD,
        userId: 'editor',
      },
      {
        partnerId: PARTNER_ID,
        loginId: 'admin@example.com',
        password: ADMIN_PASSWORD,
        userId: 'admin',
        isAdmin: true,
      },
    ],
    now,
  });
  adminKs = keep(
    await client().session.start({ secret: ADMIN_SECRET, type: KsType.ADMIN, userId: 'ops' }),
  );
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await emulator.close();
});

beforeEach(() => {
  emulator.resetStats();
});

afterEach(() => {
  emulator.faults.clear();
});

describe('the client against a live emulator: every action', () => {
  it('system.ping and system.getTime (Kaltura’s clock, in seconds)', async () => {
    const kaltura = client();
    expect(await kaltura.system.ping()).toBe(true);
    expect(await kaltura.system.getTime()).toBe(nowSeconds());
    expect(emulator.stats()).toMatchObject({ 'system.ping': 1, 'system.getTime': 1, total: 2 });
  });

  it('session.start makes ADMIN and USER sessions that session.get reads back', async () => {
    const kaltura = client();
    const admin = keep(
      await kaltura.session.start({
        secret: ADMIN_SECRET,
        type: KsType.ADMIN,
        userId: 'ops',
        expiresInSeconds: 7200,
        privileges: 'disableentitlement',
      }),
    );
    expect(verify(admin)).toMatchObject({
      partnerId: PARTNER_ID,
      userId: 'ops',
      type: KsType.ADMIN,
      privileges: 'disableentitlement',
      validUntil: nowSeconds() + 7200,
    });
    const user = keep(
      await kaltura.session.start({
        secret: USER_SECRET,
        userId: 'viewer',
        privileges: { sview: '0_emu00001' },
      }),
    );
    expect(verify(user)).toMatchObject({ userId: 'viewer', type: KsType.USER });
    // Numbers Kaltura sends as strings are normalised.
    expect(await kaltura.session.get({ session: user }, { ks: admin })).toEqual({
      partnerId: PARTNER_ID,
      userId: 'viewer',
      expiry: nowSeconds() + 86_400,
      sessionType: KsType.USER,
      privileges: 'sview:0_emu00001',
    });
    expect(await kaltura.session.get(undefined, { ks: admin })).toMatchObject({
      userId: 'ops',
      sessionType: KsType.ADMIN,
    });
  });

  it('session.startWidgetSession gives the partner’s anonymous widget KS', async () => {
    const kaltura = client();
    const widget = await kaltura.session.startWidgetSession({ expiresInSeconds: 600 });
    keep(widget.ks);
    expect(widget).toEqual({ partnerId: PARTNER_ID, ks: expect.any(String), userId: '0' });
    expect(verify(widget.ks)).toMatchObject({
      userId: '0',
      type: KsType.USER,
      privileges: 'view:*,widget:1',
      validUntil: nowSeconds() + 600,
    });
  });

  it('session.end revokes the KS: Kaltura then refuses it with INVALID_KS, never retried', async () => {
    const kaltura = client();
    const ks = keep(await kaltura.session.start({ secret: USER_SECRET, userId: 'leaver' }));
    expect(await kaltura.request('baseEntry', 'list', undefined, { ks })).toMatchObject({
      totalCount: 3,
    });
    await expect(kaltura.session.end({ ks })).resolves.toBeUndefined();
    emulator.resetStats();
    const refused = await apiFailure(
      kaltura.request('baseEntry', 'list', undefined, { ks, idempotent: true }),
      'INVALID_KS',
    );
    expect(refused.args).toEqual({ KSID: 'LOGOUT', ERR_CODE: '-1', ERR_DESC: 'INVALID_STR' });
    expect(refused).toMatchObject({ service: 'baseEntry', action: 'list' });
    expect(calls('baseEntry.list')).toBe(1);
    await apiFailure(kaltura.session.end({ ks }), 'INVALID_KS');
    expect(calls('session.end')).toBe(1);
  });

  it('user.loginByLoginId: USER and ADMIN sessions; any failure is USER_WRONG_PASSWORD, sent once', async () => {
    const kaltura = client();
    const editor = keep(
      await kaltura.user.loginByLoginId({ loginId: 'editor@example.com', password: PASSWORD }),
    );
    expect(verify(editor)).toMatchObject({ userId: 'editor', type: KsType.USER, privileges: '*' });
    const admin = keep(
      await kaltura.user.loginByLoginId({
        loginId: 'admin@example.com',
        password: ADMIN_PASSWORD,
        privileges: { sview: '*' },
        expiresInSeconds: 60,
      }),
    );
    expect(verify(admin)).toMatchObject({
      userId: 'admin',
      type: KsType.ADMIN,
      privileges: 'sview:*',
      validUntil: nowSeconds() + 60,
    });
    const wrong = keep('not the password at all');
    const refused = await apiFailure(
      kaltura.user.loginByLoginId({ loginId: 'editor@example.com', password: wrong }),
      'USER_WRONG_PASSWORD',
    );
    expect(refused.args).toEqual({});
    await apiFailure(
      kaltura.user.loginByLoginId({ loginId: 'nobody@example.com', password: wrong }),
      'USER_WRONG_PASSWORD',
    );
    expect(calls('user.loginByLoginId')).toBe(4);
  });

  for (const hashType of Object.values(AppTokenHashType)) {
    it(`the appToken lifecycle with ${hashType}: add, get, list, update, startSession, delete`, async () => {
      const kaltura = client({ ks: adminKs });
      const token = await kaltura.appToken.add({
        hashType,
        sessionPrivileges: 'sview:*',
        description: `live ${hashType}`,
      });
      keep(token.token);
      expect(token).toEqual({
        id: expect.stringMatching(/^0_[0-9a-z]{8}$/),
        token: expect.stringMatching(/^[0-9a-f]{32}$/),
        partnerId: PARTNER_ID,
        createdAt: nowSeconds(),
        updatedAt: nowSeconds(),
        status: KalturaAppTokenStatus.ACTIVE,
        sessionDuration: 86_400,
        sessionPrivileges: 'sview:*',
        hashType,
        description: `live ${hashType}`,
      });
      expect(await kaltura.appToken.get(token.id)).toEqual(token);
      expect(await kaltura.appToken.list({ idEqual: token.id }, { pageSize: 5 })).toEqual({
        objects: [token],
        totalCount: 1,
      });
      const updated = await kaltura.appToken.update(token.id, {
        description: 'updated',
        sessionDuration: 1800,
      });
      expect(updated).toEqual({ ...token, description: 'updated', sessionDuration: 1800 });

      // By hand: a widget session, the token hash over it, appToken.startSession with it.
      const widget = await kaltura.session.startWidgetSession();
      keep(widget.ks);
      const tokenHash = keep(appTokenHash(widget.ks, token.token, hashType));
      const info = await kaltura.appToken.startSession(
        {
          id: token.id,
          tokenHash,
          userId: 'viewer',
          type: KsType.USER,
          expiresInSeconds: 600,
          sessionPrivileges: { sview: '0_emu00001' },
        },
        { ks: widget.ks },
      );
      keep(info.ks);
      const narrowed = `sessionid:${token.id},apptoken:${token.id},sview:0_emu00001`;
      expect(info).toEqual({
        ks: expect.any(String),
        partnerId: PARTNER_ID,
        userId: 'viewer',
        expiry: nowSeconds() + 600,
        sessionType: KsType.USER,
        privileges: narrowed,
      });
      expect(verify(info.ks)).toMatchObject({
        userId: 'viewer',
        type: KsType.USER,
        privileges: narrowed,
        validUntil: nowSeconds() + 600,
      });

      // The client's own flow; the token's duration caps the expiry.
      const lower = hashType.toLowerCase() as Lowercase<AppTokenHashType>;
      const flow = await kaltura.startAppTokenSession({
        appTokenId: token.id,
        appTokenValue: token.token,
        hashType: lower,
        userId: 'alice',
        privileges: { sview: '*' },
      });
      keep(flow.ks);
      expect(flow).toMatchObject({
        userId: 'alice',
        sessionType: KsType.USER,
        expiry: nowSeconds() + 1800,
        privileges: `sessionid:${token.id},apptoken:${token.id},sview:*`,
      });
      expect(await kaltura.request('baseEntry', 'list', undefined, { ks: flow.ks })).toMatchObject({
        totalCount: 3,
      });
      const other = hashType === 'SHA512' ? 'SHA1' : 'SHA512';
      await apiFailure(
        kaltura.startAppTokenSession({
          appTokenId: token.id,
          appTokenValue: token.token,
          hashType: other,
        }),
        'INVALID_APP_TOKEN_HASH',
      );

      // Deleting the token stops it and revokes every KS it issued.
      await expect(kaltura.appToken.delete(token.id)).resolves.toBeUndefined();
      expect(await kaltura.appToken.get(token.id)).toMatchObject({
        status: KalturaAppTokenStatus.DELETED,
      });
      const notActive = await apiFailure(
        kaltura.startAppTokenSession({
          appTokenId: token.id,
          appTokenValue: token.token,
          hashType,
        }),
        'APP_TOKEN_NOT_ACTIVE',
      );
      expect(notActive.args).toEqual({ ID: token.id });
      for (const ks of [info.ks, flow.ks]) {
        const revoked = await apiFailure(
          kaltura.request('baseEntry', 'list', undefined, { ks }),
          'INVALID_KS',
        );
        expect(revoked.args.KSID).toBe('LOGOUT');
      }
      const active = await kaltura.appToken.list({
        idIn: [token.id],
        statusEqual: KalturaAppTokenStatus.ACTIVE,
      });
      expect(active).toEqual({ objects: [], totalCount: 0 });
    });
  }

  it('request() sends any action; multirequest() answers each item, errors included', async () => {
    const kaltura = client({ ks: adminKs });
    expect(
      await kaltura.request('baseEntry', 'list', {
        filter: { objectType: 'KalturaBaseEntryFilter', idIn: '0_emu00001,0_emu00003' },
        pager: { pageSize: 1 },
      }),
    ).toMatchObject({
      objectType: 'KalturaBaseEntryListResponse',
      totalCount: 2,
      objects: [{ id: '0_emu00001', objectType: 'KalturaMediaEntry' }],
    });

    const userKs = keep(await kaltura.session.start({ secret: USER_SECRET, userId: 'multi' }));
    emulator.resetStats();
    const results = await kaltura.multirequest([
      { service: 'system', action: 'ping' },
      { service: 'session', action: 'get' },
      { service: 'appToken', action: 'get', params: { id: '0_missing0' } },
      {
        service: 'baseEntry',
        action: 'list',
        params: { filter: { idEqual: '0_emu00002' } },
        ks: userKs,
      },
      { service: 'appToken', action: 'list', ks: userKs },
    ]);
    expect(results).toHaveLength(5);
    expect(results[0]).toEqual({ ok: true, value: true });
    expect(results[1]).toMatchObject({
      ok: true,
      value: { userId: 'ops', sessionType: '2', objectType: 'KalturaSessionInfo' },
    });
    expect(results[3]).toMatchObject({
      ok: true,
      value: { totalCount: 1, objects: [{ id: '0_emu00002' }] },
    });
    const missing = results[2];
    const forbidden = results[4];
    if (missing?.ok !== false || forbidden?.ok !== false) throw new Error('expected two errors');
    expect(missing.error).toBeInstanceOf(KalturaApiError);
    expect(missing.error).toMatchObject({
      code: 'ERR_KS_API',
      kalturaCode: 'APP_TOKEN_ID_NOT_FOUND',
      args: { ID: '0_missing0' },
      service: 'appToken',
      action: 'get',
    });
    expect(forbidden.error).toMatchObject({
      kalturaCode: 'SERVICE_FORBIDDEN',
      args: { SERVICE: 'apptoken->list' },
    });
    checkError(missing.error);
    checkError(forbidden.error);
    expect(emulator.stats()).toMatchObject({
      total: 1,
      multirequest: 1,
      'system.ping': 1,
      'appToken.get': 1,
    });
  });

  it('every Kaltura error is a typed KalturaApiError with Kaltura’s code and arguments', async () => {
    const kaltura = client({ ks: adminKs });
    const anonymous = client();
    const userKs = keep(await anonymous.session.start({ secret: USER_SECRET, userId: 'u' }));
    const widgetKs = keep((await anonymous.session.startWidgetSession()).ks);
    const shortLived = keep(
      await anonymous.session.start({
        secret: ADMIN_SECRET,
        type: KsType.ADMIN,
        expiresInSeconds: 30,
      }),
    );
    const token = await kaltura.appToken.add({ hashType: 'SHA256' });
    const deleted = await kaltura.appToken.add({});
    const expiring = await kaltura.appToken.add({ expiry: nowSeconds() + 60 });
    for (const each of [token, deleted, expiring]) keep(each.token);
    await kaltura.appToken.delete(deleted.id);
    t += 61_000;
    const wrongSecret = keep('a-wrong-secret-of-some-length-0000');
    const wrongToken = keep('f'.repeat(32));

    const cases: [string, () => Promise<unknown>, string, Record<string, string>][] = [
      [
        'an unreadable KS',
        () => anonymous.session.get(undefined, { ks: GARBAGE_KS }),
        'INVALID_KS',
        { KSID: '[redacted]', ERR_CODE: '-1', ERR_DESC: 'INVALID_STR' },
      ],
      [
        'an expired KS',
        () => anonymous.session.get(undefined, { ks: shortLived }),
        'INVALID_KS',
        { KSID: 'EXPIRED', ERR_CODE: '-1', ERR_DESC: 'INVALID_STR' },
      ],
      [
        'a wrong secret',
        () => anonymous.session.start({ secret: wrongSecret }),
        'START_SESSION_ERROR',
        { PID: String(PARTNER_ID) },
      ],
      [
        'the user secret for an ADMIN session',
        () => anonymous.session.start({ secret: USER_SECRET, type: KsType.ADMIN }),
        'START_SESSION_ERROR',
        { PID: String(PARTNER_ID) },
      ],
      [
        'an unknown partner',
        () => anonymous.session.start({ secret: ADMIN_SECRET, partnerId: 999_999 }),
        'START_SESSION_ERROR',
        { PID: '999999' },
      ],
      [
        'an unknown app token',
        () => kaltura.appToken.get('0_zzzzzzzz'),
        'APP_TOKEN_ID_NOT_FOUND',
        { ID: '0_zzzzzzzz' },
      ],
      [
        'updating an unknown app token',
        () => kaltura.appToken.update('0_zzzzzzzz', { description: 'x' }),
        'APP_TOKEN_ID_NOT_FOUND',
        { ID: '0_zzzzzzzz' },
      ],
      [
        'starting a session with an unknown app token',
        () =>
          anonymous.startAppTokenSession({ appTokenId: '0_zzzzzzzz', appTokenValue: token.token }),
        'APP_TOKEN_ID_NOT_FOUND',
        { ID: '0_zzzzzzzz' },
      ],
      [
        'a wrong token value',
        () =>
          anonymous.startAppTokenSession({
            appTokenId: token.id,
            appTokenValue: wrongToken,
            hashType: 'SHA256',
          }),
        'INVALID_APP_TOKEN_HASH',
        {},
      ],
      [
        'a deleted app token',
        () =>
          anonymous.startAppTokenSession({ appTokenId: deleted.id, appTokenValue: deleted.token }),
        'APP_TOKEN_NOT_ACTIVE',
        { ID: deleted.id },
      ],
      [
        'an expired app token',
        () =>
          anonymous.startAppTokenSession({
            appTokenId: expiring.id,
            appTokenValue: expiring.token,
          }),
        'APP_TOKEN_EXPIRED',
        { ID: expiring.id },
      ],
      [
        'a wrong password',
        () =>
          anonymous.user.loginByLoginId({ loginId: 'admin@example.com', password: wrongSecret }),
        'USER_WRONG_PASSWORD',
        {},
      ],
      [
        'a USER KS on an admin action',
        () => kaltura.appToken.list(undefined, undefined, { ks: userKs }),
        'SERVICE_FORBIDDEN',
        { SERVICE: 'apptoken->list' },
      ],
      [
        'a widget KS on session.get',
        () => anonymous.session.get(undefined, { ks: widgetKs }),
        'SERVICE_FORBIDDEN',
        { SERVICE: 'session->get' },
      ],
      [
        'a missing parameter',
        () => kaltura.request('appToken', 'get', {}),
        'MISSING_MANDATORY_PARAMETER',
        { PARAM_NAME: 'id' },
      ],
      [
        'session.start without a secret',
        () => anonymous.request('session', 'start', { type: 2 }),
        'MISSING_MANDATORY_PARAMETER',
        { PARAM_NAME: 'secret' },
      ],
    ];
    emulator.resetStats();
    for (const [name, call, kalturaCode, args] of cases) {
      const error = await apiFailure(call(), kalturaCode);
      expect(error.args, name).toEqual(args);
    }
    // None of them was retried: one request each, plus one widget session for the flows.
    expect(emulator.stats().total).toBe(cases.length + 1);
  });

  it('redacts any KS, secret, token or password that Kaltura echoes back', async () => {
    const kaltura = client({ ks: adminKs });
    const token = await kaltura.appToken.add({ hashType: 'SHA1' });
    keep(token.token);
    // Real Kaltura puts an unreadable KS in INVALID_KS's message and arguments (spec §8).
    emulator.faults.set({
      service: 'session',
      action: 'get',
      mode: 'kaltura-error',
      code: 'INVALID_KS',
      args: [adminKs, '-1', 'INVALID_STR'],
    });
    const invalid = await apiFailure(kaltura.session.get(), 'INVALID_KS');
    expect(invalid.args.KSID).toBe('[redacted]');
    expect(invalid.kalturaMessage).toBe('Invalid KS "[redacted]", Error "-1,INVALID_STR"');

    emulator.faults.set({
      service: 'session',
      action: 'start',
      mode: 'kaltura-error',
      code: 'START_SESSION_ERROR',
      args: [ADMIN_SECRET],
    });
    const start = await apiFailure(
      kaltura.session.start({ secret: ADMIN_SECRET }),
      'START_SESSION_ERROR',
    );
    expect(start.args.PID).toBe('[redacted]');

    emulator.faults.set({
      service: 'appToken',
      action: 'startSession',
      mode: 'kaltura-error',
      code: 'APP_TOKEN_ID_NOT_FOUND',
      args: [token.token],
    });
    const notFound = await apiFailure(
      kaltura.startAppTokenSession({ appTokenId: token.id, appTokenValue: token.token }),
      'APP_TOKEN_ID_NOT_FOUND',
    );
    expect(notFound.args.ID).toBe('[redacted]');

    emulator.faults.set({
      service: 'user',
      action: 'loginByLoginId',
      mode: 'kaltura-error',
      code: 'INVALID_FIELD_VALUE',
      args: [PASSWORD],
    });
    const login = await apiFailure(
      kaltura.user.loginByLoginId({ loginId: 'editor@example.com', password: PASSWORD }),
      'INVALID_FIELD_VALUE',
    );
    expect(login.args.FIELD_NAME).toBe('[redacted]');
  });
});

describe('the seeds’ flows end to end, as curl sends them and through request()', () => {
  it('session.start → baseEntry.list', async () => {
    const ks = keep(
      (await curl('session', 'start', {
        secret: ADMIN_SECRET,
        partnerId: PARTNER_ID,
        type: 2,
        userId: 'seed',
      })) as string,
    );
    expect(verify(ks)).toMatchObject({ userId: 'seed', type: KsType.ADMIN });
    const raw = await curl('baseEntry', 'list', { ks });
    expect(raw).toMatchObject({ totalCount: 3, objectType: 'KalturaBaseEntryListResponse' });

    const kaltura = client();
    const started = keep(
      (await kaltura.request('session', 'start', {
        secret: ADMIN_SECRET,
        type: 2,
        userId: 'seed',
      })) as string,
    );
    expect(verify(started)).toMatchObject({ userId: 'seed', type: KsType.ADMIN });
    expect(await kaltura.request('baseEntry', 'list', undefined, { ks: started })).toEqual(raw);
  });

  it('appToken.add → startWidgetSession → token hash → appToken.startSession → baseEntry.list', async () => {
    const token = (await curl('appToken', 'add', {
      ks: adminKs,
      'appToken[objectType]': 'KalturaAppToken',
      'appToken[hashType]': 'SHA256',
      'appToken[sessionPrivileges]': 'sview:*',
    })) as { id: string; token: string };
    keep(token.token);
    const widget = (await curl('session', 'startWidgetSession', {
      widgetId: `_${PARTNER_ID}`,
    })) as { ks: string };
    keep(widget.ks);
    const info = (await curl('appToken', 'startSession', {
      ks: widget.ks,
      id: token.id,
      tokenHash: appTokenHash(widget.ks, token.token, 'SHA256'),
      userId: 'seed-viewer',
    })) as { ks: string };
    keep(info.ks);
    const privileges = `sessionid:${token.id},apptoken:${token.id},sview:*`;
    expect(info).toEqual({
      ks: expect.any(String),
      sessionType: 0,
      partnerId: PARTNER_ID,
      userId: 'seed-viewer',
      expiry: nowSeconds() + 86_400,
      privileges,
      objectType: 'KalturaSessionInfo',
    });
    const raw = await curl('baseEntry', 'list', { ks: info.ks });
    expect(raw).toMatchObject({ totalCount: 3 });

    // The same steps through the client's generic request().
    const kaltura = client();
    const token2 = (await kaltura.request(
      'appToken',
      'add',
      {
        appToken: {
          objectType: 'KalturaAppToken',
          hashType: 'SHA256',
          sessionPrivileges: 'sview:*',
        },
      },
      { ks: adminKs },
    )) as { id: string; token: string };
    keep(token2.token);
    const widget2 = (await kaltura.request('session', 'startWidgetSession', {
      widgetId: `_${PARTNER_ID}`,
    })) as { ks: string };
    keep(widget2.ks);
    const info2 = (await kaltura.request(
      'appToken',
      'startSession',
      {
        id: token2.id,
        tokenHash: appTokenHash(widget2.ks, token2.token, 'SHA256'),
        userId: 'seed-viewer',
      },
      { ks: widget2.ks },
    )) as { ks: string; privileges: string };
    keep(info2.ks);
    expect(info2.privileges).toBe(`sessionid:${token2.id},apptoken:${token2.id},sview:*`);
    expect(verify(info2.ks)).toMatchObject({ userId: 'seed-viewer', type: KsType.USER });
    expect(await kaltura.request('baseEntry', 'list', undefined, { ks: info2.ks })).toEqual(raw);
  });
});

describe('retries and timeouts against the emulator’s faults', () => {
  it('a 5xx is retried and recovers once the fault clears', async () => {
    emulator.faults.set({ service: 'system', action: 'ping', mode: 'http-5xx', status: 503 });
    const events: KalturaClientEvent[] = [];
    const kaltura = client({
      retry: { maxAttempts: 5 },
      onEvent: (event) => {
        events.push(event);
        // Kaltura comes back after the second failure.
        if (event.type === 'retry' && event.attempt === 2) emulator.faults.clear();
      },
    });
    expect(await kaltura.system.ping()).toBe(true);
    expect(calls('system.ping')).toBe(3);
    expect(events.flatMap((e) => (e.type === 'response' ? [e.status] : []))).toEqual([
      503, 503, 200,
    ]);
  });

  it('a seeded 5xx rate: each mint is retried until it succeeds, and the retries reach Kaltura', async () => {
    emulator.faults.set({
      service: 'session',
      action: 'start',
      mode: 'http-5xx',
      status: 502,
      rate: 0.5,
      seed: 42,
    });
    const kaltura = client({ retry: { maxAttempts: 10 } });
    for (let i = 0; i < 20; i++) {
      const ks = keep(await kaltura.session.start({ secret: ADMIN_SECRET, userId: `u${i}` }));
      expect(verify(ks).userId).toBe(`u${i}`);
    }
    expect(calls('session.start')).toBeGreaterThan(20);
  });

  it('waits at least Retry-After before retrying', async () => {
    emulator.faults.set({
      service: 'system',
      action: 'getTime',
      mode: 'http-5xx',
      status: 503,
      retryAfterSeconds: 2,
    });
    const waits: number[] = [];
    const kaltura = client({
      sleep: async (ms) => {
        waits.push(ms);
        emulator.faults.clear();
      },
    });
    expect(await kaltura.system.getTime()).toBe(nowSeconds());
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(2000);
  });

  it('INVALID_KS and other Kaltura errors are never retried', async () => {
    const kaltura = client({ retry: { maxAttempts: 5 } });
    await apiFailure(kaltura.session.get(undefined, { ks: GARBAGE_KS }), 'INVALID_KS');
    await apiFailure(
      kaltura.request('baseEntry', 'list', undefined, { ks: GARBAGE_KS, idempotent: true }),
      'INVALID_KS',
    );
    emulator.faults.set({ service: 'system', action: 'getTime', mode: 'kaltura-error' });
    await apiFailure(kaltura.system.getTime(), 'INTERNAL_SERVERL_ERROR');
    emulator.faults.set({ service: 'system', action: 'ping', mode: 'http-5xx', status: 501 });
    expect((await failure(kaltura.system.ping())).code).toBe('ERR_KS_HTTP');
    expect(emulator.stats()).toMatchObject({
      'session.get': 1,
      'baseEntry.list': 1,
      'system.getTime': 1,
      'system.ping': 1,
      total: 4,
    });
  });

  it('a hung request ends at requestTimeoutMs', async () => {
    emulator.faults.set({ service: 'system', action: 'ping', mode: 'hang' });
    const kaltura = client({ requestTimeoutMs: 200 });
    const started = performance.now();
    const error = await failure(kaltura.system.ping());
    const took = performance.now() - started;
    expect(error.code).toBe('ERR_KS_TIMEOUT');
    expect(error.message).toContain('requestTimeoutMs (200 ms)');
    // Never before the bound. No upper wall-clock bound: a loaded machine runs timers late, and
    // the message names the timer that ended it (a call that hung on would hit the test's timeout).
    expect(took).toBeGreaterThanOrEqual(190);
    expect(calls('system.ping')).toBe(1);
  });

  it('a flood of failing calls: each stops retrying at retry.maxTotalMs', async () => {
    emulator.faults.set({ service: 'system', mode: 'http-5xx', status: 502 });
    const ends: KalturaClientEvent[] = [];
    // Fifty callers at once, each with its own clock, moved only by its own backoff.
    const callers = Array.from({ length: 50 }, () => {
      let clock = START;
      return client({
        now: () => clock,
        sleep: async (ms) => {
          clock += ms;
        },
        random: () => 0.99,
        retry: { maxAttempts: 1000, baseDelayMs: 100, maxDelayMs: 400, maxTotalMs: 3000 },
        onEvent: (event) => {
          if (event.type === 'failure') ends.push(event);
        },
      });
    });
    const errors = await Promise.all(callers.map((caller) => failure(caller.system.ping())));
    // Backoffs 99, 198, then 396 each: after the ninth attempt the next would end past 3000 ms.
    for (const error of errors) {
      expect(error.code).toBe('ERR_KS_HTTP');
      expect(error.message).toContain('HTTP 502');
      expect(error.message).toContain('(after 9 attempts)');
    }
    expect(ends).toHaveLength(50);
    for (const end of ends) expect(end).toMatchObject({ attempts: 9, durationMs: 2673 });
    expect(calls('system.ping')).toBe(50 * 9);
  });

  it('a reset is retried for idempotent actions only', async () => {
    const kaltura = client({ ks: adminKs, retry: { maxAttempts: 3 } });
    const endable = keep(await kaltura.session.start({ secret: USER_SECRET, userId: 'reset' }));
    for (const [service, action] of [
      ['appToken', 'get'],
      ['appToken', 'add'],
      ['appToken', 'delete'],
      ['session', 'start'],
      ['session', 'end'],
      ['user', 'loginByLoginId'],
      ['baseEntry', 'list'],
    ]) {
      emulator.faults.set({ service, action, mode: 'reset' });
    }
    emulator.faults.set({ service: 'multirequest', mode: 'reset' });
    const ping = [{ service: 'system', action: 'ping' }];
    const cases: [string, () => Promise<unknown>, number][] = [
      ['appToken.get', () => kaltura.appToken.get('0_anything'), 3],
      ['session.start', () => kaltura.session.start({ secret: ADMIN_SECRET }), 3],
      [
        'baseEntry.list',
        () => kaltura.request('baseEntry', 'list', undefined, { idempotent: true }),
        3,
      ],
      ['multirequest', () => kaltura.multirequest(ping, { idempotent: true }), 3],
      ['baseEntry.list', () => kaltura.request('baseEntry', 'list'), 1],
      ['multirequest', () => kaltura.multirequest(ping), 1],
      ['appToken.add', () => kaltura.appToken.add({}), 1],
      ['appToken.delete', () => kaltura.appToken.delete('0_anything'), 1],
      ['session.end', () => kaltura.session.end({ ks: endable }), 1],
      [
        'user.loginByLoginId',
        () => kaltura.user.loginByLoginId({ loginId: 'editor@example.com', password: PASSWORD }),
        1,
      ],
    ];
    for (const [key, call, attempts] of cases) {
      emulator.resetStats();
      const error = await failure(call());
      expect(error.code, key).toBe('ERR_KS_NETWORK');
      expect(calls(key), key).toBe(attempts);
      if (attempts > 1) expect(error.message).toContain(`(after ${attempts} attempts)`);
    }

    // An idempotent read recovers when the connection works again.
    emulator.resetStats();
    const recovering = client({
      ks: adminKs,
      onEvent: (event) => {
        if (event.type === 'retry') emulator.faults.clear();
      },
    });
    await apiFailure(recovering.appToken.get('0_anything'), 'APP_TOKEN_ID_NOT_FOUND');
    expect(calls('appToken.get')).toBe(2);
  });

  it('a malformed JSON answer is ERR_KS_RESPONSE, never retried', async () => {
    for (const service of ['session', 'baseEntry', 'multirequest']) {
      emulator.faults.set({ service, mode: 'malformed' });
    }
    const kaltura = client({ ks: adminKs, retry: { maxAttempts: 5 } });
    const cases: [string, () => Promise<unknown>][] = [
      ['session.start', () => kaltura.session.start({ secret: ADMIN_SECRET })],
      ['baseEntry.list', () => kaltura.request('baseEntry', 'list', {}, { idempotent: true })],
      ['multirequest', () => kaltura.multirequest([{ service: 'system', action: 'ping' }])],
    ];
    for (const [key, call] of cases) {
      const error = await failure(call());
      expect(error.code, key).toBe('ERR_KS_RESPONSE');
      expect(error.message, key).toContain('not JSON');
      expect(error.message).not.toContain('objectType');
      expect(emulator.stats()[key], key).toBe(1);
    }
  });
});

describe('credentials in errors', () => {
  it('no error provoked in this file carries a secret, KS, token, token hash or password', () => {
    expect(provoked.length).toBeGreaterThan(50);
    for (const error of provoked) expect(leaked(error)).toEqual([]);
  });
});
