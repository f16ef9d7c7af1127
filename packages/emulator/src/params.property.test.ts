import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiException } from './errors.js';
import {
  addFormParams,
  addJsonParams,
  ParamDecodeError,
  Params,
  type ParamTree,
  phpInt,
  setPath,
} from './params.js';
import { type Emulator, startEmulator } from './server.js';

/**
 * Fuzzing the emulator's request parsing with fast-check: form and query strings (nested
 * `a[b][c]` and `1:service` keys, percent-encoding, `+`), JSON bodies of any shape and
 * depth, typed reads of the resulting tree, and whole HTTP requests with any method, path,
 * content type and body up to past the size limit. Only the emulator's own errors
 * (`ParamDecodeError`, `ApiException`) may come out; no prototype is polluted; every HTTP
 * answer is Kaltura-shaped JSON and the server keeps serving.
 */

const MAX_BODY_BYTES = 4096;

/** Pieces of form syntax glued at random: keys, brackets, colons, escapes, separators. */
const formish = fc
  .array(
    fc.constantFrom(
      'a',
      'ks',
      'service',
      'action',
      'filter',
      '1',
      '0',
      '__proto__',
      'constructor',
      'prototype',
      '[',
      ']',
      '[]',
      '][',
      ':',
      '-',
      '=',
      '&',
      '+',
      '%',
      '%2',
      '%20',
      '%5B',
      '%C3%28',
      '%F0%9F%98%80',
      '%00',
      '__null',
      'é',
      ' ',
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));
const anyText = fc.oneof(
  formish,
  fc.string({ maxLength: 100 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
);

function onlyOwnErrors(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof ParamDecodeError) && !(error instanceof ApiException)) throw error;
  }
}

function depthOf(tree: ParamTree): number {
  let deepest = 0;
  for (const value of tree.values()) {
    if (value instanceof Map) deepest = Math.max(deepest, depthOf(value));
    else expect(typeof value).toBe('string');
  }
  return deepest + 1;
}

/** Reads every field every way an action might; only Kaltura errors may come out. */
function readAll(params: Params, depth = 0): void {
  for (const name of params.tree.keys()) {
    onlyOwnErrors(() => params.string(name));
    onlyOwnErrors(() => params.int(name));
    onlyOwnErrors(() => params.intEnum(name, [0, 2], 'KalturaSessionType'));
    onlyOwnErrors(() => params.stringEnum(name, ['SHA1', 'MD5'], 'KalturaAppTokenHashType'));
    onlyOwnErrors(() => params.requiredString(name));
    onlyOwnErrors(() => {
      const inner = params.object(name);
      if (inner !== undefined && depth < 3) readAll(inner, depth + 1);
    });
  }
}

