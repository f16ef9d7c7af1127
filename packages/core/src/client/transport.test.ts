import { type Dispatcher, errors } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { KalturaApiError, KsError } from '../errors.js';
import { SPEC_PARTNER } from '../test-utils/vectors.js';
import { createKalturaClient } from './client.js';
import {
  closedPort,
  fakeTime,
  kalturaError,
  startTestServer,
  type TestServer,
} from './test-utils/server.js';
import type { KalturaClient, KalturaClientEvent, KalturaClientOptions } from './types.js';

const OK = { json: '1700000000' };
const KS = 'djJ8MTIzNDV8iISeMorQNxH0lUXFWe4onH3OMRzxc-nqjqiQ_6KhVDQK-S6bRKVkFxuhBSdDuqBa';

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
  const client = createKalturaClient({
    serviceUrl: server.url,
    partnerId: SPEC_PARTNER,
    ...options,
  });
  clients.push(client);
  return client;
}

async function failure(promise: Promise<unknown>): Promise<KsError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(KsError);
    return error as KsError;
  }
  throw new Error('expected a rejection');
}

describe('retries', () => {
  it('recovers from 5xx with exponential backoff and injected jitter', async () => {
    const time = fakeTime();
    const client = make({ now: time.now, sleep: time.sleep, random: () => 0.5 });
    server.route('system', 'getTime', [
      { raw: 'down', status: 500 },
      { raw: '<html>bad gateway</html>', status: 502 },
      OK,
    ]);
    await expect(client.system.getTime()).resolves.toBe(1_700_000_000);
    expect(server.count('system', 'getTime')).toBe(3);
    // Full jitter: random × min(maxDelayMs, baseDelayMs · 2^(n-1)) = 0.5 × 100, 0.5 × 200.
    expect(time.slept).toEqual([50, 100]);
  });

  it('never retries an API error such as INVALID_KS', async () => {
    const time = fakeTime();
    const client = make({ now: time.now, sleep: time.sleep, ks: KS });
    server.route(
      'session',
      'get',
      kalturaError('INVALID_KS', `Invalid KS "${KS}", Error "-1,INVALID_STR"`, {
        KSID: KS,
        ERR_CODE: '-1',
        ERR_DESC: 'INVALID_STR',
      }),
    );
    const error = await failure(client.session.get());
    expect(error).toBeInstanceOf(KalturaApiError);
    expect(error).toMatchObject({
      code: 'ERR_KS_API',
      kalturaCode: 'INVALID_KS',
      service: 'session',
      action: 'get',
      status: 200,
      args: { KSID: '[redacted]', ERR_CODE: '-1', ERR_DESC: 'INVALID_STR' },
    });
    expect(server.count('session', 'get')).toBe(1);
    expect(time.slept).toEqual([]);
  });

  it('never retries a 4xx', async () => {
    const client = make({ sleep: fakeTime().sleep });
    server.route('system', 'getTime', { raw: 'nope', status: 403 });
    const error = await failure(client.system.getTime());
    expect(error).toMatchObject({
      code: 'ERR_KS_HTTP',
      message: 'system.getTime: HTTP 403 from Kaltura',
    });
    expect(server.count('system', 'getTime')).toBe(1);
  });

  it('retries a reset connection for actions that may be repeated', async () => {
    const client = make({ sleep: fakeTime().sleep });
    server.route('session', 'start', [{ reset: true }, { reset: true }, { json: KS }]);
    await expect(client.session.start({ secret: 's3cr3t-s3cr3t' })).resolves.toBe(KS);
    expect(server.count('session', 'start')).toBe(3);
  });

  it('does not repeat a login after a reset (the first may have counted), nor appToken.add', async () => {
    const client = make({ sleep: fakeTime().sleep, ks: KS });
    server.route('user', 'loginByLoginId', { reset: true });
    server.route('appToken', 'add', { raw: 'oops', status: 503 });
    const login = await failure(
      client.user.loginByLoginId({ loginId: 'a@b.c', password: 'pw-123456' }),
    );
    expect(login.code).toBe('ERR_KS_NETWORK');
    expect(server.count('user', 'loginByLoginId')).toBe(1);
    const add = await failure(client.appToken.add({ description: 'x' }));
    expect(add.code).toBe('ERR_KS_HTTP');
    expect(server.count('appToken', 'add')).toBe(1);
  });

  it('retries a refused connection for any action (nothing was sent)', async () => {
    const events: KalturaClientEvent[] = [];
    const port = await closedPort();
    const client = make({
      serviceUrl: `http://127.0.0.1:${port}`,
      sleep: fakeTime().sleep,
      onEvent: (event) => events.push(event),
    });
    const error = await failure(
      client.user.loginByLoginId({ loginId: 'a@b.c', password: 'pw-123456' }),
    );
    expect(error).toMatchObject({
      code: 'ERR_KS_NETWORK',
      message: `user.loginByLoginId: connection failed (ECONNREFUSED 127.0.0.1:${port}) (after 3 attempts)`,
    });
    expect(events.filter((e) => e.type === 'request')).toHaveLength(3);
    expect(events.filter((e) => e.type === 'retry')).toHaveLength(2);
    expect(events.at(-1)).toMatchObject({ type: 'failure', attempts: 3 });
  });

  it('honours Retry-After on 429, also for actions that are not repeatable', async () => {
    const time = fakeTime();
    const client = make({ now: time.now, sleep: time.sleep, random: () => 0 });
    server.route('user', 'loginByLoginId', [
      { raw: 'slow down', status: 429, headers: { 'retry-after': '2' } },
      { json: KS },
    ]);
    await expect(
      client.user.loginByLoginId({ loginId: 'a@b.c', password: 'pw-123456' }),
    ).resolves.toBe(KS);
    expect(time.slept).toEqual([2000]);
  });

  it('gives up at once when Retry-After is beyond the budget', async () => {
    const time = fakeTime();
    const client = make({ now: time.now, sleep: time.sleep });
    server.route('system', 'getTime', {
      raw: 'later',
      status: 503,
      headers: { 'retry-after': '3600' },
    });
    const error = await failure(client.system.getTime());
    expect(error.code).toBe('ERR_KS_HTTP');
    expect(server.count('system', 'getTime')).toBe(1);
    expect(time.slept).toEqual([]);
  });

  it('malformed JSON: an answer on 200 is not retried, one on 5xx is', async () => {
    const client = make({ sleep: fakeTime().sleep });
    server.route('system', 'getTime', { raw: '{"partnerId": 1', status: 200 });
    expect(await failure(client.system.getTime())).toMatchObject({
      code: 'ERR_KS_RESPONSE',
      message: 'system.getTime: the answer is not JSON',
    });
    expect(server.count('system', 'getTime')).toBe(1);
    server.route('system', 'ping', [{ raw: '{"oops', status: 500 }, { json: true }]);
    await expect(client.system.ping()).resolves.toBe(true);
    expect(server.count('system', 'ping')).toBe(2);
  });

  it('a flood of failures stays within maxTotalMs, and within maxAttempts', async () => {
    const time = fakeTime();
    const started = time.now();
    const client = make({
      now: time.now,
      sleep: time.sleep,
      random: () => 0.999,
      retry: { maxAttempts: 1000, baseDelayMs: 100, maxDelayMs: 1000, maxTotalMs: 3000 },
    });
    server.route('system', 'getTime', { raw: 'down', status: 503 });
    const error = await failure(client.system.getTime());
    expect(error.code).toBe('ERR_KS_HTTP');
    expect(time.now() - started).toBeLessThanOrEqual(3000);
    // 99 + 199 + 399 + 799 + 999 = 2495; one more 999 would pass 3000.
    expect(time.slept).toEqual([99, 199, 399, 799, 999]);
    expect(server.count('system', 'getTime')).toBe(6);

    const few = make({ now: time.now, sleep: time.sleep, retry: { maxAttempts: 2 } });
    await failure(few.system.getTime());
    expect(server.count('system', 'getTime')).toBe(8);
  });

  it('a flood of slow failures ends at requestTimeoutMs', async () => {
    // The retry budget would go on for a minute and a thousand attempts: only the deadline
    // can end this call. A clock that stands still keeps the retry policy from stopping it
    // first (it measures elapsed time on `now`). The timers — the deadline, the backoff and
    // the server's slow answers — are fake, moved on a millisecond at a turn of the event
    // loop: the call fails at 200 ms of their time, however loaded the machine.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const client = make({
        requestTimeoutMs: 200,
        retry: { maxAttempts: 1000, baseDelayMs: 0, maxTotalMs: 60_000 },
        now: () => 1_700_000_000_000,
      });
      server.route('system', 'getTime', [
        { raw: 'down', status: 500 },
        { raw: 'down', status: 500, delayMs: 20 },
      ]);
      let moved = 0;
      let endedAt: number | undefined;
      const call = failure(client.system.getTime()).finally(() => {
        endedAt = moved;
      });
      while (endedAt === undefined && moved < 1_000) {
        await new Promise((resolve) => setImmediate(resolve));
        await vi.advanceTimersByTimeAsync(1);
        moved += 1;
      }
      expect(await call).toMatchObject({
        code: 'ERR_KS_TIMEOUT',
        message: 'system.getTime: no answer within requestTimeoutMs (200 ms)',
      });
      expect(endedAt).toBeGreaterThanOrEqual(199);
      expect(endedAt).toBeLessThanOrEqual(201);
      // A flood: every slow failure was retried until then.
      expect(server.count('system', 'getTime')).toBeGreaterThan(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('retry: false makes one attempt', async () => {
    const client = make({ retry: false });
    server.route('system', 'getTime', { raw: 'down', status: 500 });
    expect((await failure(client.system.getTime())).code).toBe('ERR_KS_HTTP');
    expect(server.count('system', 'getTime')).toBe(1);
  });
});

describe('timeouts', () => {
  // undici runs headers and body timers at ~0.5 s resolution: a 100 ms limit fires within ~1 s.
  it('a hung request ends at headersTimeoutMs', async () => {
    const client = make({ headersTimeoutMs: 100, retry: false });
    server.route('system', 'getTime', { hang: true });
    const error = await failure(client.system.getTime());
    // The message names the timer that ended it. No upper wall-clock bound: a loaded machine
    // runs timers late (a call that hung on would hit the test's timeout).
    expect(error).toMatchObject({
      code: 'ERR_KS_TIMEOUT',
      message: 'system.getTime: no response headers within headersTimeoutMs (100 ms)',
    });
  });

  it('a hung request with retries ends at requestTimeoutMs', async () => {
    const events: KalturaClientEvent[] = [];
    const client = make({ requestTimeoutMs: 100, onEvent: (event) => events.push(event) });
    server.route('system', 'getTime', { hang: true });
    const error = await failure(client.system.getTime());
    // As above: the message names the timer, whatever the machine's load. And it was the whole
    // call's deadline, not each attempt's: one attempt, never retried past it.
    expect(error).toMatchObject({
      code: 'ERR_KS_TIMEOUT',
      message: 'system.getTime: no answer within requestTimeoutMs (100 ms)',
    });
    expect(events.filter((event) => event.type === 'request')).toHaveLength(1);
    expect(events.filter((event) => event.type === 'retry')).toEqual([]);
  });

  it('a stalled body ends at bodyTimeoutMs', async () => {
    const client = make({ bodyTimeoutMs: 100, retry: false });
    server.route('system', 'getTime', { stallBody: '"17000' });
    expect(await failure(client.system.getTime())).toMatchObject({
      code: 'ERR_KS_TIMEOUT',
      message: 'system.getTime: response body stalled for bodyTimeoutMs (100 ms)',
    });
  });

  it('a connect timeout names connectTimeoutMs and is retried even for a login', async () => {
    let calls = 0;
    const dispatcher = {
      request: async () => {
        calls++;
        throw new errors.ConnectTimeoutError();
      },
    } as unknown as Dispatcher;
    const client = make({ dispatcher, sleep: fakeTime().sleep });
    const error = await failure(
      client.user.loginByLoginId({ loginId: 'a@b.c', password: 'pw-123456' }),
    );
    expect(error).toMatchObject({
      code: 'ERR_KS_TIMEOUT',
      message:
        'user.loginByLoginId: no connection within connectTimeoutMs (5000 ms) (after 3 attempts)',
    });
    expect(calls).toBe(3);
  });

  it('a host that does not resolve is named, and not retried', async () => {
    let calls = 0;
    const dispatcher = {
      request: async () => {
        calls++;
        throw Object.assign(new Error('getaddrinfo ENOTFOUND www.kaltura.co'), {
          code: 'ENOTFOUND',
        });
      },
    } as unknown as Dispatcher;
    const client = make({
      serviceUrl: 'https://www.kaltura.co:8443/api_v3',
      dispatcher,
      sleep: fakeTime().sleep,
    });
    expect(await failure(client.system.ping())).toMatchObject({
      code: 'ERR_KS_NETWORK',
      message: 'system.ping: connection failed (ENOTFOUND www.kaltura.co:8443)',
    });
    expect(calls).toBe(1);
  });
});

describe('abort', () => {
  it("the caller's signal ends a call in flight with ERR_KS_ABORTED", async () => {
    const client = make();
    server.route('system', 'getTime', { hang: true });
    const controller = new AbortController();
    const pending = client.system.getTime({ signal: controller.signal });
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort(new Error('user left'));
    const error = await failure(pending);
    expect(error).toMatchObject({ code: 'ERR_KS_ABORTED', message: 'system.getTime: aborted' });
    expect((error.cause as Error).message).toBe('user left');
  });

  it('an aborted signal sends nothing', async () => {
    const client = make();
    const error = await failure(client.system.ping({ signal: AbortSignal.abort() }));
    expect(error.code).toBe('ERR_KS_ABORTED');
    expect(server.requests).toHaveLength(0);
  });

  it('aborting during a backoff ends the call', async () => {
    const controller = new AbortController();
    const client = make({
      random: () => 0.5,
      sleep: (_ms, signal) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => resolve(), { once: true });
          controller.abort();
        }),
    });
    server.route('system', 'getTime', { raw: 'down', status: 500 });
    const error = await failure(client.system.getTime({ signal: controller.signal }));
    expect(error.code).toBe('ERR_KS_ABORTED');
    expect(server.count('system', 'getTime')).toBe(1);
  });
});

