import { describe, expect, it } from 'vitest';
import { fixedClock, SPEC_PARTNER, SPEC_SECRET } from '../test-utils/vectors.js';
import { signKs } from './create.js';
import { verifyKs } from './verify.js';

const base = { secret: SPEC_SECRET, partnerId: SPEC_PARTNER, userId: 'alice' };

describe('signKs: the KS and the expiry it signed', () => {
  it.each([1, 2] as const)('KS v%i: the expiry asked for, the one the KS holds', (version) => {
    const { ks, validUntil } = signKs({
      ...base,
      version,
      expiresInSeconds: 600,
      now: fixedClock(1_700_000_000_123),
    });
    expect(validUntil).toBe(1_700_000_600);
    expect(verifyKs(ks, { secrets: SPEC_SECRET, now: fixedClock(0) })).toMatchObject({
      userId: 'alice',
      validUntil,
    });
  });

  it.each([1, 2] as const)(
    'KS v%i with downloadasset: the expiry rounded up to 5 minutes',
    (version) => {
      const { ks, validUntil } = signKs({
        ...base,
        version,
        privileges: 'downloadasset:0_a',
        validUntil: 1_000_000_001,
      });
      expect(validUntil).toBe(1_000_000_200);
      expect(verifyKs(ks, { secrets: SPEC_SECRET, now: fixedClock(0) }).validUntil).toBe(
        validUntil,
      );
    },
  );
});
