import { describe, expect, it } from 'vitest';
import { VerifiedTokens } from './verified-tokens.js';

// Seconds since the epoch, as a token's claims hold them; the cache is asked in ms.
const T = 1_700_000_000;
const ms = (seconds: number) => seconds * 1000;
const user = { id: 'alice' };

describe('VerifiedTokens serves a token again only while its time claims hold', () => {
  it('a token not valid yet (nbf) on a clock that went back is not served, within the tolerance it is', () => {
    const tokens = new VerifiedTokens(10, 5);
    tokens.set('t', user, { exp: T + 3600, nbf: T });
    expect(tokens.get('t', ms(T))).toEqual(user);
    expect(tokens.get('t', ms(T - 5))).toEqual(user); // nbf = now + tolerance: still valid
    expect(tokens.get('t', ms(T - 6))).toBeUndefined(); // nbf > now + tolerance
    expect(tokens.get('t', ms(T))).toEqual(user); // not dropped: valid again later
  });

  it('a token "issued" in the future (iat) on a clock that went back is not served, within the tolerance it is', () => {
    const tokens = new VerifiedTokens(10, 5);
    tokens.set('t', user, { exp: T + 3600, iat: T });
    expect(tokens.get('t', ms(T) - 5000)).toEqual(user); // iat = now + tolerance
    expect(tokens.get('t', ms(T) - 5001)).toBeUndefined(); // a millisecond more
    expect(tokens.get('t', ms(T) + 1)).toEqual(user);
  });

  it('a token without nbf or iat is served until its exp, however far the clock went back', () => {
    const tokens = new VerifiedTokens(10, 0);
    tokens.set('t', user, { exp: T + 3600 });
    expect(tokens.get('t', ms(T - 86_400))).toEqual(user);
    expect(tokens.get('t', ms(T + 3600))).toBeUndefined();
  });

  it('with room for none, keeps nothing', () => {
    const tokens = new VerifiedTokens(0, 0);
    tokens.set('t', user, { exp: T + 3600 });
    expect(tokens.size).toBe(0);
    expect(tokens.get('t', ms(T))).toBeUndefined();
  });

  it('counts what it keeps, and when full lets the oldest go', () => {
    const tokens = new VerifiedTokens(2, 0);
    tokens.set('a', { id: 'a' }, { exp: T + 60 });
    tokens.set('b', { id: 'b' }, { exp: T + 60 });
    expect(tokens.size).toBe(2);
    tokens.set('c', { id: 'c' }, { exp: T + 60 });
    expect(tokens.size).toBe(2);
    expect(tokens.get('a', ms(T))).toBeUndefined();
    expect(tokens.get('c', ms(T))).toEqual({ id: 'c' });
  });
});
