import {
  createKs,
  decodeKs,
  formatPrivileges,
  isKsError,
  KsError,
  KsType,
  MAX_KS_LENGTH,
  MAX_PRIVILEGES_LENGTH,
  type PrivilegesInput,
  verifyKs,
} from '@kaltura-ks/core';
import { createKsEngine, jwtUser, type KsUser } from '@kaltura-ks/core/http';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequestOnce, type RouteApp, startRoute } from './support.js';

/**
 * Property-based fuzzing of what the KS route takes from outside: the user (as the app's
 * `getUser` returns it, from a header, from a JWT), the privileges (static, from a
 * function, from the user), and KS strings handed to `decodeKs`/`verifyKs` at their size
 * limits. Every outcome must be a defined answer (200 / 400 / 401 / 403) or a typed
 * `KsError` for a programming mistake (`ERR_KS_INVALID_OPTION`, which an adapter passes
 * to the framework's error path) — never another exception, never a hang. And a 200 must
 * carry a KS whose fields are exactly what was asked: the routes sign KS **v1** here,
 * the format with no escaping, where a smuggled `;` would move fields (spec §6).
 *
 * Kept elsewhere, not repeated: arbitrary strings into decodeKs/verifyKs (10,000 cases,
 * packages/core/src/ks/ks.property.test.ts), the privileges grammar
 * (packages/core/src/privileges/privileges.property.test.ts) and the emulator's request
 * parsing (packages/emulator/src/params.property.test.ts).
 */

const PARTNER = 5306;
const SECRET = 'hostile-input-admin-secret-77c1a0';
const JWT_SECRET = 'hostile-input-jwt-secret-0123456789abcdef';
const JWT_ISSUER = 'hostile-tests';
/**
 * The bound on one in-process route answer, against a hang: an answer takes a millisecond or
 * so, but a loaded machine can stall a process for longer than a tight bound (1 s was). The
 * tests that use it may run for longer (CALL_TESTS), so a hang fails as "no answer within",
 * naming the case, rather than as the test's timeout (unless shrinking it takes longer still).
 */
const CALL_BOUND_MS = 30_000;
const CALL_TESTS = { timeout: 120_000 };

/** Strings known to matter: field separators, reserved names, anonymous users, limits. */
const nasty = fc.constantFrom(
  '',
  '0',
  '*',
  ';',
  'a;b',
  'mallory;disableentitlement,edit:*',
  'u;;;;;;;;;;',
  'edit:*',
  '_u',
  '_u:root',
  '_e:9999999999',
  '_t:2',
  'x'.repeat(101),
  'x'.repeat(MAX_PRIVILEGES_LENGTH + 1),
  '\u0000',
  '\u0085',
  '\u2028',
  '\ud800',
  'a\nb',
  ' ',
  ' edit:*',
  '%3B',
  '<script>alert(1)</script>',
  '__proto__',
  'constructor',
  'a,b',
  'a:b',
  'a/b',
  'e[x]',
  'a.b',
  'setrole:-1',
  'widget:1',
  'sessionid:0_x,apptoken:0_x',
  '*,edit:*',
  '*:x',
);
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.stringMatching(/^[A-Za-z0-9_@.-]{1,30}$/),
  nasty,
);
const privilegeValue = fc.oneof(
  text,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.oneof(text, fc.integer()), { maxLength: 3 }),
  fc.object({ maxDepth: 1 }),
);
const privilegesInput = fc.oneof(
  text,
  fc.dictionary(text, privilegeValue, { maxKeys: 4 }),
  fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/), privilegeValue, { maxKeys: 4 }),
  fc.integer(),
  fc.array(text, { maxLength: 2 }),
);
const user = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  text,
  fc.record(
    {
      id: fc.oneof(text, text, fc.integer(), fc.constant(null)),
      privileges: privilegesInput,
      type: fc.constantFrom(0, 2, 1, '0', -1),
    },
    { requiredKeys: ['id'] },
  ),
);

