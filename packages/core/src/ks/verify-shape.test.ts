import { describe, expect, it } from 'vitest';
import { sealV1, sealV2 } from '../test-utils/seal.js';
import { fixedClock, SPEC_SECRET } from '../test-utils/vectors.js';
import { decodeKs, verifyKs } from './verify.js';

const opts = { secrets: SPEC_SECRET, now: fixedClock(1_700_000_000_000) };

// What verifyKs returns is spread into sessions, logged and serialised: a field a KS does not
// hold is absent, not a key holding `undefined`.
describe('verifyKs and decodeKs return only the fields a KS holds', () => {
  it.each([
    [
      'a seven-field v1 KS (PHP and Python clients)',
      sealV1(SPEC_SECRET, '12345;12345;2000000000;0;1;bob;'),
    ],
    [
      'a v1 KS with empty optional fields',
      sealV1(SPEC_SECRET, '12345;12345;2000000000;0;1;bob;;;'),
    ],
    ['a v2 KS without _m and _d', sealV2(SPEC_SECRET, 12345, '_e=2000000000&_u=bob')],
  ])('%s', (_, ks) => {
    expect(Object.keys(verifyKs(ks, opts)).sort()).toEqual(
      ['hash', 'partnerId', 'privileges', 'type', 'userId', 'validUntil', 'version'].sort(),
    );
    const decoded = decodeKs(ks);
    expect(Object.keys(decoded)).not.toContain('additionalData');
    expect(Object.keys(decoded)).not.toContain('masterPartnerId');
  });
});
