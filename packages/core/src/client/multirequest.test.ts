import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KalturaApiError } from '../errors.js';
import { createKs } from '../ks/create.js';
import { KsType } from '../ks/types.js';
import { SPEC_PARTNER, SPEC_SECRET } from '../test-utils/vectors.js';
import { createKalturaClient } from './client.js';
import {
  fakeTime,
  kalturaError,
  type RecordedRequest,
  startTestServer,
  type TestServer,
} from './test-utils/server.js';
import type { KalturaClient } from './types.js';

const ADMIN_KS = createKs({ secret: SPEC_SECRET, partnerId: SPEC_PARTNER, type: KsType.ADMIN });
const OTHER_KS = createKs({ secret: SPEC_SECRET, partnerId: SPEC_PARTNER, userId: 'bob' });

let server: TestServer;
let client: KalturaClient;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());
beforeEach(() => {
  client = createKalturaClient({
    serviceUrl: server.url,
    partnerId: SPEC_PARTNER,
    ks: ADMIN_KS,
    sleep: fakeTime().sleep,
  });
});
afterEach(async () => {
  await client.close();
  server.reset();
});

describe('multirequest', () => {
  it('posts every item as n[field] under one KS and returns results in order, errors per item', async () => {
    server.route('multirequest', '', {
      json: [
        { partnerId: '12345', userId: '', expiry: '2000000000', sessionType: '2', privileges: '' },
        {
          code: 'APP_TOKEN_ID_NOT_FOUND',
          message: 'Application token id "0_nope" not found',
          objectType: 'KalturaAPIException',
          args: { ID: '0_nope' },
        },
        1700000000,
      ],
    });
    const results = await client.multirequest([
      { service: 'session', action: 'get' },
      { service: 'appToken', action: 'get', params: { id: '0_nope' } },
      { service: 'system', action: 'getTime', ks: OTHER_KS },
    ]);

    const request = server.requests[0] as RecordedRequest;
    expect(request.url).toBe('/api_v3/service/multirequest');
    expect(Object.fromEntries(request.params)).toEqual({
      format: '1',
      clientTag: 'kaltura-ks',
      partnerId: String(SPEC_PARTNER),
      ks: ADMIN_KS,
      '1[service]': 'session',
      '1[action]': 'get',
      '2[service]': 'appToken',
      '2[action]': 'get',
      '2[id]': '0_nope',
      '3[service]': 'system',
      '3[action]': 'getTime',
      '3[ks]': OTHER_KS,
    });

    expect(results).toHaveLength(3);
    expect(results[0]).toEqual({
      ok: true,
      value: {
        partnerId: '12345',
        userId: '',
        expiry: '2000000000',
        sessionType: '2',
        privileges: '',
      },
    });
    const second = results[1];
    expect(second?.ok).toBe(false);
    if (second?.ok === false) {
      expect(second.error).toBeInstanceOf(KalturaApiError);
      expect(second.error).toMatchObject({
        kalturaCode: 'APP_TOKEN_ID_NOT_FOUND',
        args: { ID: '0_nope' },
        service: 'appToken',
        action: 'get',
      });
    }
    expect(results[2]).toEqual({ ok: true, value: 1700000000 });
  });

  it('flattens nested item params as n[name][field]', async () => {
    server.route('multirequest', '', { json: [{ objects: [], totalCount: 0 }] });
    await client.multirequest([
      {
        service: 'appToken',
        action: 'list',
        params: { filter: { statusEqual: 2 }, pager: { pageSize: 5 } },
      },
    ]);
    expect(server.requests[0]?.params.get('1[filter][statusEqual]')).toBe('2');
    expect(server.requests[0]?.params.get('1[pager][pageSize]')).toBe('5');
  });

  it('redacts KSs echoed in item errors', async () => {
    server.route('multirequest', '', {
      json: [
        {
          code: 'INVALID_KS',
          message: `Invalid KS "${OTHER_KS}", Error "-1,INVALID_STR"`,
          objectType: 'KalturaAPIException',
          args: { KSID: OTHER_KS, ERR_CODE: '-1', ERR_DESC: 'INVALID_STR' },
        },
      ],
    });
    const [result] = await client.multirequest([
      { service: 'system', action: 'ping', ks: OTHER_KS },
    ]);
    expect(result?.ok).toBe(false);
    const text = JSON.stringify(
      result?.ok === false ? { ...result.error, m: result.error.message } : result,
    );
    expect(text).not.toContain(OTHER_KS);
    expect(text).not.toContain(ADMIN_KS);
  });

  it('a whole-request error is thrown; a short answer is a response error', async () => {
    server.route('multirequest', '', [
      kalturaError('MISSING_KS', 'Missing KS, session not established'),
      { json: [true] },
    ]);
    await expect(
      client.multirequest([{ service: 'system', action: 'ping' }]),
    ).rejects.toMatchObject({ kalturaCode: 'MISSING_KS', service: 'multirequest' });
    await expect(
      client.multirequest([
        { service: 'system', action: 'ping' },
        { service: 'system', action: 'ping' },
      ]),
    ).rejects.toMatchObject({
      code: 'ERR_KS_RESPONSE',
      message: 'multirequest: expected 2 results, got 1',
    });
  });

  it('is retried after a 5xx only when declared idempotent', async () => {
    server.route('multirequest', '', [{ raw: 'x', status: 502 }, { json: [true] }]);
    await expect(
      client.multirequest([{ service: 'system', action: 'ping' }]),
    ).rejects.toMatchObject({
      code: 'ERR_KS_HTTP',
    });
    server.route('multirequest', '', [{ raw: 'x', status: 502 }, { json: [true] }]);
    await expect(
      client.multirequest([{ service: 'system', action: 'ping' }], { idempotent: true }),
    ).resolves.toEqual([{ ok: true, value: true }]);
    expect(server.count('multirequest', '')).toBe(3);
  });

  it('refuses an empty list and bad item names', async () => {
    await expect(client.multirequest([])).rejects.toMatchObject({ code: 'ERR_KS_INVALID_OPTION' });
    await expect(
      client.multirequest([{ service: 'system', action: 'ping/../x' }]),
    ).rejects.toMatchObject({ code: 'ERR_KS_INVALID_OPTION' });
    expect(server.requests).toHaveLength(0);
  });
});