/** Resolves with the promise, or rejects if it takes longer than `ms` (the guard does not sleep otherwise). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What a 200 must carry, in v1 (verbatim): the configured, then the user's privileges —
 * without those the configuration already names (per-user privileges never change one).
 */
function expectedPrivileges(...inputs: (PrivilegesInput | undefined)[]): string {
  const named = new Set<string>();
  const parts: string[] = [];
  for (const input of inputs) {
    if (input === undefined) continue;
    const items = formatPrivileges(input, 1)
      .split(',')
      .filter((item) => item !== '' && !named.has(item.split(':')[0]!));
    for (const item of items) named.add(item.split(':')[0]!);
    if (items.length > 0) parts.push(items.join(','));
  }
  return parts.join(',');
}

function expectExactKs(ks: string, userId: string, privileges: string) {
  const fields = verifyKs(ks, { secrets: SECRET, partnerId: PARTNER });
  expect(fields.version).toBe(1);
  expect(fields.userId).toBe(userId);
  expect(fields.type).toBe(KsType.USER);
  expect(fields.privileges).toBe(privileges);
  expect(fields.masterPartnerId).toBeUndefined();
  expect(fields.additionalData).toBeUndefined();
  // Nine fields, as signed: nothing moved.
  const decoded = decodeKs(ks);
  expect(decoded.version === 1 && decoded.userId).toBe(userId);
}

interface FuzzRequest {
  headers: Record<string, string>;
  user: unknown;
  /** What the app's privileges function returns: anything, as a buggy app might. */
  extra: unknown;
}

describe('the route’s user and privilege inputs, in process (engine, KS v1)', CALL_TESTS, () => {
  const engine = createKsEngine<FuzzRequest>({
    partnerId: PARTNER,
    adminSecret: SECRET,
    ksVersion: 1,
    getUser: (req) => req.user as KsUser,
    privileges: (_user, req) => req.extra as PrivilegesInput | undefined,
    onWarning: () => {},
  });
  afterAll(() => engine.close());

  it('answers 200/400/401/403 or throws ERR_KS_INVALID_OPTION; a 200 carries exactly what was asked (1,500 cases)', async () => {
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(user, fc.option(privilegesInput, { nil: undefined }), async (u, extra) => {
        // Each case on its own: no KS cached by another case.
        await engine.issuer.clear();
        const req: FuzzRequest = { headers: {}, user: u, extra };
        let outcome: string;
        try {
          const answer = await within(
            (async () =>
              engine.respond(req, await engine.context(req), { method: 'GET', headers: {} }))(),
            CALL_BOUND_MS,
          );
          outcome = String(answer.status);
          expect([200, 400, 401, 403]).toContain(answer.status);
          const body = JSON.parse(answer.body);
          if (answer.status === 200) {
            const { id, privileges } = u as KsUser;
            expect(body.userId).toBe(id);
            expectExactKs(
              body.ks,
              id,
              expectedPrivileges(extra as PrivilegesInput | undefined, privileges),
            );
          } else {
            expect(body.error.code).toMatch(/^ERR_KS_[A-Z_]+$/);
          }
        } catch (error) {
          if (!isKsError(error, 'ERR_KS_INVALID_OPTION')) throw error;
          outcome = 'ERR_KS_INVALID_OPTION';
        }
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }),
      // The first three of the 1,500: a well-formed user, an ADMIN one and none, so 200, 403
      // and 401 are reached whatever the seed draws (a 200 needs a valid id, a USER type and
      // both privilege sources valid at once: one full run drew none in 1,500 cases).
      {
        numRuns: 1_500,
        examples: [
          [{ id: 'alice@example.com' }, undefined],
          [{ id: 'alice@example.com', type: 2 }, 'sview:*'],
          [null, undefined],
        ],
      },
    );
    // The generators reach every kind of answer.
    expect([...outcomes.keys()].sort()).toEqual(
      ['200', '400', '401', '403', 'ERR_KS_INVALID_OPTION'].sort(),
    );
  });
});

