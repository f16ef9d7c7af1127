import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KsError } from '../errors.js';
import { createKs } from '../ks/create.js';
import { KsType } from '../ks/types.js';
import { SPEC_PARTNER, SPEC_SECRET, SPEC_WIDGET_KS } from '../test-utils/vectors.js';
import { createKalturaClient } from './client.js';
import { type RecordedRequest, startTestServer, type TestServer } from './test-utils/server.js';
import type { KalturaClient } from './types.js';

const ADMIN_KS = createKs({
  secret: SPEC_SECRET,
  partnerId: SPEC_PARTNER,
  type: KsType.ADMIN,
  userId: 'admin',
  now: () => 1_700_000_000_000,
});
const NEW_KS = createKs({
  secret: SPEC_SECRET,
  partnerId: SPEC_PARTNER,
  userId: 'alice',
  now: () => 1_700_000_000_000,
});

let server: TestServer;
let client: KalturaClient;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());
beforeEach(() => {
  client = createKalturaClient({ serviceUrl: server.url, partnerId: SPEC_PARTNER, ks: ADMIN_KS });
});
afterEach(async () => {
  await client.close();
  server.reset();
});

function only(): RecordedRequest {
  expect(server.requests).toHaveLength(1);
  return server.requests[0] as RecordedRequest;
}

/** Every request is a form POST to /service/x/action/y with nothing after the path. */
function expectPost(request: RecordedRequest, path: string): Record<string, string> {
  expect(request.method).toBe('POST');
  expect(request.url).toBe(`/api_v3/service/${path}`);
  expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
  expect(request.params.get('format')).toBe('1');
  expect(request.params.get('clientTag')).toBe('kaltura-ks');
  const fields = Object.fromEntries(request.params);
  // No field is sent twice (PHP keeps the last, other parsers the first).
  expect([...request.params.keys()]).toHaveLength(Object.keys(fields).length);
  return fields;
}

describe('session.start', () => {
  it('posts the secret and fields in the body, without the default KS, and returns the KS', async () => {
    server.route('session', 'start', { json: NEW_KS });
    const ks = await client.session.start({
      secret: SPEC_SECRET,
      userId: 'alice',
      type: KsType.ADMIN,
      expiresInSeconds: 3600,
      privileges: { sview: '*', edit: ['0_a', '0_b'] },
    });
    expect(ks).toBe(NEW_KS);
    const request = only();
    expect(expectPost(request, 'session/action/start')).toEqual({
      format: '1',
      clientTag: 'kaltura-ks',
      secret: SPEC_SECRET,
      userId: 'alice',
      type: '2',
      partnerId: String(SPEC_PARTNER),
      expiry: '3600',
      privileges: 'sview:*,edit:0_a/0_b',
    });
    expect(request.url).not.toContain(SPEC_SECRET);
  });

  it('sends a KS only when the call passes one, and a partnerId from the params wins', async () => {
    server.route('session', 'start', { json: NEW_KS });
    await client.session.start({ secret: SPEC_SECRET, partnerId: 999 }, { ks: ADMIN_KS });
    const fields = expectPost(only(), 'session/action/start');
    expect(fields.ks).toBe(ADMIN_KS);
    expect(fields.partnerId).toBe('999');
  });

  it('refuses fields that would rewrite a KS, before sending anything', async () => {
    const attempts = [
      () => client.session.start({ secret: SPEC_SECRET, userId: 'mallory;disableentitlement' }),
      () => client.session.start({ secret: SPEC_SECRET, privileges: 'sview:*;edit:*' }),
      () => client.session.start({ secret: SPEC_SECRET, type: 1 as KsType }),
      () => client.session.start({ secret: '' }),
      () => client.session.start({ secret: SPEC_SECRET, expiresInSeconds: -5 }),
    ];
    for (const attempt of attempts) await expect(attempt()).rejects.toBeInstanceOf(KsError);
    expect(server.requests).toHaveLength(0);
  });

  it('needs a partnerId from somewhere', async () => {
    const bare = createKalturaClient({ serviceUrl: server.url });
    await expect(bare.session.start({ secret: SPEC_SECRET })).rejects.toMatchObject({
      code: 'ERR_KS_INVALID_OPTION',
      message: expect.stringContaining('partnerId'),
    });
    await bare.close();
  });

  it('rejects an answer that is not a KS string', async () => {
    server.route('session', 'start', { json: { ks: NEW_KS } });
    await expect(client.session.start({ secret: SPEC_SECRET })).rejects.toMatchObject({
      code: 'ERR_KS_RESPONSE',
    });
  });
});

