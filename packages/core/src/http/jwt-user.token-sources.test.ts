import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { type JwtRejectReason, jwtUser } from './jwt-user.js';

/**
 * Where jwtUser finds the token (the Authorization header, else the cookie), which options it
 * refuses at creation and why, and what it makes of the claims.
 */

const SECRET = 'jwt-sources-secret-of-32-bytes!!';
const KEY = new TextEncoder().encode(SECRET);
const NOW = 1_700_000_000_000;
const base = { secret: SECRET, issuer: 'https://app.example', audience: 'kaltura-ks' };

async function sign(
  claims: Record<string, unknown>,
  { alg = 'HS256', key = KEY }: { alg?: string; key?: Uint8Array } = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg })
    .setIssuer(base.issuer)
    .setAudience(base.audience)
    .setExpirationTime(NOW / 1000 + 600)
    .sign(key);
}

function make(options: Partial<Parameters<typeof jwtUser>[0]> = {}) {
  const reasons: JwtRejectReason[] = [];
  const getUser = jwtUser({
    ...base,
    now: () => NOW,
    onReject: (r) => reasons.push(r),
    ...options,
  });
  return { getUser, reasons };
}

describe('the Authorization header', () => {
  it('takes "Bearer <token>" in any case, with any spaces around the token', async () => {
    const { getUser } = make();
    const t = await sign({ sub: 'alice' });
    for (const authorization of [`Bearer ${t}`, `bearer ${t}`, `BEARER   ${t}`, `Bearer\t${t}  `]) {
      expect(await getUser({ headers: { authorization } })).toEqual({ id: 'alice' });
    }
  });

  it('takes the first of several Authorization headers', async () => {
    const { getUser } = make();
    const t = await sign({ sub: 'alice' });
    expect(await getUser({ headers: { authorization: [`Bearer ${t}`, 'Bearer other'] } })).toEqual({
      id: 'alice',
    });
  });

  it('finds no token in anything but "Bearer" and one token', async () => {
    const { getUser, reasons } = make({ cookie: 'session' });
    const t = await sign({ sub: 'alice' });
    for (const authorization of [
      'Bearer',
      'Bearer ',
      `Token ${t}`,
      `xBearer ${t}`,
      `Bearer ${t} extra`,
      `Bearer${t}`,
    ]) {
      expect(await getUser({ headers: { authorization } })).toBeNull();
    }
    expect(reasons).toEqual([]);
  });

  it('wins over the cookie', async () => {
    const { getUser } = make({ cookie: 'session' });
    const alice = await sign({ sub: 'alice' });
    const bob = await sign({ sub: 'bob' });
    expect(
      await getUser({ headers: { authorization: `Bearer ${alice}`, cookie: `session=${bob}` } }),
    ).toEqual({ id: 'alice' });
  });
});

describe('the cookie', () => {
  it('is read only when a cookie name is configured', async () => {
    const t = await sign({ sub: 'bob' });
    expect(await make().getUser({ headers: { cookie: `session=${t}` } })).toBeNull();
  });

  it('is found by its exact name among others, spaces around it allowed', async () => {
    const { getUser } = make({ cookie: 'session' });
    const t = await sign({ sub: 'bob' });
    for (const cookie of [
      `session=${t}`,
      `a=1;session=${t}`,
      `a=1;   session  =  ${t}  ; b=2`,
      `flag; session=${t}`,
      `xsession=nope; sessionx=nope; session=${t}`,
    ]) {
      expect(await getUser({ headers: { cookie } }), cookie).toEqual({ id: 'bob' });
    }
  });

  it('is taken out of double quotes and URL-decoded', async () => {
    const { getUser } = make({ cookie: 'session' });
    const t = await sign({ sub: 'bob' });
    expect(await getUser({ headers: { cookie: `session="${t}"` } })).toEqual({ id: 'bob' });
    expect(await getUser({ headers: { cookie: `session=${encodeURIComponent(t)}` } })).toEqual({
      id: 'bob',
    });
  });

  it('counts as no token when missing, empty or not decodable', async () => {
    const { getUser, reasons } = make({ cookie: 'session' });
    for (const cookie of ['other=1', 'session=', 'session=""', 'session=%E0%A4%A', 'session']) {
      expect(await getUser({ headers: { cookie } }), cookie).toBeNull();
    }
    expect(await getUser({ headers: {} })).toBeNull();
    expect(reasons).toEqual([]);
  });

  it('is the first one of that name', async () => {
    const { getUser } = make({ cookie: 'session' });
    const a = await sign({ sub: 'first' });
    const b = await sign({ sub: 'second' });
    expect(await getUser({ headers: { cookie: `session=${a}; session=${b}` } })).toEqual({
      id: 'first',
    });
  });
});