describe('the route over HTTP (Express): user and privileges from request headers', () => {
  let route: RouteApp;
  const received = new Map<string, { id: string; privileges: string | undefined }>();
  beforeAll(async () => {
    route = await startRoute({
      partnerId: PARTNER,
      adminSecret: SECRET,
      ksVersion: 1,
      getUser: (req) => {
        const id = req.headers['x-user'] as string;
        const privileges = req.headers['x-privileges'] as string | undefined;
        received.set(req.headers['x-case'] as string, { id, privileges });
        return { id };
      },
      privileges: (_user, req) => req.headers['x-privileges'] as string | undefined,
    });
  });
  afterAll(() => route.close());

  // What a client can put in a header: no CR, LF or NUL; Node reads the bytes as latin1.
  const headerText = fc
    .oneof(fc.string({ maxLength: 60 }), nasty, fc.string({ unit: 'binary-ascii', maxLength: 60 }))
    .map((s) => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, ''));

  it('answers 200 with exactly the asked fields, or 400 with a code (150 cases)', async () => {
    let n = 0;
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        headerText,
        fc.option(headerText, { nil: undefined }),
        async (id, privileges) => {
          const key = String(++n);
          await route.engine.issuer.clear();
          const headers: Record<string, string> = { 'x-case': key, 'x-user': id };
          if (privileges !== undefined) headers['x-privileges'] = privileges;
          const answer = await httpRequestOnce(route.url, { headers });
          expect([200, 400]).toContain(answer.status);
          statuses.add(answer.status);
          expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
          if (answer.status === 200) {
            const got = received.get(key)!;
            expectExactKs(answer.json.ks, got.id, expectedPrivileges(got.privileges));
          } else {
            expect(answer.json.error.code).toBe('ERR_KS_INVALID_FIELD');
          }
        },
      ),
      // The first two of the 150: a valid user id and one with a field separator, so both
      // answers are reached whatever the seed draws (it may draw no valid id at all).
      {
        numRuns: 150,
        examples: [
          ['alice@example.com', 'sview:*'],
          ['a;b', undefined],
        ],
      },
    );
    expect([...statuses].sort()).toEqual([200, 400]);
    expect(route.errors).toEqual([]);
  }, 60_000);
});

