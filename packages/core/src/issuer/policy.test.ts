import { describe, expect, it } from 'vitest';
import { freshness, renewAt } from './policy.js';
import type { KsSession } from './types.js';

const policy = { refreshAtFraction: 0.8, minRemainingMs: 60_000 };

function session(issuedAt: number, lifetimeMs: number): KsSession {
  return {
    ks: 'ks',
    partnerId: 1,
    userId: 'u',
    type: 0,
    privileges: '',
    issuedAt,
    expiresAt: issuedAt + lifetimeMs,
  };
}

describe('renewAt', () => {
  it('is refreshAtFraction of the lifetime after issue, for a long-lived KS', () => {
    expect(renewAt(session(1_000_000, 3_600_000), policy)).toBe(1_000_000 + 2_880_000);
  });

  it('is never later than minRemainingMs before expiry, for a short-lived KS', () => {
    // 80% of 100 s is 80 s, but only 40 s leave a minute to spare.
    expect(renewAt(session(1_000_000, 100_000), policy)).toBe(1_000_000 + 40_000);
  });

  it('takes a KS that expired before it was issued as having no lifetime', () => {
    const backwards = { ...session(1_000_000, 0), expiresAt: 900_000 };
    expect(renewAt(backwards, { refreshAtFraction: 0.8, minRemainingMs: 0 })).toBe(900_000);
    expect(renewAt(backwards, { refreshAtFraction: 0.8, minRemainingMs: -200_000 })).toBe(
      1_000_000,
    );
  });
});

describe('freshness', () => {
  const s = session(1_000_000, 3_600_000);
  const renewal = 1_000_000 + 2_880_000;
  const unusable = 1_000_000 + 3_600_000 - 60_000;

  it('is fresh until the renewal point, renew from it, unusable from minRemainingMs before expiry', () => {
    expect(freshness(s, renewal - 1, policy)).toBe('fresh');
    expect(freshness(s, renewal, policy)).toBe('renew');
    expect(freshness(s, unusable - 1, policy)).toBe('renew');
    expect(freshness(s, unusable, policy)).toBe('unusable');
    expect(freshness(s, s.expiresAt + 1, policy)).toBe('unusable');
  });

  it('goes from fresh straight to unusable when the cap leaves no renewal window', () => {
    const short = session(1_000_000, 100_000);
    expect(freshness(short, 1_000_000 + 39_999, policy)).toBe('fresh');
    expect(freshness(short, 1_000_000 + 40_000, policy)).toBe('unusable');
  });
});
