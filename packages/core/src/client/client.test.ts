import { MockAgent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type KalturaApiError, KsError } from '../errors.js';
import { createKs } from '../ks/create.js';
import { KsType } from '../ks/types.js';
import { SPEC_APP_TOKEN, SPEC_PARTNER, SPEC_SECRET } from '../test-utils/vectors.js';
import { createKalturaClient } from './client.js';
import {
  fakeTime,
  kalturaError,
  type Reply,
  startTestServer,
  type TestServer,
} from './test-utils/server.js';
import type { KalturaClient, KalturaClientEvent, KalturaClientOptions } from './types.js';

let server: TestServer;
const clients: KalturaClient[] = [];

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  server.reset();
});

function make(options: Partial<KalturaClientOptions> = {}): KalturaClient {
  const client = createKalturaClient({ serviceUrl: server.url, ...options });
  clients.push(client);
  return client;
}

describe('options', () => {
  it('accepts the service URL with or without /api_v3 and a trailing slash', async () => {
    server.route('system', 'ping', { json: true });
    const origin = server.url.replace(/\/api_v3$/, '');
    for (const serviceUrl of [origin, `${origin}/`, server.url, `${server.url}/`]) {
      const client = make({ serviceUrl });
      await client.system.ping();
    }
    expect(server.requests.map((r) => r.url)).toEqual(
      Array(4).fill('/api_v3/service/system/action/ping'),
    );
    expect(make({ serviceUrl: origin }).serviceUrl).toBe(server.url);
    expect(make({ serviceUrl: 'https://example.com/kaltura/' }).serviceUrl).toBe(
      'https://example.com/kaltura/api_v3',
    );
  });

  it.each<[string, Partial<KalturaClientOptions> | Record<string, unknown>]>([
    ['serviceUrl', { serviceUrl: 'ftp://x' }],
    ['serviceUrl', { serviceUrl: 'not a url' }],
    ['serviceUrl', { serviceUrl: 'https://user:pw@www.kaltura.com' }],
    ['serviceUrl', { serviceUrl: 'https://www.kaltura.com/api_v3?ks=x' }],
    ['partnerId', { partnerId: 1.5 }],
    ['ks', { ks: 'has spaces' }],
    ['clientTag', { clientTag: '' }],
    ['widgetId', { widgetId: '_1/../2' }],
    ['dispatcher', { dispatcher: {} }],
    ['maxConnections', { maxConnections: 0 }],
    ['connectTimeoutMs', { connectTimeoutMs: -1 }],
    ['headersTimeoutMs', { headersTimeoutMs: Number.POSITIVE_INFINITY }],
    ['bodyTimeoutMs', { bodyTimeoutMs: '5' }],
    ['requestTimeoutMs', { requestTimeoutMs: 0 }],
    ['retry', { retry: true }],
    ['retry.maxAttempts', { retry: { maxAttempts: 0 } }],
    ['retry.maxDelay', { retry: { maxDelay: 5 } }],
    ['now', { now: 5 }],
    ['random', { random: 'x' }],
    ['onEvent', { onEvent: {} }],
    ['timeout', { timeout: 5 }],
  ])('refuses a bad %s at creation, naming it', (name, bad) => {
    const call = () =>
      createKalturaClient({
        serviceUrl: 'https://www.kaltura.com',
        ...bad,
      } as KalturaClientOptions);
    expect(call).toThrow(KsError);
    try {
      call();
    } catch (error) {
      expect((error as KsError).code).toBe('ERR_KS_INVALID_OPTION');
      expect((error as KsError).message).toContain(name);
      expect((error as KsError).message).not.toContain('pw@');
    }
  });
});

