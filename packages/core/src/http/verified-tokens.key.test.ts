import { describe, expect, it } from 'vitest';
import { VerifiedTokens } from './verified-tokens.js';

// Seconds since the epoch, as a token's claims hold them; the cache is asked in ms.
const T = 1_700_000_000;
const NOW = T * 1000;
const times = { exp: T + 3600 };

// The cache finds an entry by a short key (a token's last 8 characters): these tokens share it.
const alice = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.SIGNATURE-same-end';
const mallory = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.SIGNATURE-same-end';

describe('VerifiedTokens never serves one token for another', () => {
  it('a token sharing the short key of a remembered one is not served its user', () => {
    const tokens = new VerifiedTokens(10, 0);
    tokens.set(alice, { id: 'alice' }, times);
    expect(tokens.get(mallory, NOW)).toBeUndefined();
    // A prefix, a suffix, or the token with a character changed: none is the token.
    expect(tokens.get(alice.slice(1), NOW)).toBeUndefined();
    expect(tokens.get('d', NOW)).toBeUndefined();
    expect(tokens.get(`x${alice.slice(1)}`, NOW)).toBeUndefined();
    expect(tokens.get(alice, NOW)).toEqual({ id: 'alice' });
  });

  it("a token sharing the short key takes the earlier one's place, which is then verified again", () => {
    const tokens = new VerifiedTokens(10, 0);
    tokens.set(alice, { id: 'alice' }, times);
    tokens.set(mallory, { id: 'mallory' }, times);
    expect(tokens.size).toBe(1);
    expect(tokens.get(alice, NOW)).toBeUndefined();
    expect(tokens.get(mallory, NOW)).toEqual({ id: 'mallory' });
  });

  it('a miss on a token sharing the key leaves the remembered one in place', () => {
    const tokens = new VerifiedTokens(10, 0);
    tokens.set(alice, { id: 'alice' }, times);
    expect(tokens.get(mallory, NOW + 3600_000)).toBeUndefined();
    expect(tokens.size).toBe(1);
    expect(tokens.get(alice, NOW)).toEqual({ id: 'alice' });
  });

  it('tokens that differ anywhere in their last 8 characters are kept side by side', () => {
    const tokens = new VerifiedTokens(100, 0);
    const base = 'header.payload.signatureABCDEFGH';
    const variants = Array.from({ length: 8 }, (_, i) => {
      const at = base.length - 8 + i;
      return `${base.slice(0, at)}z${base.slice(at + 1)}`;
    });
    for (const [i, token] of [base, ...variants].entries())
      tokens.set(token, { id: `u${i}` }, times);
    expect(tokens.size).toBe(9);
    for (const [i, token] of [base, ...variants].entries())
      expect(tokens.get(token, NOW)).toEqual({ id: `u${i}` });
  });

  it('a token shorter than the key is remembered like any other', () => {
    const tokens = new VerifiedTokens(10, 0);
    tokens.set('abc', { id: 'short' }, times);
    tokens.set('xbc', { id: 'other' }, times);
    expect(tokens.get('abc', NOW)).toEqual({ id: 'short' });
    expect(tokens.get('xbc', NOW)).toEqual({ id: 'other' });
    expect(tokens.get('bc', NOW)).toBeUndefined();
  });

  it('when full, the oldest token goes, whatever the keys', () => {
    const tokens = new VerifiedTokens(2, 0);
    tokens.set('one.AAAAAAAA', { id: '1' }, times);
    tokens.set('two.BBBBBBBB', { id: '2' }, times);
    tokens.set('two.BBBBBBBB', { id: '2b' }, times); // the same token again: no room needed
    expect(tokens.get('one.AAAAAAAA', NOW)).toEqual({ id: '1' });
    tokens.set('three.CCCCCCCC', { id: '3' }, times);
    expect(tokens.size).toBe(2);
    expect(tokens.get('one.AAAAAAAA', NOW)).toBeUndefined();
    expect(tokens.get('two.BBBBBBBB', NOW)).toEqual({ id: '2b' });
    expect(tokens.get('three.CCCCCCCC', NOW)).toEqual({ id: '3' });
  });
});
