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
  options: { expiresIn?: string; audience?: string; issuer?: string; secret?: Uint8Array } = {},
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
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
  });

  it('a user id from a claim that would inject a field is refused by the route (400), not signed', async () => {
    const engine = createKsEngine({
      partnerId: 1,
      adminSecret: 'admin-secret',
      getUser,
      ksVersion: 1,
    });
    const req = bearer(await token({ sub: 'mallory;disableentitlement,edit:*' }));
    const answer = await engine.respond(await engine.context(req), {
      method: 'GET',
      headers: req.headers,
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).error.code).toBe('ERR_KS_INVALID_FIELD');
    const privileged = bearer(await token({ sub: 'eve', kaltura: 'sview:*,_u:admin' }));
    const second = await engine.respond(await engine.context(privileged), {
      method: 'GET',
      headers: privileged.headers,
    });
    expect(second.status).toBe(400);
    expect(engine.issuer.size).toBe(0);
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
      const answer = await engine.respond(ctx, { method: 'GET', headers: {} });
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).error.code).toBe('ERR_KS_INVALID_FIELD');
      await expect(ctx.getKs()).rejects.toMatchObject({ code: 'ERR_KS_INVALID_FIELD' });
    },
  );
});

describe('the engine checks the type Kaltura issued', () => {
  it('refuses to send an ADMIN KS that an app token forced on a USER request (403)', async () => {
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
    const engine = createKsEngine({
      partnerId: 1,
      minter,
      getUser: () => ({ id: 'alice' }),
      onWarning: () => {},
    });
    const answer = await engine.respond(await engine.context({ headers: {} }), {
      method: 'GET',
      headers: {},
    });
    expect(answer.status).toBe(403);
    expect(answer.body).not.toContain('forced-admin-ks');
    const allowed = createKsEngine({
      partnerId: 1,
      minter,
      getUser: () => ({ id: 'alice' }),
      allowAdminKs: true,
      onWarning: () => {},
    });
    expect(
      (
        await allowed.respond(await allowed.context({ headers: {} }), {
          method: 'GET',
          headers: {},
        })
      ).status,
    ).toBe(200);
  });
});
