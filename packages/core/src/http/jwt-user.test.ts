import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKsEngine } from './engine.js';
import { jwtUser } from './jwt-user.js';

const SECRET = 'jwt-test-secret-that-is-32-bytes!!';
const key = new TextEncoder().encode(SECRET);

async function token(
  claims: Record<string, unknown>,
  options: {
    expiresIn?: string | number;
    audience?: string;
    issuer?: string;
    secret?: Uint8Array;
    issuedAt?: number;
  } = {},
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(options.issuedAt)
    .setIssuer(options.issuer ?? 'https://app.example.com')
    .setAudience(options.audience ?? 'kaltura-ks')
    .setExpirationTime(options.expiresIn ?? '10m')
    .sign(options.secret ?? key);
}

const bearer = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });

describe('jwtUser with a shared secret', () => {
  const rejections: string[] = [];
  const getUser = jwtUser({
    secret: SECRET,
    issuer: 'https://app.example.com',
    audience: 'kaltura-ks',
    privilegesClaim: 'kaltura',
    cookie: 'session',
    onReject: (r) => rejections.push(r.code),
  });

  it('returns the user of a valid token, with privileges from the claim', async () => {
    const user = await getUser(bearer(await token({ sub: 'alice', kaltura: 'sview:0_abc' })));
    expect(user).toEqual({ id: 'alice', privileges: 'sview:0_abc' });
  });

  it('reads the token from the cookie when there is no Authorization header', async () => {
    const t = await token({ sub: 'bob' });
    expect(await getUser({ headers: { cookie: `theme=dark; session=${t}; other=1` } })).toEqual({
      id: 'bob',
    });
  });

  it.each([
    ['an expired token', () => token({ sub: 'x' }, { expiresIn: '-1m' }), 'ERR_JWT_EXPIRED'],
    [
      'the wrong audience',
      () => token({ sub: 'x' }, { audience: 'someone-else' }),
      'ERR_JWT_CLAIM_VALIDATION_FAILED',
    ],
    [
      'the wrong issuer',
      () => token({ sub: 'x' }, { issuer: 'https://evil.example' }),
      'ERR_JWT_CLAIM_VALIDATION_FAILED',
    ],
    [
      'a token that never expires (no exp claim)',
      () =>
        new SignJWT({ sub: 'x' })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer('https://app.example.com')
          .setAudience('kaltura-ks')
          .sign(key),
      'ERR_JWT_CLAIM_VALIDATION_FAILED',
    ],
    [
      'the wrong signature',
      () =>
        token(
          { sub: 'x' },
          { secret: new TextEncoder().encode('another-secret-of-32-bytes-long!!') },
        ),
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    ],
    ['no user id claim', () => token({ name: 'x' }), 'ERR_JWT_CLAIM_MISSING'],
    ['garbage', async () => 'not.a.jwt', 'ERR_JWS_INVALID'],
  ])('returns null for %s, reporting why', async (_, make, code) => {
    rejections.length = 0;
    expect(await getUser(bearer(await make()))).toBeNull();
    expect(rejections).toEqual([code]);
  });

  it('reads a Fetch Request (Headers): the Bearer token, else the cookie; a header named get is a header', async () => {
    const t = await token({ sub: 'carol' });
    const url = 'https://app.example.com/kaltura/ks';
    const byBearer = new Request(url, { headers: { authorization: `Bearer ${t}` } });
    expect(await getUser(byBearer)).toEqual({ id: 'carol' });
    const byCookie = new Request(url, { headers: { cookie: `a=1; session=${t}` } });
    expect(await getUser(byCookie)).toEqual({ id: 'carol' });
    expect(await getUser(new Request(url))).toBeNull();
    // Node's record of a request that sent a header named "get": still read as a record.
    expect(await getUser({ headers: { get: 'x', authorization: `Bearer ${t}` } })).toEqual({
      id: 'carol',
    });
  });

  it('returns null when there is no token at all', async () => {
    expect(await getUser({ headers: {} })).toBeNull();
    expect(await getUser({ headers: { authorization: 'Basic abc' } })).toBeNull();
  });

  it('refuses weak options when created', () => {
    expect(() => jwtUser({ secret: 'short', issuer: 'i', audience: 'a' })).toThrow(
      expect.objectContaining({ code: 'ERR_KS_INVALID_OPTION' }),
    );
    expect(() => jwtUser({ issuer: 'i', audience: 'a' })).toThrow(
      expect.objectContaining({ code: 'ERR_KS_INVALID_OPTION' }),
    );
    expect(() => jwtUser({ secret: SECRET, issuer: '', audience: 'a' })).toThrow(
      expect.objectContaining({ code: 'ERR_KS_INVALID_OPTION' }),
    );
    for (const bad of [
      { now: 1_700_000_000_000 },
      { clockToleranceSeconds: -1 },
      { clockToleranceSeconds: '5s' },
      { userIdClaim: '' },
      { privilegesClaim: 7 },
    ]) {
      expect(() =>
        jwtUser({ secret: SECRET, issuer: 'i', audience: 'a', ...(bad as object) }),
      ).toThrow(expect.objectContaining({ code: 'ERR_KS_INVALID_OPTION' }));
    }
  });

  it('a user id from a claim that would inject a field is refused by the route (400), not signed', async () => {
    const engine = createKsEngine({
      partnerId: 1,
      adminSecret: 'admin-secret',
      getUser,
      ksVersion: 1,
    });
    const req = bearer(await token({ sub: 'mallory;disableentitlement,edit:*' }));
    const answer = await engine.respond(req, await engine.context(req), {
      method: 'GET',
      headers: req.headers,
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).error.code).toBe('ERR_KS_INVALID_FIELD');
    const privileged = bearer(await token({ sub: 'eve', kaltura: 'sview:*,_u:admin' }));
    const second = await engine.respond(privileged, await engine.context(privileged), {
      method: 'GET',
      headers: privileged.headers,
    });
    expect(second.status).toBe(400);
    expect(engine.issuer.size).toBe(0);
  });
});