describe('session.startWidgetSession', () => {
  it('defaults the widget to _<partnerId> and normalises the answer', async () => {
    server.route('session', 'startWidgetSession', {
      json: {
        partnerId: '12345',
        ks: SPEC_WIDGET_KS,
        userId: 0,
        objectType: 'KalturaStartWidgetSessionResponse',
      },
    });
    const answer = await client.session.startWidgetSession({ expiresInSeconds: 600 });
    expect(answer).toEqual({ partnerId: 12345, ks: SPEC_WIDGET_KS, userId: '0' });
    const fields = expectPost(only(), 'session/action/startWidgetSession');
    expect(fields).toMatchObject({ widgetId: `_${SPEC_PARTNER}`, expiry: '600' });
    expect(fields.ks).toBeUndefined();
  });
});

describe('session.get', () => {
  it('sends the client KS and the session asked about; numbers sent as strings become numbers', async () => {
    server.route('session', 'get', {
      json: {
        partnerId: '12345',
        userId: 'alice',
        expiry: '2000000000',
        sessionType: '0',
        privileges: 'sview:*',
        objectType: 'KalturaSessionInfo',
      },
    });
    const info = await client.session.get({ session: NEW_KS });
    expect(info).toEqual({
      partnerId: 12345,
      userId: 'alice',
      expiry: 2_000_000_000,
      sessionType: 0,
      privileges: 'sview:*',
    });
    const fields = expectPost(only(), 'session/action/get');
    expect(fields.ks).toBe(ADMIN_KS);
    expect(fields.session).toBe(NEW_KS);
  });

  it('rejects a field that is not a number', async () => {
    server.route('session', 'get', {
      json: { partnerId: 'abc', userId: '', expiry: 1, sessionType: 0, privileges: '' },
    });
    await expect(client.session.get()).rejects.toMatchObject({
      code: 'ERR_KS_RESPONSE',
      message: 'session.get: "partnerId" is not a number',
    });
  });
});

describe('session.end', () => {
  it('revokes the request KS and resolves on a null answer', async () => {
    server.route('session', 'end', { json: null });
    await expect(client.session.end({ ks: NEW_KS })).resolves.toBeUndefined();
    expect(expectPost(only(), 'session/action/end').ks).toBe(NEW_KS);
  });

  it('also accepts an empty answer', async () => {
    server.route('session', 'end', { raw: '' });
    await expect(client.session.end()).resolves.toBeUndefined();
  });

  it('needs a KS', async () => {
    const bare = createKalturaClient({ serviceUrl: server.url });
    await expect(bare.session.end()).rejects.toMatchObject({ code: 'ERR_KS_INVALID_OPTION' });
    await bare.close();
  });
});

describe('user.loginByLoginId', () => {
  it('posts the login and password in the body and returns the KS', async () => {
    server.route('user', 'loginByLoginId', { json: NEW_KS });
    const ks = await client.user.loginByLoginId({
      loginId: 'alice@example.com',
      password: 'hunter2!',
      expiresInSeconds: 600,
    });
    expect(ks).toBe(NEW_KS);
    const request = only();
    expect(expectPost(request, 'user/action/loginByLoginId')).toEqual({
      format: '1',
      clientTag: 'kaltura-ks',
      loginId: 'alice@example.com',
      password: 'hunter2!',
      partnerId: String(SPEC_PARTNER),
      expiry: '600',
    });
    expect(request.url).not.toContain('hunter2');
  });
});

const TOKEN_JSON = {
  id: '0_ab12cd34',
  token: '00112233445566778899aabbccddeeff',
  partnerId: '12345',
  createdAt: 1700000000,
  updatedAt: '1700000001',
  status: 2,
  sessionType: '0',
  sessionUserId: null,
  sessionDuration: '3600',
  sessionPrivileges: 'sview:*',
  hashType: 'SHA256',
  objectType: 'KalturaAppToken',
};
const TOKEN = {
  id: '0_ab12cd34',
  token: '00112233445566778899aabbccddeeff',
  partnerId: 12345,
  createdAt: 1_700_000_000,
  updatedAt: 1_700_000_001,
  status: 2,
  sessionType: 0,
  sessionDuration: 3600,
  sessionPrivileges: 'sview:*',
  hashType: 'SHA256',
};