describe('jwtUser options, refused when created with a message naming them', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['no options', { __none: true }, 'jwtUser needs options'],
    [
      'neither secret nor jwksUrl',
      { secret: undefined },
      'jwtUser needs exactly one of jwksUrl or secret',
    ],
    [
      'both secret and jwksUrl',
      { jwksUrl: 'https://keys.example/jwks' },
      'jwtUser needs exactly one of jwksUrl or secret',
    ],
    ['an empty issuer', { issuer: '' }, 'jwtUser needs issuer'],
    ['an empty issuer list', { issuer: [] }, 'jwtUser needs issuer'],
    ['an empty audience', { audience: '' }, 'jwtUser needs audience'],
    ['an empty audience list', { audience: [] }, 'jwtUser needs audience'],
    ['an empty userIdClaim', { userIdClaim: '' }, 'jwtUser userIdClaim must be a claim name'],
    [
      'a userIdClaim that is not a string',
      { userIdClaim: 1 },
      'jwtUser userIdClaim must be a claim name',
    ],
    [
      'an empty privilegesClaim',
      { privilegesClaim: '' },
      'jwtUser privilegesClaim must be a claim name',
    ],
    [
      'a clock that is not a function',
      { now: NOW },
      'jwtUser now must be a function returning epoch milliseconds',
    ],
    [
      'a negative clock tolerance',
      { clockToleranceSeconds: -0.5 },
      'jwtUser clockToleranceSeconds must be a non-negative number of seconds',
    ],
    [
      'an infinite clock tolerance',
      { clockToleranceSeconds: Number.POSITIVE_INFINITY },
      'jwtUser clockToleranceSeconds must be a non-negative number of seconds',
    ],
    [
      'a secret of 31 bytes',
      { secret: 'x'.repeat(31) },
      'jwtUser secret must be at least 32 bytes',
    ],
    [
      'a secret of 31 bytes as bytes',
      { secret: new Uint8Array(31) },
      'jwtUser secret must be at least 32 bytes',
    ],
    [
      'a jwksUrl that is not a URL',
      { secret: undefined, jwksUrl: 'not a url' },
      'jwtUser jwksUrl must be a URL',
    ],
    // Keys fetched in the clear: anyone on the path could serve a key of theirs and sign
    // a token for any user.
    [
      'a jwksUrl over plain http to another host',
      { secret: undefined, jwksUrl: 'http://idp.example/.well-known/jwks.json' },
      'jwtUser jwksUrl must be https (plain http only on the loopback interface)',
    ],
    [
      'a jwksUrl that is not http(s)',
      { secret: undefined, jwksUrl: 'file:///etc/jwks.json' },
      'jwtUser jwksUrl must be https (plain http only on the loopback interface)',
    ],
    [
      'algorithms that are not a list',
      { algorithms: 'HS256' },
      'jwtUser algorithms must be a non-empty list of algorithm names',
    ],
    [
      'an empty list of algorithms',
      { algorithms: [] },
      'jwtUser algorithms must be a non-empty list of algorithm names',
    ],
    [
      'an asymmetric algorithm with a shared secret',
      { algorithms: ['HS256', 'RS256'] },
      'jwtUser algorithms with a secret may only be HS256, HS384 and HS512',
    ],
    [
      'an HMAC algorithm with a key set',
      { secret: undefined, jwksUrl: 'https://idp.example/jwks', algorithms: ['HS256'] },
      'jwtUser algorithms with a jwksUrl must be asymmetric (not HS256, HS384, HS512 or none)',
    ],
    [
      '"none" with a key set',
      { secret: undefined, jwksUrl: 'https://idp.example/jwks', algorithms: ['ES256', 'none'] },
      'jwtUser algorithms with a jwksUrl must be asymmetric (not HS256, HS384, HS512 or none)',
    ],
  ])('%s', (_, options, message) => {
    const all = '__none' in options ? null : { ...base, ...options };
    expect(() => jwtUser(all as never)).toThrow(
      expect.objectContaining({ code: 'ERR_KS_INVALID_OPTION', message }),
    );
  });

  it('accepts a secret of exactly 32 bytes, a zero tolerance and lists of issuers and audiences', () => {
    expect(() => jwtUser({ ...base, secret: 'x'.repeat(32) })).not.toThrow();
    expect(() => jwtUser({ ...base, secret: new Uint8Array(32) })).not.toThrow();
    expect(() => jwtUser({ ...base, clockToleranceSeconds: 0 })).not.toThrow();
    expect(() => jwtUser({ ...base, issuer: ['a'], audience: ['b'] })).not.toThrow();
    expect(() => jwtUser({ ...base, algorithms: ['HS512', 'HS256'] })).not.toThrow();
    for (const jwksUrl of [
      'https://idp.example/jwks',
      'http://127.0.0.1:8080/jwks',
      'http://[::1]/jwks',
      'http://localhost/jwks',
    ]) {
      expect(() =>
        jwtUser({ ...base, secret: undefined, jwksUrl, algorithms: ['ES256', 'RS256'] }),
      ).not.toThrow();
    }
  });
});