describe('events', () => {
  it('reports requests, responses, retries and failures; a throwing observer changes nothing', async () => {
    const time = fakeTime();
    const events: KalturaClientEvent[] = [];
    const client = make({
      now: time.now,
      sleep: time.sleep,
      random: () => 0,
      onEvent: (event) => {
        events.push(event);
        throw new Error('observer bug');
      },
    });
    server.route('system', 'getTime', [{ raw: 'x', status: 502 }, OK]);
    await expect(client.system.getTime()).resolves.toBe(1_700_000_000);
    expect(events.map((e) => e.type)).toEqual([
      'request',
      'response',
      'retry',
      'request',
      'response',
    ]);
    expect(events[1]).toMatchObject({
      service: 'system',
      action: 'getTime',
      status: 502,
      attempt: 1,
    });
    expect(events[2]).toMatchObject({ delayMs: 0, error: { code: 'ERR_KS_HTTP' } });
    expect(events[4]).toMatchObject({ status: 200, attempt: 2 });

    server.route(
      'session',
      'get',
      kalturaError('SERVICE_FORBIDDEN', 'forbidden', { SERVICE: 'x' }),
    );
    await failure(client.session.get({}, { ks: KS }));
    expect(events.slice(-2)).toMatchObject([
      { type: 'response', kalturaCode: 'SERVICE_FORBIDDEN', status: 200 },
      { type: 'failure', attempts: 1, error: { kalturaCode: 'SERVICE_FORBIDDEN' } },
    ]);
  });
});