describe('the user from a JWT (jwtUser)', CALL_TESTS, () => {
  const rejected: { code: string; message: string }[] = [];
  const getUser = jwtUser({
    secret: JWT_SECRET,
    issuer: JWT_ISSUER,
    audience: JWT_ISSUER,
    cookie: 'session',
    privilegesClaim: 'kp',
    onReject: (reason) => rejected.push(reason),
  });
  const engine = createKsEngine<{ headers: Record<string, string> }>({
    partnerId: PARTNER,
    adminSecret: SECRET,
    ksVersion: 1,
    getUser,
    onWarning: () => {},
  });
  afterAll(() => engine.close());

  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(JWT_ISSUER)
      .setAudience(JWT_ISSUER)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(JWT_SECRET));

  it('any Authorization or Cookie header: a user or null, never an exception (1,000 cases)', async () => {
    const valid = await sign({ sub: 'alice' });
    const header = fc.oneof(
      text,
      text.map((t) => `Bearer ${t}`),
      fc.base64String({ maxLength: 200 }).map((t) => `Bearer ${t}.${t}.${t}`),
      fc
        .nat({ max: valid.length - 1 })
        .map((i) => `Bearer ${valid.slice(0, i)}x${valid.slice(i + 1)}`),
    );
    const cookie = fc.oneof(
      text,
      text.map((t) => `session=${t}`),
      fc.constant(`session="${valid}`),
      fc.constant(`session=%E0%A4%A; session=${valid}`),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.option(header, { nil: undefined }),
        fc.option(cookie, { nil: undefined }),
        async (authorization, cookieHeader) => {
          const headers: Record<string, string> = {};
          if (authorization !== undefined) headers.authorization = authorization;
          if (cookieHeader !== undefined) headers.cookie = cookieHeader;
          const found = await within(Promise.resolve(getUser({ headers })), CALL_BOUND_MS);
          if (found !== null) expect(found.id).toBe('alice');
        },
      ),
      { numRuns: 1_000 },
    );
    for (const reason of rejected) expect(reason.code).toMatch(/^ERR_[A-Z_]+$/);
  });

  it('a signed token with any sub and privileges claim: a defined answer; a 200 is exactly that user (300 cases)', async () => {
    const claim = fc.oneof(text, fc.integer(), fc.jsonValue({ maxDepth: 2 }), nasty);
    await fc.assert(
      fc.asyncProperty(claim, fc.option(claim, { nil: undefined }), async (sub, kp) => {
        await engine.issuer.clear();
        const token = await sign(kp === undefined ? { sub } : { sub, kp });
        const req = { headers: { authorization: `Bearer ${token}` } };
        const answer = await within(
          (async () =>
            engine.respond(req, await engine.context(req), { method: 'GET', headers: {} }))(),
          CALL_BOUND_MS,
        );
        // A claim of the wrong type is a refused token (401), never a thrown error or a 500.
        expect([200, 400, 401]).toContain(answer.status);
        if (answer.status === 200) {
          expect(typeof sub === 'string' || typeof sub === 'number').toBe(true);
          expectExactKs(
            JSON.parse(answer.body).ks,
            String(sub),
            expectedPrivileges(kp as PrivilegesInput | undefined),
          );
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('decodeKs and verifyKs at their size limits', () => {
  const BOUND_MS = 50;
  /**
   * CPU time, not the wall clock (other processes on a loaded machine do not add to it), the
   * best of three runs (nor does a GC pause).
   */
  function timed(fn: () => unknown): number {
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 3; i++) {
      const started = process.cpuUsage();
      try {
        fn();
      } catch (error) {
        if (!(error instanceof KsError)) throw error;
      }
      const { user, system } = process.cpuUsage(started);
      best = Math.min(best, (user + system) / 1000);
    }
    return best;
  }

  it(`answer within ${BOUND_MS} ms of CPU time for inputs up to and past MAX_KS_LENGTH`, () => {
    const big = MAX_KS_LENGTH;
    const longest = createKs({
      secret: SECRET,
      partnerId: PARTNER,
      userId: 'u'.repeat(100),
      privileges: Array.from({ length: 400 }, (_, i) => `p${i}:v`)
        .join(',')
        .slice(0, 4000)
        .replace(/,[^,]*$/, ''),
      version: 1,
    });
    const inputs = [
      'A'.repeat(big),
      'A'.repeat(big + 1),
      ' '.repeat(big),
      '='.repeat(big),
      `${'A'.repeat(big - 10)}\n\n\n\n\n`,
      Buffer.from(`${'a'.repeat(40)}|${';'.repeat(12_000)}`)
        .toString('base64')
        .slice(0, big),
      Buffer.concat([Buffer.from('v2|5306|'), Buffer.alloc(12_000 - (12_000 % 16))]).toString(
        'base64url',
      ),
      Buffer.from(`v2|${'9'.repeat(12_000)}|x`)
        .toString('base64')
        .slice(0, big),
      longest,
      longest.toLowerCase(),
    ];
    let worst = 0;
    for (const input of inputs) {
      worst = Math.max(
        worst,
        timed(() => decodeKs(input)),
        timed(() => verifyKs(input, { secrets: [SECRET, 'other'], partnerId: PARTNER })),
      );
    }
    expect(worst).toBeLessThan(BOUND_MS);
  });
});