describe('jwtUser on an injected clock', () => {
  // Far from the wall clock, so a check against the real time could not pass by chance.
  const START = Date.UTC(2001, 0, 1);
  const seconds = (ms: number) => Math.floor(ms / 1000);

  it('checks exp against the injected clock, with the configured tolerance', async () => {
    let t = START;
    const rejections: string[] = [];
    const getUser = jwtUser({
      secret: SECRET,
      issuer: 'https://app.example.com',
      audience: 'kaltura-ks',
      clockToleranceSeconds: 5,
      now: () => t,
      onReject: (r) => rejections.push(r.code),
    });
    const wallClock = jwtUser({
      secret: SECRET,
      issuer: 'https://app.example.com',
      audience: 'kaltura-ks',
    });
    const req = bearer(
      await token(
        { sub: 'alice' },
        { issuedAt: seconds(START), expiresIn: seconds(START) + 600 }, // 10 minutes on that clock
      ),
    );
    expect(await getUser(req)).toEqual({ id: 'alice' });
    expect(await wallClock(req)).toBeNull(); // long expired on the real clock

    t = START + 600_000 + 4_000; // past exp, within the tolerance
    expect(await getUser(req)).toEqual({ id: 'alice' });
    t = START + 600_000 + 5_000; // exp + tolerance
    expect(await getUser(req)).toBeNull();
    expect(rejections).toEqual(['ERR_JWT_EXPIRED']);
  });

  it('checks nbf against the injected clock', async () => {
    let t = START;
    const getUser = jwtUser({
      secret: SECRET,
      issuer: 'https://app.example.com',
      audience: 'kaltura-ks',
      clockToleranceSeconds: 0,
      now: () => t,
    });
    const later = await new SignJWT({ sub: 'bob' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('https://app.example.com')
      .setAudience('kaltura-ks')
      .setNotBefore(seconds(START) + 60)
      .setExpirationTime(seconds(START) + 600)
      .sign(key);
    expect(await getUser(bearer(later))).toBeNull();
    t = START + 60_000;
    expect(await getUser(bearer(later))).toEqual({ id: 'bob' });
  });

  it('refuses an iat in the future beyond the tolerance (a token minted ahead of time)', async () => {
    const rejections: string[] = [];
    const getUser = jwtUser({
      secret: SECRET,
      issuer: 'https://app.example.com',
      audience: 'kaltura-ks',
      clockToleranceSeconds: 5,
      now: () => START,
      onReject: (r) => rejections.push(r.code),
    });
    const issued = async (iat: number) =>
      getUser(
        bearer(await token({ sub: 'carol' }, { issuedAt: iat, expiresIn: seconds(START) + 600 })),
      );
    expect(await issued(seconds(START) + 365 * 86_400)).toBeNull(); // a year ahead
    expect(await issued(seconds(START) + 6)).toBeNull();
    expect(await issued(seconds(START) + 5)).toEqual({ id: 'carol' }); // within the tolerance
    expect(await issued(seconds(START) - 60)).toEqual({ id: 'carol' });
    expect(rejections).toEqual([
      'ERR_JWT_CLAIM_VALIDATION_FAILED',
      'ERR_JWT_CLAIM_VALIDATION_FAILED',
    ]);
  });
});

describe('jwtUser with a claim of the wrong type', () => {
  const reasons: { code: string; message: string }[] = [];
  const getUser = jwtUser({
    secret: SECRET,
    issuer: 'https://app.example.com',
    audience: 'kaltura-ks',
    privilegesClaim: 'kaltura',
    onReject: (r) => reasons.push(r),
  });
  const engine = createKsEngine({ partnerId: 1, adminSecret: 'admin-secret', getUser });
  afterAll(() => engine.close());

  async function route(claims: Record<string, unknown>) {
    const req = bearer(await token(claims));
    return engine.respond(req, await engine.context(req), { method: 'GET', headers: req.headers });
  }

  it.each([
    ['the user id is an object', { sub: { id: 'alice' } }],
    ['the user id is an array', { sub: ['alice'] }],
    ['the user id is a boolean', { sub: true }],
    ['the user id is null', { sub: null }],
    ['the user id is a fraction', { sub: 1.5 }],
    ['the user id is an integer beyond 2^53 (not exact)', { sub: 2 ** 60 }],
    ['the privileges are a number', { sub: 'alice', kaltura: 5 }],
    ['the privileges are a boolean', { sub: 'alice', kaltura: true }],
    ['the privileges are null', { sub: 'alice', kaltura: null }],
    ['the privileges are an array', { sub: 'alice', kaltura: ['sview:*'] }],
  ])(
    '%s: no user (401 ERR_KS_NO_USER at the route), a typed reason, nothing minted',
    async (_, claims) => {
      reasons.length = 0;
      expect(await getUser(bearer(await token(claims)))).toBeNull();
      expect(reasons).toEqual([
        { code: 'ERR_JWT_CLAIM_INVALID', message: expect.stringMatching(/ claim must be /) },
      ]);
      const answer = await route(claims);
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body).error.code).toBe('ERR_KS_NO_USER');
      expect(engine.issuer.size).toBe(0);
    },
  );

  it.each([
    ['exp is a string', { exp: 'never' }],
    ['nbf is an object', { nbf: {} }],
    ['iat is a list', { iat: [1] }],
    ['iss is a list', { iss: ['https://app.example.com'] }],
    ['aud is a number', { aud: 7 }],
  ])('%s (checked by jose): no user (401), a typed reason', async (_, wrong) => {
    reasons.length = 0;
    const claims: Record<string, unknown> = {
      sub: 'alice',
      iss: 'https://app.example.com',
      aud: 'kaltura-ks',
      exp: 4_102_444_800, // 2100-01-01: only the wrong claim can fail
      ...wrong,
    };
    const signed = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(key);
    const req = bearer(signed);
    expect(await getUser(req)).toBeNull();
    expect(reasons.map((r) => r.code)).toEqual(['ERR_JWT_CLAIM_VALIDATION_FAILED']);
    const answer = await engine.respond(req, await engine.context(req), {
      method: 'GET',
      headers: req.headers,
    });
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body).error.code).toBe('ERR_KS_NO_USER');
  });

  it('a throwing onReject does not turn a refused token into an exception', async () => {
    const throwing = jwtUser({
      secret: SECRET,
      issuer: 'https://app.example.com',
      audience: 'kaltura-ks',
      privilegesClaim: 'kaltura',
      onReject: () => {
        throw new Error('listener failed');
      },
    });
    expect(await throwing(bearer(await token({ sub: 'alice', kaltura: 5 })))).toBeNull();
    expect(await throwing(bearer('not.a.jwt'))).toBeNull();
  });

  it('never puts a claim value in the reason', async () => {
    reasons.length = 0;
    await getUser(bearer(await token({ sub: 'alice', kaltura: ['sview:secret-entry'] })));
    await getUser(bearer(await token({ sub: { email: 'alice@example.com' } })));
    expect(reasons).toHaveLength(2);
    expect(JSON.stringify(reasons)).not.toMatch(/secret-entry|alice/);
  });

  it('a privileges object holding a value of the wrong type: 400 ERR_KS_INVALID_FIELD', async () => {
    const answer = await route({ sub: 'alice', kaltura: { sview: { entry: '0_abc' } } });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).error.code).toBe('ERR_KS_INVALID_FIELD');
    expect(engine.issuer.size).toBe(0);
  });

  it('keeps the types it accepts: a string or an integer id, string or object privileges', async () => {
    expect(await getUser(bearer(await token({ sub: 42 })))).toEqual({ id: '42' });
    expect(
      await getUser(bearer(await token({ sub: 'alice', kaltura: { sview: '0_abc' } }))),
    ).toEqual({
      id: 'alice',
      privileges: { sview: '0_abc' },
    });
    const answer = await route({ sub: 42, kaltura: 'sview:0_abc' });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ userId: '42', privileges: 'sview:0_abc' });
  });

  it('reads only claims the token carries, not names inherited from Object.prototype', async () => {
    const inherited = jwtUser({
      secret: SECRET,
      issuer: 'https://app.example.com',
      audience: 'kaltura-ks',
      userIdClaim: 'sub',
      privilegesClaim: 'constructor',
    });
    expect(await inherited(bearer(await token({ sub: 'alice' })))).toEqual({ id: 'alice' });
    const rejected: string[] = [];
    const noId = jwtUser({
      secret: SECRET,
      issuer: 'https://app.example.com',
      audience: 'kaltura-ks',
      userIdClaim: 'toString',
      onReject: (r) => rejected.push(r.code),
    });
    expect(await noId(bearer(await token({ sub: 'alice' })))).toBeNull();
    expect(rejected).toEqual(['ERR_JWT_CLAIM_MISSING']);
  });
});

