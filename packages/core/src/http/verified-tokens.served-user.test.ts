import { describe, expect, it } from 'vitest';
import { VerifiedTokens } from './verified-tokens.js';

/** The user a remembered token gives is the user it gave when verified: no more, no less. */

const T = 1_700_000_000;
const NOW_MS = T * 1000;

describe('VerifiedTokens serves the user as it was verified', () => {
  it('a user without privileges comes back without a privileges key', () => {
    const tokens = new VerifiedTokens(10, 5);
    tokens.set('t', { id: 'alice' }, { exp: T + 60 });
    const served = tokens.get('t', NOW_MS);
    expect(served).toStrictEqual({ id: 'alice' });
    expect(Object.keys(served!)).toEqual(['id']);
  });

  it('privileges as a string or an object come back equal, the object a copy', () => {
    const tokens = new VerifiedTokens(10, 5);
    const privileges = { sview: '0_a' };
    tokens.set('s', { id: 'bob', privileges: 'edit:0_b' }, { exp: T + 60 });
    tokens.set('o', { id: 'carol', privileges }, { exp: T + 60 });
    expect(tokens.get('s', NOW_MS)).toStrictEqual({ id: 'bob', privileges: 'edit:0_b' });
    const served = tokens.get('o', NOW_MS)!;
    expect(served).toStrictEqual({ id: 'carol', privileges: { sview: '0_a' } });
    expect(served.privileges).not.toBe(privileges);
  });
});