describe('appToken', () => {
  it('add: flattens the object as appToken[field] with its objectType', async () => {
    server.route('appToken', 'add', { json: TOKEN_JSON });
    const token = await client.appToken.add({
      sessionType: KsType.USER,
      sessionDuration: 3600,
      sessionPrivileges: 'sview:*',
      hashType: 'SHA256',
      description: 'player',
    });
    expect(token).toEqual(TOKEN);
    const fields = expectPost(only(), 'appToken/action/add');
    expect(fields).toEqual({
      format: '1',
      clientTag: 'kaltura-ks',
      partnerId: String(SPEC_PARTNER),
      ks: ADMIN_KS,
      'appToken[objectType]': 'KalturaAppToken',
      'appToken[sessionType]': '0',
      'appToken[sessionDuration]': '3600',
      'appToken[sessionPrivileges]': 'sview:*',
      'appToken[hashType]': 'SHA256',
      'appToken[description]': 'player',
    });
  });

  it('get, update and delete send the id (and the fields)', async () => {
    server.route('appToken', 'get', { json: TOKEN_JSON });
    server.route('appToken', 'update', { json: { ...TOKEN_JSON, description: 'new' } });
    server.route('appToken', 'delete', { json: null });
    await expect(client.appToken.get('0_ab12cd34')).resolves.toEqual(TOKEN);
    await expect(
      client.appToken.update('0_ab12cd34', { description: 'new', expiry: 2_000_000_000 }),
    ).resolves.toEqual({ ...TOKEN, description: 'new' });
    await expect(client.appToken.delete('0_ab12cd34')).resolves.toBeUndefined();
    const [get, update, del] = server.requests as [
      RecordedRequest,
      RecordedRequest,
      RecordedRequest,
    ];
    expect(expectPost(get, 'appToken/action/get')).toMatchObject({ id: '0_ab12cd34' });
    expect(expectPost(update, 'appToken/action/update')).toMatchObject({
      id: '0_ab12cd34',
      'appToken[objectType]': 'KalturaAppToken',
      'appToken[description]': 'new',
      'appToken[expiry]': '2000000000',
    });
    expect(expectPost(del, 'appToken/action/delete')).toMatchObject({ id: '0_ab12cd34' });
  });

  it('list: filter[...] and pager[...], lists joined with commas; totalCount normalised', async () => {
    server.route('appToken', 'list', {
      json: {
        objects: [TOKEN_JSON],
        totalCount: '1',
        objectType: 'KalturaAppTokenListResponse',
      },
    });
    const page = await client.appToken.list(
      { statusEqual: 2, idIn: ['0_a', '0_b'], sessionUserIdEqual: 'alice' },
      { pageSize: 50, pageIndex: 2 },
    );
    expect(page).toEqual({ objects: [TOKEN], totalCount: 1 });
    expect(expectPost(only(), 'appToken/action/list')).toMatchObject({
      'filter[objectType]': 'KalturaAppTokenFilter',
      'filter[statusEqual]': '2',
      'filter[idIn]': '0_a,0_b',
      'filter[sessionUserIdEqual]': 'alice',
      'pager[objectType]': 'KalturaFilterPager',
      'pager[pageSize]': '50',
      'pager[pageIndex]': '2',
    });
  });

  it('list: an empty answer has no objects', async () => {
    server.route('appToken', 'list', { json: { totalCount: 0, objectType: 'x' } });
    await expect(client.appToken.list()).resolves.toEqual({ objects: [], totalCount: 0 });
  });

  it('startSession: posts id, tokenHash and overrides with the given KS; answer normalised', async () => {
    server.route('appToken', 'startSession', {
      json: {
        ks: NEW_KS,
        partnerId: '12345',
        userId: 'alice',
        expiry: '2000000000',
        sessionType: '0',
        privileges: 'sessionid:0_ab12cd34,apptoken:0_ab12cd34,sview:*',
        objectType: 'KalturaSessionInfo',
      },
    });
    const info = await client.appToken.startSession(
      {
        id: '0_ab12cd34',
        tokenHash: 'f'.repeat(40),
        userId: 'alice',
        type: KsType.USER,
        expiresInSeconds: 600,
        sessionPrivileges: 'sview:*',
      },
      { ks: SPEC_WIDGET_KS },
    );
    expect(info).toEqual({
      ks: NEW_KS,
      partnerId: 12345,
      userId: 'alice',
      expiry: 2_000_000_000,
      sessionType: 0,
      privileges: 'sessionid:0_ab12cd34,apptoken:0_ab12cd34,sview:*',
    });
    expect(expectPost(only(), 'appToken/action/startSession')).toMatchObject({
      ks: SPEC_WIDGET_KS,
      id: '0_ab12cd34',
      tokenHash: 'f'.repeat(40),
      userId: 'alice',
      type: '0',
      expiry: '600',
      sessionPrivileges: 'sview:*',
    });
  });

  it('needs a KS for admin actions', async () => {
    const bare = createKalturaClient({ serviceUrl: server.url });
    await expect(bare.appToken.get('0_x')).rejects.toMatchObject({ code: 'ERR_KS_INVALID_OPTION' });
    await expect(client.appToken.get('0_x', { ks: null })).rejects.toMatchObject({
      code: 'ERR_KS_INVALID_OPTION',
    });
    await bare.close();
  });
});