describe('jwtUser with a remote key set (JWKS over loopback)', () => {
  let server: Server;
  let url: string;
  let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('verifies tokens signed with a key from the set', async () => {
    const getUser = jwtUser({
      jwksUrl: url,
      issuer: 'https://idp.example',
      audience: 'app',
      userIdClaim: 'email',
    });
    const t = await new SignJWT({ email: 'nina@example.com' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer('https://idp.example')
      .setAudience('app')
      .setExpirationTime('5m')
      .sign(privateKey);
    expect(await getUser(bearer(t))).toEqual({ id: 'nina@example.com' });
    expect(
      await getUser(
        bearer(await token({ sub: 'x' }, { issuer: 'https://idp.example', audience: 'app' })),
      ),
    ).toBeNull();
  });
});

describe('the engine refuses anonymous user ids', () => {
  it.each(['', '0'])(
    'a user id %j (Kaltura reads it as anonymous) gets 400, not a KS',
    async (id) => {
      const engine = createKsEngine({
        partnerId: 1,
        adminSecret: 'admin-secret',
        getUser: () => ({ id }),
      });
      const ctx = await engine.context({ headers: {} });
      const answer = await engine.respond({ headers: {} }, ctx, { method: 'GET', headers: {} });
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).error.code).toBe('ERR_KS_INVALID_FIELD');
      await expect(ctx.getKs()).rejects.toMatchObject({ code: 'ERR_KS_INVALID_FIELD' });
    },
  );
});