describe('observeCall', () => {
  type Heard = { call: string; retries: unknown[]; ends: unknown[] };
  function observing() {
    const heard: Heard[] = [];
    const observeCall: KalturaClientOptions['observeCall'] = ({ service, action }) => {
      const entry: Heard = { call: `${service}.${action}`, retries: [], ends: [] };
      heard.push(entry);
      return {
        retry: (event) => entry.retries.push(event),
        end: (event) => entry.ends.push(event),
      };
    };
    return { heard, observeCall };
  }

  it('hears each call once: its retries with the status, then one end with attempts and duration', async () => {
    const time = fakeTime();
    const { heard, observeCall } = observing();
    const client = make({ now: time.now, sleep: time.sleep, random: () => 0.5, observeCall });
    server.route('system', 'getTime', [{ raw: 'x', status: 502 }, OK]);
    await expect(client.system.getTime()).resolves.toBe(1_700_000_000);
    expect(heard).toEqual([
      {
        call: 'system.getTime',
        retries: [{ attempt: 1, delayMs: 50, error: expect.any(KsError), status: 502 }],
        ends: [{ attempts: 2, durationMs: 50, status: 200 }],
      },
    ]);
  });

  it("ends a refused call with the caller's error, which carries Kaltura's code", async () => {
    const { heard, observeCall } = observing();
    const client = make({ observeCall, ks: KS });
    server.route('session', 'get', kalturaError('INVALID_KS', `Invalid KS "${KS}"`));
    const error = await failure(client.session.get());
    expect(heard).toHaveLength(1);
    expect(heard[0]!.retries).toEqual([]);
    expect(heard[0]!.ends).toEqual([
      { attempts: 1, durationMs: expect.any(Number), status: 200, error },
    ]);
    expect(error).toMatchObject({ kalturaCode: 'INVALID_KS' });
  });

  it('ends a call the caller aborts, and one that no answer reached, without a status', async () => {
    const { heard, observeCall } = observing();
    const client = make({ observeCall, retry: false, requestTimeoutMs: 1_000 });
    server.route('system', 'getTime', { hang: true });
    const controller = new AbortController();
    const pending = client.system.getTime({ signal: controller.signal });
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    const aborted = await failure(pending);
    const port = await closedPort();
    const refused = make({ observeCall, serviceUrl: `http://127.0.0.1:${port}`, retry: false });
    const unreachable = await failure(refused.system.ping());
    expect(heard.map((h) => h.ends)).toEqual([
      [{ attempts: 1, durationMs: expect.any(Number), status: undefined, error: aborted }],
      [{ attempts: 1, durationMs: expect.any(Number), status: undefined, error: unreachable }],
    ]);
    expect(aborted.code).toBe('ERR_KS_ABORTED');
    expect(unreachable.code).toBe('ERR_KS_NETWORK');
  });

  it('a call goes on when the observer (or observeCall) throws, or when there is none', async () => {
    server.route('system', 'getTime', OK);
    const throwing = make({
      observeCall: () => ({
        end: () => {
          throw new Error('observer bug');
        },
      }),
    });
    await expect(throwing.system.getTime()).resolves.toBe(1_700_000_000);
    const refusing = make({
      observeCall: () => {
        throw new Error('observeCall bug');
      },
    });
    await expect(refusing.system.getTime()).resolves.toBe(1_700_000_000);
    const none = make({ observeCall: () => undefined });
    await expect(none.system.getTime()).resolves.toBe(1_700_000_000);
  });

  it('is checked when the client is made', () => {
    expect(() =>
      createKalturaClient({
        serviceUrl: server.url,
        observeCall: 'yes' as unknown as KalturaClientOptions['observeCall'],
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_KS_INVALID_OPTION',
        message: 'observeCall must be a function',
      }),
    );
  });
});
