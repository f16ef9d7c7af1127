import { describe, expect, it } from 'vitest';
import { sealV1 } from '../test-utils/seal.js';
import { SPEC_SECRET, SPEC_VALID_UNTIL } from '../test-utils/vectors.js';
import { createKs } from './create.js';

// KS v1's scratch space starts at one kilobyte and grows when a KS may not fit. Vitest gives
// this file a module graph of its own: the first test starts from the first kilobyte, and the
// second outgrows what the first left (the tests run in this order).

const base = { partnerId: 12345 } as const;

describe('createKs KS v1 as long as the KS before, in scratch space that had to grow', () => {
  it('is signed over its own bytes', () => {
    const options = {
      ...base,
      secret: SPEC_SECRET,
      version: 1 as const,
      userId: 'bob',
      validUntil: SPEC_VALID_UNTIL,
      randomBytes: () => Uint8Array.of(0, 0, 0, 7),
    };
    // The same number of bytes each time; the second, in 3-byte-sized room for its
    // additionalData, no longer fits the first kilobyte.
    const privileges = `sview:${'a'.repeat(394)}`;
    const first = createKs({ ...options, privileges });
    expect(first).toBe(
      sealV1(SPEC_SECRET, `12345;12345;${SPEC_VALID_UNTIL};0;7;bob;${privileges};;`),
    );
    const additionalData = 'd'.repeat(privileges.length);
    const second = createKs({ ...options, additionalData });
    expect(second).toBe(
      sealV1(SPEC_SECRET, `12345;12345;${SPEC_VALID_UNTIL};0;7;bob;;;${additionalData}`),
    );
  });
});

describe('createKs KS v1 with the same first fields as the KS before', () => {
  it('in scratch space that had to grow, writes them again', () => {
    const options = { ...base, version: 1 as const, userId: 'bob', validUntil: SPEC_VALID_UNTIL };
    const randomBytes = () => Uint8Array.of(0, 0, 0, 7);
    createKs({ ...options, secret: SPEC_SECRET, randomBytes });
    const additionalData = '日'.repeat(1024); // 3,072 bytes: past the first kilobyte
    const ks = createKs({ ...options, secret: SPEC_SECRET, additionalData, randomBytes });
    const info = `12345;12345;${SPEC_VALID_UNTIL};0;7;bob;;;${additionalData}`;
    expect(ks).toBe(sealV1(SPEC_SECRET, info));
  });
});