describe('algorithms', () => {
  it('takes only HS256 with a secret by default, and what is listed when given', async () => {
    const t = await sign({ sub: 'alice' }, { alg: 'HS512' });
    const strict = make();
    expect(await strict.getUser({ headers: { authorization: `Bearer ${t}` } })).toBeNull();
    expect(strict.reasons.map((r) => r.code)).toEqual(['ERR_JOSE_ALG_NOT_ALLOWED']);
    const listed = make({ algorithms: ['HS512'] });
    expect(await listed.getUser({ headers: { authorization: `Bearer ${t}` } })).toEqual({
      id: 'alice',
    });
  });
});

describe('the claims', () => {
  it('keeps an integer user id as its decimal string, and refuses any other number', async () => {
    const { getUser, reasons } = make();
    const user = async (sub: unknown) =>
      getUser({ headers: { authorization: `Bearer ${await sign({ sub })}` } });
    expect(await user(42)).toEqual({ id: '42' });
    expect(await user(0)).toEqual({ id: '0' });
    for (const sub of [1.5, 2 ** 53]) expect(await user(sub)).toBeNull();
    expect(reasons.map((r) => r.message)).toEqual([
      "The token's sub claim must be a string or an integer (got a number)",
      "The token's sub claim must be a string or an integer (got a number)",
    ]);
  });

  it('names the type of a claim it refuses, never its value', async () => {
    const { getUser, reasons } = make({ userIdClaim: 'uid', privilegesClaim: 'kaltura' });
    const user = async (claims: Record<string, unknown>) =>
      getUser({ headers: { authorization: `Bearer ${await sign(claims)}` } });
    for (const uid of [null, ['a'], { id: 'a' }, true]) expect(await user({ uid })).toBeNull();
    for (const kaltura of [null, ['sview:*'], 7, false])
      expect(await user({ uid: 'a', kaltura })).toBeNull();
    expect(await user({ sub: 'a' })).toBeNull();
    expect(reasons).toEqual([
      {
        code: 'ERR_JWT_CLAIM_INVALID',
        message: "The token's uid claim must be a string or an integer (got null)",
      },
      {
        code: 'ERR_JWT_CLAIM_INVALID',
        message: "The token's uid claim must be a string or an integer (got an array)",
      },
      {
        code: 'ERR_JWT_CLAIM_INVALID',
        message: "The token's uid claim must be a string or an integer (got an object)",
      },
      {
        code: 'ERR_JWT_CLAIM_INVALID',
        message: "The token's uid claim must be a string or an integer (got a boolean)",
      },
      {
        code: 'ERR_JWT_CLAIM_INVALID',
        message: "The token's kaltura claim must be a string or an object (got null)",
      },
      {
        code: 'ERR_JWT_CLAIM_INVALID',
        message: "The token's kaltura claim must be a string or an object (got an array)",
      },
      {
        code: 'ERR_JWT_CLAIM_INVALID',
        message: "The token's kaltura claim must be a string or an object (got a number)",
      },
      {
        code: 'ERR_JWT_CLAIM_INVALID',
        message: "The token's kaltura claim must be a string or an object (got a boolean)",
      },
      { code: 'ERR_JWT_CLAIM_MISSING', message: 'The token has no uid claim' },
    ]);
  });

  it('reads privileges only when a claim is named, and leaves them out when the token has none', async () => {
    const t = await sign({ sub: 'alice', kaltura: 'sview:*' });
    const headers = { authorization: `Bearer ${t}` };
    expect(await make().getUser({ headers })).toEqual({ id: 'alice' });
    expect(await make({ privilegesClaim: 'kaltura' }).getUser({ headers })).toEqual({
      id: 'alice',
      privileges: 'sview:*',
    });
    expect(await make({ privilegesClaim: 'other' }).getUser({ headers })).toEqual({ id: 'alice' });
    const structured = await sign({ sub: 'alice', kaltura: { sview: '*' } });
    expect(
      await make({ privilegesClaim: 'kaltura' }).getUser({
        headers: { authorization: `Bearer ${structured}` },
      }),
    ).toEqual({ id: 'alice', privileges: { sview: '*' } });
  });
});
