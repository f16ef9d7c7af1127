import { describe, expect, it, vi } from 'vitest';
import { SPEC_SECRET } from '../test-utils/vectors.js';

// createKs reuses its working memory from one KS to the next: each test loads the module anew,
// so that what it signs starts from that memory as a process's first KS finds it.
async function freshModules() {
  vi.resetModules();
  const { createKs } = await import('./create.js');
  const { verifyKs } = await import('./verify.js');
  return { createKs, verifyKs };
}

const NOW = () => 1_700_000_000_000;
const base = { partnerId: 12345, now: NOW } as const;

describe('createKs, one KS after another', () => {
  it.each([1, 2] as const)(
    'KS v%i: fields of every length up to the limits (3-byte characters) sign and read back intact',
    async (version) => {
      const { createKs, verifyKs } = await freshModules();
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
    },
  );

  it('KS v1 signed with secrets of different lengths each verify with their own secret', async () => {
    const { createKs, verifyKs } = await freshModules();
    for (const secret of ['a', 'bb', 'ccc', 'a', SPEC_SECRET, 'bb']) {
      const ks = createKs({ ...base, secret, version: 1, userId: 'alice' });
      expect(verifyKs(ks, { secrets: secret, now: NOW }).userId).toBe('alice');
    }
  });

  it('a KS v1 after a long KS v2 is signed over its own fields, not the previous ones', async () => {
    const { createKs, verifyKs } = await freshModules();
    const v1 = (userId: string) => createKs({ ...base, secret: SPEC_SECRET, version: 1, userId });
    const read = (ks: string) => verifyKs(ks, { secrets: SPEC_SECRET, now: NOW }).userId;
    expect(read(v1('alice'))).toBe('alice');
    createKs({ ...base, secret: SPEC_SECRET, version: 2, additionalData: '€'.repeat(1024) });
    expect(read(v1('bobby'))).toBe('bobby');
  });
});
