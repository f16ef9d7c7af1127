import { webcrypto } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { jwtUser } from './jwt-user.js';

const SECRET = 'jwt-test-secret-that-is-32-bytes!!';
const key = new TextEncoder().encode(SECRET);
// Far from the wall clock, so a check against the real time could not pass by chance.
const START = Date.UTC(2001, 0, 1);
const seconds = (ms: number) => Math.floor(ms / 1000);

interface Claims {
  sub?: string;
  exp?: number;
  nbf?: number;
  iat?: number;
  aud?: string;
  iss?: string;
  [name: string]: unknown;
}

async function token(claims: Claims, alg = 'HS256'): Promise<string> {
  return new SignJWT({
    iss: 'https://app.example.com',
    aud: 'kaltura-ks',
    exp: seconds(START) + 600,
    ...claims,
  })
    .setProtectedHeader({ alg })
    .sign(key);
}

const bearer = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });

function clockedUser(options: { maxCachedTokens?: number; toleranceSeconds?: number } = {}) {
  const clock = { t: START };
  const rejections: string[] = [];
  const getUser = jwtUser({
    secret: SECRET,
    issuer: 'https://app.example.com',
    audience: 'kaltura-ks',
    privilegesClaim: 'kaltura',
    clockToleranceSeconds: options.toleranceSeconds ?? 5,
    maxCachedTokens: options.maxCachedTokens,
    algorithms: ['HS256', 'HS512'],
    now: () => clock.t,
    onReject: (r) => rejections.push(r.code),
  });
  return { clock, rejections, getUser };
}

