import { request as httpRequest } from 'node:http';
import { verifyKs } from '@kaltura-ks/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from './server.js';
import {
  ADMIN_SECRET,
  adminKs,
  call,
  callJson,
  ok,
  PARTNER_ID,
  raw,
  START_MS,
  startEmulator,
  testClock,
  testOptions,
} from './test-utils/harness.js';

const clock = testClock();
let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator(testOptions({ now: clock.now, maxBodyBytes: 64 * 1024 }));
});
afterAll(() => emulator.close());

const startForm = `secret=${ADMIN_SECRET}&partnerId=${PARTNER_ID}&type=2&format=1`;
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

async function stillServing(): Promise<void> {
  expect((await call(emulator, 'system', 'ping')).json).toBe(true);
}

describe('routes and parameters', () => {
  it('gives the service URL as Kaltura writes it', () => {
    expect(emulator.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api_v3$/);
    expect(emulator.url).toBe(`${emulator.origin}/api_v3`);
  });

  it('serves /service/x/action/y, index.php?service=…, GET queries and JSON bodies alike', async () => {
    const answers = await Promise.all([
      raw(`${emulator.url}/service/session/action/start`, {
        method: 'POST',
        headers: FORM,
        body: startForm,
      }),
      raw(`${emulator.url}/index.php?service=session&action=start`, {
        method: 'POST',
        headers: FORM,
        body: startForm,
      }),
      raw(`${emulator.url}/?service=session&action=start&${startForm}`),
      raw(`${emulator.url}/index.php/service/session/action/start?${startForm}`),
      callJson(emulator, '/service/session/action/start', {
        secret: ADMIN_SECRET,
        partnerId: PARTNER_ID,
        type: 2,
        format: 1,
      }),
    ]);
    for (const { status, json, headers } of answers) {
      expect(status).toBe(200);
      expect(headers.get('content-type')).toBe('application/json');
      expect(verifyKs(json, { secrets: ADMIN_SECRET, now: clock.now }).type).toBe(2);
    }
  });

  it('takes service and action names in any case', async () => {
    const ks = await adminKs(emulator);
    for (const [service, action] of [
      ['apptoken', 'list'],
      ['APPTOKEN', 'LIST'],
      ['appToken', 'list'],
    ]) {
      expect((await call(emulator, service!, action!, { ks })).json.objectType).toBe(
        'KalturaAppTokenListResponse',
      );
    }
    expect(emulator.stats()['appToken.list']).toBe(3);
  });

  it('answers JSON without format (Kaltura would default to XML) and refuses other formats', async () => {
    const noFormat = await raw(`${emulator.url}/service/system/action/getTime`);
    expect(noFormat.json).toBe(START_MS / 1000);
    const xml = await raw(`${emulator.url}/service/system/action/ping?format=2`);
    expect(xml.json).toEqual({
      code: 'UNKNOWN_RESPONSE_FORMAT',
      message: 'Response format provided [2] is not recognized by server',
      objectType: 'KalturaAPIException',
      args: { FORMAT: '2' },
    });
  });

  it('answers system.ping and system.getTime', async () => {
    expect((await call(emulator, 'system', 'ping')).text).toBe('true');
    expect((await call(emulator, 'system', 'getTime')).text).toBe(String(START_MS / 1000));
  });

  it('writes JSON as PHP does: "/" escaped, non-ASCII as \\u escapes', async () => {
    const ks = await adminKs(emulator);
    const { text, json } = await call(emulator, 'appToken', 'add', {
      ks,
      'appToken[description]': 'a/b – é',
    });
    expect(text).toContain('"description":"a\\/b \\u2013 \\u00e9"');
    expect(json.description).toBe('a/b – é');
  });

  it('answers CORS preflights for browsers', async () => {
    const preflight = await raw(`${emulator.url}/service/session/action/start`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('content-type');
  });
});

describe('multirequest', () => {
  it('runs numbered requests in order, with {N:result} references, and answers an array', async () => {
    const body = new URLSearchParams({
      format: '1',
      '1:service': 'session',
      '1:action': 'start',
      '1:secret': ADMIN_SECRET,
      '1:partnerId': String(PARTNER_ID),
      '1:type': '2',
      '2:service': 'appToken',
      '2:action': 'add',
      '2:ks': '{1:result}',
      '2:appToken:description': 'from a multirequest',
      '3:service': 'appToken',
      '3:action': 'get',
      '3:ks': '{1:result}',
      '3:id': '{2:result:id}',
      '4:service': 'nope',
      '4:action': 'x',
    });
    const { json } = await raw(`${emulator.url}/service/multirequest`, { method: 'POST', body });
    expect(json).toHaveLength(4);
    expect(typeof json[0]).toBe('string');
    expect(json[1]).toMatchObject({
      description: 'from a multirequest',
      objectType: 'KalturaAppToken',
    });
    expect(json[2]).toEqual(json[1]);
    expect(json[3]).toMatchObject({ code: 'SERVICE_DOES_NOT_EXISTS' });
  });

  it('takes the JSON shape the Node client sends (0-based), inheriting ks from the envelope', async () => {
    const ks = await adminKs(emulator);
    const { json } = await callJson(emulator, '/service/multirequest', {
      format: 1,
      ks,
      0: { service: 'system', action: 'ping' },
      1: { service: 'session', action: 'get' },
      2: { service: 'appToken', action: 'get', id: '{1:result:nothing}' },
    });
    expect(json[0]).toBe(true);
    expect(json[1]).toMatchObject({ sessionType: '2', objectType: 'KalturaSessionInfo' });
    expect(json[2]).toMatchObject({
      code: 'MISSING_MANDATORY_PARAMETER',
      args: { PARAM_NAME: '{1:result:nothing}' },
    });
  });
});

describe('bad input gets Kaltura-shaped errors and the emulator keeps serving', () => {
  it('unknown or missing services and actions', async () => {
    expect((await call(emulator, 'nosuch', 'list')).json).toEqual({
      code: 'SERVICE_DOES_NOT_EXISTS',
      message: 'Service "nosuch" does not exists',
      objectType: 'KalturaAPIException',
      args: { SRV_NAME: 'nosuch' },
    });
    expect((await call(emulator, 'session', 'nosuch')).json).toEqual({
      code: 'ACTION_DOES_NOT_EXISTS',
      message: 'Action "nosuch" does not exists for service "session"',
      objectType: 'KalturaAPIException',
      args: { ACTION_NAME: 'nosuch', SERVICE_NAME: 'session' },
    });
    expect((await raw(`${emulator.url}/?format=1`)).json).toMatchObject({
      code: 'SERVICE_NOT_SPECIFIED',
      args: [],
    });
    expect((await raw(`${emulator.url}/service/session`)).json.code).toBe('ACTION_NOT_SPECIFIED');
    const notApi = await raw(`${emulator.origin}/elsewhere`);
    expect(notApi.status).toBe(404);
    expect(notApi.json).toMatchObject({ code: 'NOT_FOUND', objectType: 'KalturaAPIException' });
    await stillServing();
  });

  it('bodies that cannot be read', async () => {
    const url = `${emulator.url}/service/session/action/start`;
    const cases: [RequestInit, string][] = [
      [
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"secret": ' },
        'INVALID_JSON',
      ],
      [
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1, 2]' },
        'INVALID_JSON',
      ],
      [
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '"text"' },
        'INVALID_JSON',
      ],
      [
        { method: 'POST', headers: { 'content-type': 'text/plain' }, body: startForm },
        'UNSUPPORTED_CONTENT_TYPE',
      ],
      [
        {
          method: 'POST',
          headers: { 'content-type': 'multipart/form-data; boundary=x' },
          body: '--x--',
        },
        'UNSUPPORTED_CONTENT_TYPE',
      ],
      [
        { method: 'POST', headers: FORM, body: 'secret=%E0%A4%A&partnerId=1' },
        'INVALID_PARAMETER_CHAR',
      ],
      [
        { method: 'POST', headers: FORM, body: 'secret=%FF%FE&partnerId=1' },
        'INVALID_PARAMETER_CHAR',
      ],
      [
        { method: 'POST', headers: FORM, body: `${startForm}&userId=a%00b` },
        'INVALID_PARAMETER_CHAR',
      ],
      [
        { method: 'POST', headers: FORM, body: Buffer.from([0x73, 0x3d, 0xff]) },
        'INVALID_PARAMETER_CHAR',
      ],
    ];
    for (const [init, code] of cases) {
      const answer = await raw(url, init);
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ code, objectType: 'KalturaAPIException' });
    }
    expect((await raw(`${emulator.url}/service/system/action/ping?format=1&x=%zz`)).json.code).toBe(
      'INVALID_PARAMETER_CHAR',
    );
    await stillServing();
  });

  it('parameters of the wrong shape', async () => {
    const ks = await adminKs(emulator);
    expect(
      (await call(emulator, 'appToken', 'add', { ks, appToken: 'not-an-object' })).json,
    ).toMatchObject({
      code: 'INVALID_FIELD_VALUE',
      args: { FIELD_NAME: 'appToken' },
    });
    expect(
      (await call(emulator, 'session', 'start', { 'secret[x]': 'y', partnerId: PARTNER_ID })).json,
    ).toMatchObject({
      code: 'INVALID_FIELD_VALUE',
      args: { FIELD_NAME: 'secret' },
    });
    const deep = `${'a['.repeat(40)}${']'.repeat(40)}=1`;
    expect(
      (
        await raw(`${emulator.url}/service/system/action/ping`, {
          method: 'POST',
          headers: FORM,
          body: deep,
        })
      ).status,
    ).toBe(200);
    const proto = await callJson(
      emulator,
      '/service/system/action/ping',
      JSON.parse('{"__proto__": {"x": 1}, "format": 1}'),
    );
    expect(proto.json).toBe(true);
    await stillServing();
  });

  it('a body over the limit: HTTP 413 with a Kaltura-shaped error', async () => {
    const answer = await raw(`${emulator.url}/service/session/action/start`, {
      method: 'POST',
      headers: FORM,
      body: `secret=${'x'.repeat(200 * 1024)}`,
    });
    expect(answer.status).toBe(413);
    expect(answer.json).toEqual({
      code: 'REQUEST_TOO_LARGE',
      message: 'The request body is larger than 65536 bytes',
      objectType: 'KalturaAPIException',
      args: { MAX_BYTES: '65536' },
    });
    await stillServing();
  });

  it('a connection dropped mid-request', async () => {
    await new Promise<void>((resolve) => {
      const request = httpRequest(`${emulator.url}/service/session/action/start`, {
        method: 'POST',
        headers: { ...FORM, 'content-length': '1000' },
      });
      request.on('error', () => resolve());
      request.write('secret=abc', () => {
        request.destroy();
        resolve();
      });
    });
    await stillServing();
  });

  it('random garbage: always a Kaltura-shaped answer', async () => {
    // A seeded generator, so a failure can be replayed.
    let seed = 20_240_611;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const bytes = (n: number) =>
      Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256)));
    const types = [
      'application/x-www-form-urlencoded',
      'application/json',
      'text/plain',
      '',
      'application/json; charset=latin1',
    ];
    const paths = [
      '/service/session/action/start',
      '/service/multirequest',
      '/index.php',
      '/service/%E0/action/x',
      '/service//action/',
    ];
    const pieces = [
      'ks=',
      '%',
      '%2',
      '&&',
      '=',
      '[',
      ']',
      ':',
      '1:service=session',
      '{"',
      '"}',
      '\\u0000',
      'format=7',
      'a[b][c]=d',
    ];
    for (let i = 0; i < 150; i++) {
      const text = Array.from({ length: 1 + Math.floor(next() * 6) }, () => pick(pieces)).join('');
      const body = next() < 0.3 ? bytes(Math.floor(next() * 64)) : text;
      const type = pick(types);
      const answer = await raw(`${emulator.url}${pick(paths)}?${next() < 0.5 ? text : ''}`, {
        method: 'POST',
        headers: type === '' ? {} : { 'content-type': type },
        body,
      });
      expect([200, 404]).toContain(answer.status);
      expect(answer.json === undefined ? answer.text : 'json').toBe('json');
    }
    await stillServing();
  });

  it('never echoes a secret, a KS or a password in an error', async () => {
    const ks = await adminKs(emulator);
    const texts = await Promise.all([
      call(emulator, 'session', 'start', {
        secret: 'my-secret-value',
        partnerId: PARTNER_ID,
        type: 2,
        userId: 'a;b',
      }),
      call(emulator, 'session', 'get', { ks: `${ks}x` }),
      call(emulator, 'session', 'get', { ks: ks.slice(0, 40) }),
      call(emulator, 'user', 'loginByLoginId', {
        loginId: 'alice@example.com',
        password: 'my-password-value',
      }),
      call(emulator, 'appToken', 'startSession', {
        ks,
        id: '0_nothere',
        tokenHash: 'my-hash-value',
      }),
    ]);
    for (const { text, json } of texts) {
      expect(json.objectType).toBe('KalturaAPIException');
      for (const secret of [
        'my-secret-value',
        ks,
        ks.slice(0, 40),
        'my-password-value',
        'my-hash-value',
        ADMIN_SECRET,
      ]) {
        expect(text).not.toContain(secret);
      }
      expect(text).not.toMatch(/\bat .*\.ts:\d+/);
    }
  });
});

describe('stats', () => {
  it('counts requests per service.action and in total, and resets', async () => {
    const fresh = await startEmulator(testOptions());
    try {
      await ok(fresh, 'system', 'ping');
      await ok(fresh, 'system', 'ping');
      await call(fresh, 'nosuch', 'x');
      await callJson(fresh, '/service/multirequest', {
        0: { service: 'system', action: 'getTime' },
      });
      expect(fresh.stats()).toEqual({
        total: 4,
        'system.ping': 2,
        'system.getTime': 1,
        multirequest: 1,
        '<unknown>': 1,
      });
      fresh.resetStats();
      expect(fresh.stats()).toEqual({ total: 0 });
    } finally {
      await fresh.close();
    }
  });
});
