import { request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { KsError } from '@kaltura-ks/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FaultMode } from './faults.js';
import type { Emulator } from './server.js';
import { call, callJson, ok, raw, startEmulator, testOptions } from './test-utils/harness.js';

/** A scripted random source: the next values `rate` compares against. */
const script: number[] = [];
let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator(testOptions({ random: () => script.shift() ?? 0.99 }));
});
afterEach(() => {
  emulator.faults.clear();
  script.length = 0;
});
afterAll(() => emulator.close());

describe('fault modes', () => {
  it('http-5xx answers the status (default 500) for matching requests only', async () => {
    emulator.faults.set({ service: 'system', action: 'ping', mode: 'http-5xx' });
    const failed = await call(emulator, 'system', 'ping');
    expect(failed.status).toBe(500);
    expect(failed.json).toBeUndefined();
    expect((await call(emulator, 'system', 'getTime')).status).toBe(200);

    emulator.faults.set({
      service: 'system',
      action: 'ping',
      mode: 'http-5xx',
      status: 503,
      retryAfterSeconds: 2,
    });
    const unavailable = await call(emulator, 'system', 'ping');
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get('retry-after')).toBe('2');
    expect(emulator.faults.list()).toHaveLength(1);
  });

  it('kaltura-error answers a Kaltura error with HTTP 200', async () => {
    emulator.faults.set({
      service: 'appToken',
      action: 'startSession',
      mode: 'kaltura-error',
      code: 'APP_TOKEN_EXPIRED',
      args: ['0_x'],
    });
    const { status, json } = await call(emulator, 'apptoken', 'startsession');
    expect(status).toBe(200);
    expect(json).toEqual({
      code: 'APP_TOKEN_EXPIRED',
      message: 'Application token id "0_x" expired',
      objectType: 'KalturaAPIException',
      args: { ID: '0_x' },
    });
    emulator.faults.set({ service: 'system', mode: 'kaltura-error' });
    expect((await call(emulator, 'system', 'ping')).json.code).toBe('INTERNAL_SERVERL_ERROR');
    emulator.faults.set({ service: 'session', mode: 'kaltura-error', code: 'SOMETHING_ELSE' });
    expect((await call(emulator, 'session', 'end')).json).toMatchObject({
      code: 'SOMETHING_ELSE',
      args: [],
    });
  });

  it('delay waits latencyMs, then answers normally', async () => {
    emulator.faults.set({ service: 'system', action: 'ping', mode: 'delay', latencyMs: 60 });
    const started = performance.now();
    expect((await call(emulator, 'system', 'ping')).json).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('hang never answers: the client times out', async () => {
    emulator.faults.set({ service: 'system', mode: 'hang' });
    await expect(
      fetch(`${emulator.url}/service/system/action/ping`, { signal: AbortSignal.timeout(80) }),
    ).rejects.toThrow();
    emulator.faults.clear();
    expect((await call(emulator, 'system', 'ping')).json).toBe(true);
  });

  it('reset drops the connection', async () => {
    emulator.faults.set({ action: 'ping', mode: 'reset' });
    await expect(fetch(`${emulator.url}/service/system/action/ping`)).rejects.toThrow(
      /fetch failed/,
    );
  });

  it('malformed answers 200 with a body that is not JSON', async () => {
    emulator.faults.set({ service: 'session', action: 'start', mode: FaultMode.MALFORMED });
    const response = await fetch(`${emulator.url}/service/session/action/start`, {
      method: 'POST',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    await expect(response.json()).rejects.toThrow(SyntaxError);
  });

  it('targets multirequests as a whole', async () => {
    emulator.faults.set({ service: 'multirequest', mode: 'http-5xx', status: 502 });
    expect(
      (
        await callJson(emulator, '/service/multirequest', {
          0: { service: 'system', action: 'ping' },
        })
      ).status,
    ).toBe(502);
    expect((await call(emulator, 'system', 'ping')).status).toBe(200);
  });
});

describe('fault rules', () => {
  it('fail the given share of requests, with injectable randomness', async () => {
    emulator.faults.set({ service: 'system', action: 'ping', mode: 'http-5xx', rate: 0.5 });
    script.push(0.1, 0.9, 0.4, 0.6);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(emulator, 'system', 'ping')).status);
    expect(statuses).toEqual([500, 200, 500, 200]);
  });

  it('repeat exactly with a seed', async () => {
    const run = async () => {
      emulator.faults.set({
        service: 'system',
        action: 'ping',
        mode: 'http-5xx',
        rate: 0.3,
        seed: 42,
      });
      const statuses = [];
      for (let i = 0; i < 20; i++) statuses.push((await call(emulator, 'system', 'ping')).status);
      return statuses;
    };
    const first = await run();
    expect(await run()).toEqual(first);
    expect(first.filter((s) => s === 500).length).toBeGreaterThan(0);
    expect(first.filter((s) => s === 200).length).toBeGreaterThan(0);
  });

  it('pick the most specific matching rule', async () => {
    emulator.faults.set({ mode: 'http-5xx', status: 500 });
    emulator.faults.set({ service: 'system', mode: 'http-5xx', status: 502 });
    emulator.faults.set({ service: 'system', action: 'getTime', mode: 'http-5xx', status: 503 });
    expect((await call(emulator, 'system', 'getTime')).status).toBe(503);
    expect((await call(emulator, 'system', 'ping')).status).toBe(502);
    expect((await call(emulator, 'session', 'end')).status).toBe(500);
    emulator.faults.clear();
    expect(emulator.faults.list()).toEqual([]);
    expect((await call(emulator, 'system', 'ping')).status).toBe(200);
  });

  it('are validated, naming the field', () => {
    expect(() => emulator.faults.set({ mode: 'explode' as 'hang' })).toThrow(KsError);
    expect(() => emulator.faults.set({ mode: 'http-5xx', status: 200 })).toThrow(/status/);
    expect(() => emulator.faults.set({ mode: 'delay', rate: 2 })).toThrow(/rate/);
    expect(() => emulator.faults.set({ mode: 'kaltura-error', code: 'lower case' })).toThrow(
      /code/,
    );
  });
});

describe('the HTTP control path', () => {
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    raw(`${emulator.adminUrl}/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('sets, lists and clears faults', async () => {
    const set = await post({
      service: 'system',
      action: 'ping',
      mode: 'kaltura-error',
      code: 'SERVICE_FORBIDDEN',
      args: ['x'],
    });
    expect(set.status).toBe(200);
    expect(set.json).toEqual([
      {
        service: 'system',
        action: 'ping',
        mode: 'kaltura-error',
        code: 'SERVICE_FORBIDDEN',
        args: ['x'],
      },
    ]);
    expect((await raw(`${emulator.adminUrl}/faults`)).json).toHaveLength(1);
    expect((await call(emulator, 'system', 'ping')).json.code).toBe('SERVICE_FORBIDDEN');

    expect((await raw(`${emulator.adminUrl}/faults`, { method: 'DELETE' })).status).toBe(204);
    expect((await call(emulator, 'system', 'ping')).json).toBe(true);

    expect(
      (
        await post([
          { mode: 'hang', service: 'a' },
          { mode: 'reset', service: 'b' },
        ])
      ).json,
    ).toHaveLength(2);
  });

  it('reads and resets stats', async () => {
    await ok(emulator, 'system', 'getTime');
    const stats = await raw(`${emulator.adminUrl}/stats`);
    expect(stats.json['system.getTime']).toBeGreaterThan(0);
    expect(stats.json.total).toBeGreaterThan(0);
    expect((await raw(`${emulator.adminUrl}/stats`, { method: 'DELETE' })).status).toBe(204);
    expect(emulator.stats()).toEqual({ total: 0 });
  });

  it('refuses bad rules, non-JSON posts and unknown paths', async () => {
    const bad = await post({ mode: 'nope' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('ERR_KS_INVALID_OPTION');
    // All or nothing.
    expect((await post([{ mode: 'hang' }, { mode: 'nope' }])).status).toBe(400);
    expect(emulator.faults.list()).toEqual([]);
    const form = await raw(`${emulator.adminUrl}/faults`, {
      method: 'POST',
      body: new URLSearchParams({ mode: 'hang' }),
    });
    expect(form.status).toBe(415);
    expect(
      (
        await raw(`${emulator.adminUrl}/faults`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{',
        })
      ).status,
    ).toBe(400);
    expect((await raw(`${emulator.adminUrl}/nothing`)).status).toBe(404);
  });

  it('serves loopback pages with CORS and refuses other origins and hosts', async () => {
    const preflight = await raw(`${emulator.adminUrl}/faults`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');

    const foreign = await post({ mode: 'hang' }, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(emulator.faults.list()).toEqual([]);

    const rebound = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(
        `${emulator.adminUrl}/stats`,
        { headers: { host: 'evil.example' } },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      request.on('error', reject);
      request.end();
    });
    expect(rebound).toBe(403);
  });
});

describe('close()', () => {
  it('ends promptly with hung and delayed requests, which then fail', async () => {
    const local = await startEmulator(testOptions());
    local.faults.set({ service: 'system', action: 'ping', mode: 'hang' });
    local.faults.set({ service: 'system', action: 'getTime', mode: 'delay', latencyMs: 60_000 });
    const outcome = (response: Promise<Response>) =>
      response.then(
        () => 'answered',
        () => 'failed',
      );
    const hung = outcome(fetch(`${local.url}/service/system/action/ping`));
    const delayed = outcome(fetch(`${local.url}/service/system/action/getTime`));
    while (local.stats().total < 2) await new Promise((resolve) => setImmediate(resolve));
    const started = performance.now();
    await local.close();
    // Not waiting for them: the delayed one would take 60 s, the hung one forever. A bound well
    // under that, not a tight one (1 s was): a loaded machine can stall a process for seconds.
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(await hung).toBe('failed');
    expect(await delayed).toBe('failed');
    await expect(local.close()).resolves.toBeUndefined();
  });
});