describe('the engine checks the type Kaltura issued', () => {
  it('never sends an ADMIN KS that an app token forced on a USER request: 503 ERR_KS_NOT_GRANTED, no KS', async () => {
    const minter = {
      kind: 'app-token',
      mint: async (r: { userId: string; privileges: string }) => ({
        ks: 'forced-admin-ks',
        partnerId: 1,
        userId: r.userId,
        type: 2, // the token's sessionType overrides what was asked
        privileges: r.privileges,
        issuedAt: Date.now(),
        expiresAt: Date.now() + 3_600_000,
      }),
    };
    for (const allowAdminKs of [false, true]) {
      const engine = createKsEngine({
        partnerId: 1,
        minter,
        getUser: () => ({ id: 'alice' }),
        allowAdminKs,
        onWarning: () => {},
      });
      const context = await engine.context({ headers: {} });
      const answer = await engine.respond({ headers: {} }, context, { method: 'GET', headers: {} });
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.body).error.code).toBe('ERR_KS_NOT_GRANTED');
      expect(answer.body).not.toContain('forced-admin-ks');
      // Server code does not get it either: it is not the KS that was asked for.
      await expect(context.getKs()).rejects.toMatchObject({ code: 'ERR_KS_NOT_GRANTED' });
    }
    // Asked for ADMIN (and allowed to send one), the same KS is what was asked.
    const admin = createKsEngine({
      partnerId: 1,
      minter,
      getUser: () => ({ id: 'alice', type: 2 }),
      allowAdminKs: true,
      onWarning: () => {},
    });
    expect(
      (
        await admin.respond({ headers: {} }, await admin.context({ headers: {} }), {
          method: 'GET',
          headers: {},
        })
      ).status,
    ).toBe(200);
  });
});
