import { describe, expect, it } from 'vitest';
import { SPEC_SECRET, SPEC_VALID_UNTIL } from '../test-utils/vectors.js';
import { createKs } from './create.js';
import { KsType } from './types.js';
import { verifyKs } from './verify.js';

// createKs reuses its working memory from one KS to the next. Vitest gives each test file a
// module graph of its own, so the first KS of each version here finds that memory as a
// process's first KS does. (No vi.resetModules: a module loaded again inside a test makes its
// module-level code look like that test's to the mutation run, scripts/mutation.)

const NOW = () => 1_700_000_000_000;
const base = { partnerId: 12345, now: NOW } as const;

describe.each([1, 2] as const)('createKs KS v%i, one KS after another', (version) => {
  it('fields of every length up to the limits (3-byte characters) sign and read back intact', () => {
    // Every length from one character (an empty additionalData reads back as absent) while the
    // KS outgrows its first kilobyte, then by steps to the longest allowed.
    const lengths = Array.from({ length: 200 }, (_, i) => i + 1);
    for (let length = 211; length < 1024; length += 11) lengths.push(length);
    lengths.push(1024);
    for (const length of lengths) {
      const userId = '€'.repeat(Math.min(length, 100));
      const additionalData = '€'.repeat(length);
      const privileges = `sview:${'0_abcdefgh/'.repeat(Math.floor(length / 10))}0_end`;
      const ks = createKs({
        ...base,
        secret: SPEC_SECRET,
        version,
        userId,
        additionalData,
        privileges,
      });
      expect(verifyKs(ks, { secrets: SPEC_SECRET, now: NOW })).toMatchObject({
        userId,
        additionalData,
        privileges,
      });
    }
  });
});

describe('createKs KS v1 signed with secrets of different lengths', () => {
  it('each verifies with its own secret, also past a secret longer than the signature', () => {
    // 64 bytes: longer than the 40 hex digits and "|" before the info, which moves the info.
    const long = 'k'.repeat(64);
    for (const secret of ['a', 'bb', 'ccc', 'a', SPEC_SECRET, long, 'bb', long, 'a']) {
      const ks = createKs({ ...base, secret, version: 1, userId: 'alice' });
      expect(verifyKs(ks, { secrets: secret, now: NOW }).userId).toBe('alice');
    }
  });
});

describe('createKs KS v1 after a long KS v2', () => {
  it('is signed over its own fields, not the previous ones', () => {
    const v1 = (userId: string) => createKs({ ...base, secret: SPEC_SECRET, version: 1, userId });
    const read = (ks: string) => verifyKs(ks, { secrets: SPEC_SECRET, now: NOW }).userId;
    expect(read(v1('alice'))).toBe('alice');
    createKs({ ...base, secret: SPEC_SECRET, version: 2, additionalData: '€'.repeat(1024) });
    expect(read(v1('bobby'))).toBe('bobby');
  });
});

describe('createKs KS v1 with the expiry of the KS before', () => {
  it('for another partner, or of another type, says so', () => {
    const ks = (partnerId: number, type: KsType) =>
      verifyKs(
        createKs({
          partnerId,
          type,
          secret: SPEC_SECRET,
          version: 1,
          userId: 'alice',
          validUntil: SPEC_VALID_UNTIL,
        }),
        { secrets: SPEC_SECRET, now: NOW },
      );
    expect(ks(111, KsType.USER)).toMatchObject({ partnerId: 111, type: KsType.USER });
    expect(ks(222, KsType.USER)).toMatchObject({ partnerId: 222, type: KsType.USER });
    expect(ks(222, KsType.ADMIN)).toMatchObject({ partnerId: 222, type: KsType.ADMIN });
    expect(ks(111, KsType.ADMIN)).toMatchObject({ partnerId: 111, type: KsType.ADMIN });
    expect(ks(111, KsType.USER)).toMatchObject({ partnerId: 111, type: KsType.USER });
  });
});