describe('system', () => {
  it('getTime returns a number (also when sent as a string); ping a boolean', async () => {
    server.route('system', 'getTime', { json: '1700000000' });
    server.route('system', 'ping', { json: true });
    await expect(client.system.getTime()).resolves.toBe(1_700_000_000);
    await expect(client.system.ping()).resolves.toBe(true);
    const [time, ping] = server.requests as [RecordedRequest, RecordedRequest];
    expect(expectPost(time, 'system/action/getTime').ks).toBeUndefined();
    expect(expectPost(ping, 'system/action/ping').ks).toBeUndefined();
  });
});

describe('request (generic)', () => {
  it('flattens nested objects and lists, writes booleans as 1/0, leaves out null and undefined', async () => {
    server.route('media', 'list', { json: { objects: [], totalCount: 0 } });
    const answer = await client.request('media', 'list', {
      filter: { objectType: 'KalturaMediaEntryFilter', statusEqual: 2, nameLike: 'a b&c=d' },
      ids: ['0_a', '0_b'],
      objects: [{ id: 1 }, { id: 2 }],
      flag: true,
      off: false,
      missing: undefined,
      nothing: null,
    });
    expect(answer).toEqual({ objects: [], totalCount: 0 });
    expect(expectPost(only(), 'media/action/list')).toEqual({
      format: '1',
      clientTag: 'kaltura-ks',
      partnerId: String(SPEC_PARTNER),
      ks: ADMIN_KS,
      'filter[objectType]': 'KalturaMediaEntryFilter',
      'filter[statusEqual]': '2',
      'filter[nameLike]': 'a b&c=d',
      'ids[0]': '0_a',
      'ids[1]': '0_b',
      'objects[0][id]': '1',
      'objects[1][id]': '2',
      flag: '1',
      off: '0',
    });
  });

  it('a ks in the params or options replaces the default; null sends none', async () => {
    server.route('system', 'ping', { json: true });
    await client.request('system', 'ping', { ks: NEW_KS });
    await client.request('system', 'ping', {}, { ks: NEW_KS });
    await client.request('system', 'ping', {}, { ks: null });
    const [a, b, c] = server.requests as [RecordedRequest, RecordedRequest, RecordedRequest];
    expect(a.params.getAll('ks')).toEqual([NEW_KS]);
    expect(b.params.getAll('ks')).toEqual([NEW_KS]);
    expect(c.params.getAll('ks')).toEqual([]);
  });

  it('the default KS is settable and checked', async () => {
    server.route('system', 'ping', { json: true });
    client.ks = NEW_KS;
    expect(client.ks).toBe(NEW_KS);
    await client.request('system', 'ping');
    expect(server.requests[0]?.params.get('ks')).toBe(NEW_KS);
    expect(() => {
      client.ks = 'not a ks';
    }).toThrow(KsError);
    client.ks = undefined;
    await client.request('system', 'ping');
    expect(server.requests[1]?.params.has('ks')).toBe(false);
  });

  it('refuses service and action names that would change the path', async () => {
    for (const [service, action] of [
      ['../admin', 'list'],
      ['media', 'list?ks=x'],
      ['media', ''],
      ['', 'list'],
    ] as const) {
      await expect(client.request(service, action)).rejects.toMatchObject({
        code: 'ERR_KS_INVALID_OPTION',
      });
    }
    await expect(client.request('media', 'list', { n: Number.NaN })).rejects.toMatchObject({
      code: 'ERR_KS_INVALID_OPTION',
    });
    expect(server.requests).toHaveLength(0);
  });
});