/** How many signatures jose checks from now on (a cache hit checks none). */
function countVerifications() {
  return vi.spyOn(webcrypto.subtle, 'verify');
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('jwtUser imports its shared secret once per algorithm', () => {
  it('one import for many HS256 tokens, one more for the first HS512 token', async () => {
    const hs256 = await Promise.all(['a', 'b', 'c'].map((sub) => token({ sub })));
    const hs512 = await Promise.all(['d', 'e'].map((sub) => token({ sub }, 'HS512')));
    // Signing above imports keys too: count from here.
    const imports = vi.spyOn(webcrypto.subtle, 'importKey');
    const { getUser } = clockedUser({ maxCachedTokens: 0 });
    for (const [i, t] of hs256.entries()) {
      expect(await getUser(bearer(t))).toEqual({ id: 'abc'[i] });
    }
    expect(imports).toHaveBeenCalledTimes(1);
    for (const [i, t] of hs512.entries()) {
      expect(await getUser(bearer(t))).toEqual({ id: 'de'[i] });
    }
    expect(imports).toHaveBeenCalledTimes(2);
  });

  it('an algorithm outside the allowed list is still refused', async () => {
    const { getUser, rejections } = clockedUser();
    expect(await getUser(bearer(await token({ sub: 'a' }, 'HS384')))).toBeNull();
    expect(rejections).toEqual(['ERR_JOSE_ALG_NOT_ALLOWED']);
  });
});

describe('jwtUser remembers verified tokens without accepting more', () => {
  it('a repeated token is served without checking its signature again', async () => {
    const { getUser } = clockedUser();
    const req = bearer(await token({ sub: 'alice', kaltura: 'sview:0_abc' }));
    const verify = countVerifications();
    expect(await getUser(req)).toEqual({ id: 'alice', privileges: 'sview:0_abc' });
    expect(verify).toHaveBeenCalledTimes(1);
    expect(await getUser(req)).toEqual({ id: 'alice', privileges: 'sview:0_abc' });
    expect(await getUser(req)).toEqual({ id: 'alice', privileges: 'sview:0_abc' });
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('is keyed by the whole token: a token with a changed signature is checked, and refused', async () => {
    const { getUser, rejections } = clockedUser();
    const good = await token({ sub: 'alice' });
    expect(await getUser(bearer(good))).toEqual({ id: 'alice' });
    const last = good.at(-1) === 'A' ? 'B' : 'A';
    expect(await getUser(bearer(`${good.slice(0, -1)}${last}`))).toBeNull();
    expect(rejections).toEqual(['ERR_JWS_SIGNATURE_VERIFICATION_FAILED']);
  });

  it('a cached token expires at exp: past exp + tolerance it is refused, as on its first use', async () => {
    const { clock, getUser, rejections } = clockedUser({ toleranceSeconds: 5 });
    const req = bearer(await token({ sub: 'alice', exp: seconds(START) + 600 }));
    expect(await getUser(req)).toEqual({ id: 'alice' });
    const verify = countVerifications();
    clock.t = START + 599_999;
    expect(await getUser(req)).toEqual({ id: 'alice' });
    expect(verify).toHaveBeenCalledTimes(0); // still a hit just before exp
    clock.t = START + 600_000; // at exp: never served from the cache, jose decides (tolerance)
    expect(await getUser(req)).toEqual({ id: 'alice' });
    expect(verify).toHaveBeenCalledTimes(1);
    clock.t = START + 605_000;
    expect(await getUser(req)).toBeNull();
    expect(rejections).toEqual(['ERR_JWT_EXPIRED']);
  });

  it('a cached token whose nbf is ahead again (the clock went back) is refused', async () => {
    const { clock, getUser, rejections } = clockedUser({ toleranceSeconds: 0 });
    const req = bearer(await token({ sub: 'bob', nbf: seconds(START) + 60 }));
    clock.t = START + 60_000;
    expect(await getUser(req)).toEqual({ id: 'bob' });
    clock.t = START + 59_000;
    expect(await getUser(req)).toBeNull();
    expect(rejections).toEqual(['ERR_JWT_CLAIM_VALIDATION_FAILED']);
    clock.t = START + 60_000;
    expect(await getUser(req)).toEqual({ id: 'bob' });
  });

  it('a cached token whose iat is ahead again (the clock went back) is refused', async () => {
    const { clock, getUser, rejections } = clockedUser({ toleranceSeconds: 5 });
    const req = bearer(await token({ sub: 'carol', iat: seconds(START) + 100 }));
    clock.t = START + 100_000;
    expect(await getUser(req)).toEqual({ id: 'carol' });
    clock.t = START + 95_000; // iat is 5 s ahead: within the tolerance
    expect(await getUser(req)).toEqual({ id: 'carol' });
    clock.t = START + 94_000;
    expect(await getUser(req)).toBeNull();
    expect(rejections).toEqual(['ERR_JWT_CLAIM_VALIDATION_FAILED']);
  });

  it.each([
    ['the wrong issuer', { iss: 'https://evil.example.com' }],
    ['the wrong audience', { aud: 'someone-else' }],
    ['no exp', { exp: undefined }],
  ])('a token with %s is refused every time it comes, never remembered', async (_, claims) => {
    const { getUser, rejections } = clockedUser();
    const req = bearer(await token({ sub: 'mallory', ...claims }));
    const verify = countVerifications();
    expect(await getUser(req)).toBeNull();
    expect(await getUser(req)).toBeNull();
    expect(rejections).toHaveLength(2);
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('a token one jwtUser remembers is judged afresh by another with other options', async () => {
    const first = clockedUser();
    const req = bearer(await token({ sub: 'alice' }));
    expect(await first.getUser(req)).toEqual({ id: 'alice' });
    const strict = jwtUser({
      secret: SECRET,
      issuer: 'https://app.example.com',
      audience: 'another-audience',
      now: () => START,
    });
    expect(await strict(req)).toBeNull();
  });

  it('what a caller does to the user it was given never reaches the next request', async () => {
    const { getUser } = clockedUser();
    const req = bearer(await token({ sub: 'alice', kaltura: { sview: ['0_abc'] } }));
    const first = await getUser(req);
    expect(first).toEqual({ id: 'alice', privileges: { sview: ['0_abc'] } });
    first!.id = 'root';
    (first!.privileges as Record<string, string[]>).sview!.push('*');
    (first!.privileges as Record<string, string[]>).edit = ['*'];
    expect(await getUser(req)).toEqual({ id: 'alice', privileges: { sview: ['0_abc'] } });
    const second = await getUser(req);
    (second!.privileges as Record<string, string[]>).sview!.push('*');
    expect(await getUser(req)).toEqual({ id: 'alice', privileges: { sview: ['0_abc'] } });
  });

  it('holds at most maxCachedTokens tokens: the oldest is checked again', async () => {
    const { getUser } = clockedUser({ maxCachedTokens: 2 });
    const reqs = await Promise.all(
      ['a', 'b', 'c'].map(async (sub) => bearer(await token({ sub }))),
    );
    for (const req of reqs) await getUser(req);
    const verify = countVerifications();
    expect(await getUser(reqs[2]!)).toEqual({ id: 'c' });
    expect(await getUser(reqs[1]!)).toEqual({ id: 'b' });
    expect(verify).toHaveBeenCalledTimes(0);
    expect(await getUser(reqs[0]!)).toEqual({ id: 'a' });
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('maxCachedTokens: 0 checks every token every time', async () => {
    const { getUser } = clockedUser({ maxCachedTokens: 0 });
    const req = bearer(await token({ sub: 'alice' }));
    const verify = countVerifications();
    await getUser(req);
    await getUser(req);
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it.each([-1, 1.5, Number.NaN, '10'])('refuses maxCachedTokens %s, naming the option', (value) => {
    expect(() =>
      jwtUser({ secret: SECRET, issuer: 'i', audience: 'a', maxCachedTokens: value as number }),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_KS_INVALID_OPTION',
        message: expect.stringContaining('maxCachedTokens'),
      }),
    );
  });
});

describe('jwtUser answers without a promise when it verifies nothing', () => {
  it('a remembered token and a request without a token; a new token takes a promise', async () => {
    const { getUser } = clockedUser();
    const t = await token({ sub: 'alice' });
    const first = getUser(bearer(t));
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toEqual({ id: 'alice' });
    // The signed-in request's hot path: the engine serves it without a microtask.
    const verifications = countVerifications();
    const again = getUser(bearer(t));
    expect(again).not.toBeInstanceOf(Promise);
    expect(again).toEqual({ id: 'alice' });
    expect(getUser({ headers: {} })).toBeNull();
    expect(verifications).not.toHaveBeenCalled();
  });

  it('a remembered token past its exp goes back to jose, which refuses it', async () => {
    const { clock, getUser, rejections } = clockedUser();
    const t = await token({ sub: 'alice' });
    expect(await getUser(bearer(t))).toEqual({ id: 'alice' });
    // Past exp and the 5 s tolerance.
    clock.t = START + 606_000;
    const late = getUser(bearer(t));
    expect(late).toBeInstanceOf(Promise);
    expect(await late).toBeNull();
    expect(rejections).toEqual(['ERR_JWT_EXPIRED']);
  });
});