describe('connections', () => {
  it('keeps connections alive across calls', async () => {
    server.route('system', 'ping', { json: true });
    const client = make();
    for (let i = 0; i < 10; i++) await client.system.ping();
    // undici's pool may open a second socket while the first finishes; never one per call.
    expect(new Set(server.requests.map((r) => r.remotePort)).size).toBeLessThanOrEqual(2);
  });

  it('opens at most maxConnections sockets', async () => {
    server.route('system', 'ping', { json: true, delayMs: 5 });
    const client = make({ maxConnections: 2 });
    await Promise.all(Array.from({ length: 20 }, () => client.system.ping()));
    expect(server.requests).toHaveLength(20);
    expect(new Set(server.requests.map((r) => r.remotePort)).size).toBeLessThanOrEqual(2);
  });

  it('close() closes its own pool; later calls fail typed', async () => {
    server.route('system', 'ping', { json: true });
    const client = make();
    await client.system.ping();
    await client.close();
    await client.close();
    await expect(client.system.ping()).rejects.toMatchObject({
      code: 'ERR_KS_NETWORK',
      message: 'system.ping: the client is closed',
    });
    await expect(
      client.startAppTokenSession({ appTokenId: '0_x', appTokenValue: SPEC_APP_TOKEN.value }),
    ).rejects.toBeInstanceOf(KsError);
  });

  it('sends through an injected dispatcher, and close() leaves it open', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    const pool = agent.get('https://kaltura.example');
    pool
      .intercept({ path: '/api_v3/service/system/action/getTime', method: 'POST' })
      .reply(200, '"1700000000"')
      .times(2);
    const options = { serviceUrl: 'https://kaltura.example', dispatcher: agent } as const;
    const first = createKalturaClient(options);
    await expect(first.system.getTime()).resolves.toBe(1_700_000_000);
    await first.close();
    const second = createKalturaClient(options);
    await expect(second.system.getTime()).resolves.toBe(1_700_000_000);
    await second.close();
    agent.assertNoPendingInterceptors();
    await agent.close();
  });
});

describe('no credential leaves the client', () => {
  const SECRET = SPEC_SECRET;
  const PASSWORD = 'correct horse battery staple';
  const TOKEN = SPEC_APP_TOKEN.value;
  const ADMIN_KS = createKs({ secret: SECRET, partnerId: SPEC_PARTNER, type: KsType.ADMIN });
  const USER_KS = createKs({ secret: SECRET, partnerId: SPEC_PARTNER, userId: 'alice' });

  /** A server that echoes every parameter back in its error, as a careless proxy might. */
  function echo(request: { params: URLSearchParams }): Reply {
    const all = [...request.params].map(([k, v]) => `${k}=${v}`).join(' ');
    return kalturaError('SOME_ERROR', `rejected: ${all}`, Object.fromEntries(request.params));
  }

  it('not in any error message, argument, event or URL', async () => {
    const events: KalturaClientEvent[] = [];
    const client = make({
      partnerId: SPEC_PARTNER,
      ks: ADMIN_KS,
      sleep: fakeTime().sleep,
      onEvent: (event) => events.push(event),
    });
    for (const action of ['start', 'get', 'end']) server.route('session', action, echo);
    server.route('user', 'loginByLoginId', echo);
    server.route('appToken', 'startSession', echo);
    server.route('session', 'startWidgetSession', {
      json: { partnerId: SPEC_PARTNER, ks: USER_KS, userId: 0 },
    });
    server.route('system', 'ping', [
      { raw: `oops ${ADMIN_KS}`, status: 500 },
      { reset: true },
      { raw: 'x', status: 400 },
    ]);

    const errors: unknown[] = [];
    const calls = [
      () => client.session.start({ secret: SECRET, userId: 'alice' }),
      () => client.session.get({ session: USER_KS }),
      () => client.session.end({ ks: USER_KS }),
      () => client.user.loginByLoginId({ loginId: 'alice@example.com', password: PASSWORD }),
      () => client.startAppTokenSession({ appTokenId: '0_ab12cd34', appTokenValue: TOKEN }),
      () => client.system.ping(),
      () => client.request('media', 'get', { ks: USER_KS }),
    ];
    for (const call of calls) errors.push(await call().catch((e: unknown) => e));

    const seen = errors.map((error) => {
      expect(error).toBeInstanceOf(KsError);
      const e = error as KalturaApiError;
      return {
        message: e.message,
        json: e.toJSON(),
        kalturaMessage: e.kalturaMessage,
        args: e.args,
        cause: e.cause instanceof Error ? e.cause.message : undefined,
      };
    });
    const text = JSON.stringify({ seen, events, urls: server.requests.map((r) => r.url) });
    for (const secret of [SECRET, PASSWORD, TOKEN, ADMIN_KS, USER_KS]) {
      expect(text).not.toContain(secret);
    }
    // The echo did happen, and was redacted.
    expect(text).toContain('[redacted]');
    expect(server.requests.every((r) => !r.url.includes('?'))).toBe(true);
  });
});