describe('request parameters, fuzzed', () => {
  it('form and query strings: only decode or Kaltura errors, no prototype pollution (5,000 cases)', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const tree: ParamTree = new Map();
        onlyOwnErrors(() => addFormParams(tree, text));
        expect(depthOf(tree)).toBeLessThanOrEqual(34);
        readAll(new Params(tree));
        expect(Object.keys(Object.prototype)).toEqual([]);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 5_000 },
    );
  });

  it('JSON bodies of any shape: only Kaltura errors, leaves are strings (1,500 cases)', () => {
    const json = fc.oneof(
      fc.jsonValue({ maxDepth: 5 }),
      fc.dictionary(formish, fc.jsonValue({ maxDepth: 4 }), { maxKeys: 6 }),
      fc.constant(JSON.parse('{"__proto__":{"polluted":1},"a":{"__proto__":{"polluted":2}}}')),
    );
    fc.assert(
      fc.property(json, (body) => {
        const tree: ParamTree = new Map();
        onlyOwnErrors(() => addJsonParams(tree, body));
        depthOf(tree);
        readAll(new Params(tree));
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 1_500 },
    );
  });

  it('deep and wide input is refused or read quickly, never a stack overflow', () => {
    // CPU time, not the wall clock: other processes on a loaded machine do not add to it.
    const timed = (fn: () => void) => {
      const started = process.cpuUsage();
      onlyOwnErrors(fn);
      const { user, system } = process.cpuUsage(started);
      return (user + system) / 1000;
    };
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    const worst = Math.max(
      timed(() => addFormParams(new Map(), `a${'[b]'.repeat(100_000)}=1`)),
      timed(() => addFormParams(new Map(), `${'a:'.repeat(50_000)}a=1`)),
      timed(() => addFormParams(new Map(), 'a[]=1&'.repeat(100_000))),
      timed(() => addFormParams(new Map(), `${'%'.repeat(100_000)}=1`)),
      timed(() => addJsonParams(new Map(), { a: deep })),
      timed(() =>
        setPath(
          new Map(),
          Array.from({ length: 100_000 }, () => 'x'),
          '1',
        ),
      ),
    );
    // Linear work: a 600 kB body of 100,000 pairs takes ~0.1 s of CPU on a laptop; 1 s is the
    // "no hang" bound (a quadratic read would take minutes).
    expect(worst).toBeLessThan(1_000);
  });

  it('phpInt always gives a safe integer', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(Number.isSafeInteger(phpInt(text))).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('whole HTTP requests, fuzzed', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ maxBodyBytes: MAX_BODY_BYTES });
  });
  afterAll(async () => {
    await emulator?.close();
  });

  const path = fc.oneof(
    fc.constantFrom(
      '/api_v3/service/session/action/start',
      '/api_v3/service/appToken/action/startSession',
      '/api_v3/service/multirequest',
      '/api_v3/index.php',
      '/api_v3/',
      '/api_v3/service/%ZZ/action/x',
      '/api_v3//service//system//action//ping',
      '/elsewhere',
    ),
    formish.map((s) => `/api_v3/service/${encodeURIComponent(s)}/action/${encodeURIComponent(s)}`),
    formish.map((s) => `/api_v3/index.php?${s}`),
  );
  const contentType = fc.constantFrom(
    undefined,
    'application/x-www-form-urlencoded',
    'application/json',
    'application/vnd.api+json',
    'application/json; charset=latin1',
    'multipart/form-data; boundary=x',
    'text/plain',
    'APPLICATION/JSON',
    ';;;',
  );
  const body = fc.oneof(
    fc.constant(''),
    formish,
    fc.string({ maxLength: 300 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    fc
      .array(fc.tuple(fc.nat({ max: 3 }), formish, formish), { maxLength: 6 })
      .map((items) => items.map(([n, k, v]) => `${n}:${k}=${v}`).join('&')),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
    fc.nat({ max: 3 * MAX_BODY_BYTES }).map((n) => `a=${'x'.repeat(n)}`),
  );

  it('always answers Kaltura-shaped JSON (200, 404 or 413) and keeps serving (300 cases)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
        path,
        contentType,
        body,
        async (method, target, type, text) => {
          const headers: Record<string, string> = {};
          if (type !== undefined) headers['content-type'] = type;
          const response = await fetch(`${emulator.origin}${target}`, {
            method,
            headers,
            body: method === 'GET' ? undefined : Buffer.from(text, 'latin1'),
          });
          const answer = await response.text();
          expect([200, 404, 413]).toContain(response.status);
          expect(response.headers.get('content-type')).toBe('application/json');
          const json = JSON.parse(answer) as unknown;
          if (typeof json === 'object' && json !== null && 'code' in json) {
            expect(json).toMatchObject({ objectType: 'KalturaAPIException' });
          }
          expect(answer).not.toMatch(/\bat .+\.(ts|js):\d+/); // no stack trace
        },
      ),
      { numRuns: 300 },
    );
    const ping = await fetch(`${emulator.url}/service/system/action/ping`, { method: 'POST' });
    expect(await ping.json()).toBe(true);
  }, 60_000);
});
