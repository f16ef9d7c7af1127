import { webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type JwtRejectReason, jwtUser } from './jwt-user.js';

/**
 * What jwtUser takes from a token it verified (no privileges unless a claim is named), the
 * reason it gives for an `iat` in the future, what it does when the shared secret cannot be
 * imported as a key, and that with a key set it verifies a repeated token every time.
 */

const SECRET = 'jwt-claims-and-keys-secret-32-bytes';
const KEY = new TextEncoder().encode(SECRET);
const ISSUER = 'https://app.example';
const AUDIENCE = 'kaltura-ks';
const NOW = Date.UTC(2002, 5, 1);
const seconds = (ms: number) => Math.floor(ms / 1000);
const bearer = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });

async function sign(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, exp: seconds(NOW) + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(KEY);
}

function make(options: { privilegesClaim?: string } = {}) {
  const reasons: JwtRejectReason[] = [];
  const getUser = jwtUser({
    secret: SECRET,
    issuer: ISSUER,
    audience: AUDIENCE,
    now: () => NOW,
    onReject: (r) => reasons.push(r),
    ...options,
  });
  return { getUser, reasons };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('privileges come only from the claim named for them', () => {
  it('without privilegesClaim, no claim of the token becomes privileges, whatever its name', async () => {
    const { getUser } = make();
    const t = await sign({ sub: 'alice', undefined: 'edit:*', privileges: 'list:*' });
    const user = await getUser(bearer(t));
    expect(user).toStrictEqual({ id: 'alice' });
  });

  it('with it, that claim and only that one', async () => {
    const { getUser } = make({ privilegesClaim: 'kaltura' });
    const t = await sign({ sub: 'alice', undefined: 'edit:*', kaltura: 'sview:0_a' });
    expect(await getUser(bearer(t))).toStrictEqual({ id: 'alice', privileges: 'sview:0_a' });
  });
});

describe('an iat in the future', () => {
  it('is refused with jose’s code and a reason that says what failed', async () => {
    const { getUser, reasons } = make();
    expect(await getUser(bearer(await sign({ sub: 'alice', iat: seconds(NOW) + 3_600 })))).toBe(
      null,
    );
    expect(reasons).toEqual([
      {
        code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
        message: '"iat" claim timestamp check failed (it should be in the past)',
      },
    ]);
  });
});

describe('a shared secret that cannot be imported as a key', () => {
  it('refuses the token (ERR_JWT_INVALID), and the next token tries the import again', async () => {
    const { getUser, reasons } = make();
    const req = bearer(await sign({ sub: 'alice' }));
    const imports = vi
      .spyOn(webcrypto.subtle, 'importKey')
      .mockRejectedValueOnce(new Error('the key could not be imported'));
    expect(await getUser(req)).toBeNull();
    expect(reasons).toEqual([
      { code: 'ERR_JWT_INVALID', message: 'the key could not be imported' },
    ]);
    expect(await getUser(req)).toEqual({ id: 'alice' });
    expect(imports).toHaveBeenCalledTimes(2);
    expect(reasons).toHaveLength(1);
  });
});

describe('with a key set (JWKS over loopback)', () => {
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

  it('a repeated token is verified again every time (a key taken out of the set must stop it)', async () => {
    const getUser = jwtUser({ jwksUrl: url, issuer: ISSUER, audience: AUDIENCE });
    const t = await new SignJWT({ sub: 'nina' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(privateKey);
    const verify = vi.spyOn(webcrypto.subtle, 'verify');
    expect(await getUser(bearer(t))).toEqual({ id: 'nina' });
    const again = getUser(bearer(t));
    expect(again).toBeInstanceOf(Promise);
    expect(await again).toEqual({ id: 'nina' });
    expect(verify).toHaveBeenCalledTimes(2);
  });
});
