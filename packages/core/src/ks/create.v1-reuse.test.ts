import { describe, expect, it } from 'vitest';
import { sealV1 } from '../test-utils/seal.js';
import { SPEC_SECRET, SPEC_VALID_UNTIL } from '../test-utils/vectors.js';
import { createKs } from './create.js';
import { KsType } from './types.js';

// createKs v1 leaves its fields in its scratch space and, when the next KS writes the same
// ones at the same place, does not write them again; it also does not validate again the user
// id and privileges string it validated last. Each KS here is checked against the bytes built
// independently (sealV1), so a field left over from the KS before cannot pass unnoticed.

interface V1 {
  secret?: string;
  partnerId?: number;
  type?: KsType;
  userId?: string;
  privileges?: string;
  masterPartnerId?: number;
  additionalData?: string;
  rand?: number;
}

function randomBytesOf(rand: number) {
  return (size: number) => {
    const bytes = new Uint8Array(size);
    new DataView(bytes.buffer).setUint32(0, rand);
    return bytes;
  };
}

/** Signs a KS v1 and returns it beside the bytes it must have. */
function signed(x: V1): { ks: string; expected: string } {
  const {
    secret = SPEC_SECRET,
    partnerId = 12345,
    type = KsType.USER,
    userId = 'alice',
    privileges = 'sview:*',
    rand = 1_000_000_000,
  } = x;
  const ks = createKs({
    secret,
    partnerId,
    type,
    userId,
    privileges,
    masterPartnerId: x.masterPartnerId,
    additionalData: x.additionalData,
    validUntil: SPEC_VALID_UNTIL,
    version: 1,
    randomBytes: randomBytesOf(rand),
  });
  const info = [partnerId, partnerId, SPEC_VALID_UNTIL, type, rand, userId, privileges];
  info.push(x.masterPartnerId ?? '', x.additionalData ?? '');
  return { ks, expected: sealV1(secret, info.join(';')) };
}

function expectEachOwnBytes(steps: V1[]): void {
  for (const [i, step] of steps.entries()) {
    const { ks, expected } = signed(step);
    expect(ks, `KS ${i + 1}`).toBe(expected);
  }
}

// First in this file (vitest gives it a module graph of its own, and runs its tests in order):
// the scratch space is still its first kilobyte.
describe('createKs KS v1 with the fields after rand of the KS before, in scratch space that had to grow', () => {
  it('writes them again', () => {
    // The first KS just fits the first kilobyte. The second has a secret two bytes longer,
    // which moves the info two bytes on, and a partner id one digit shorter, written twice,
    // which moves the fields after rand back to where they were: the same fields, in the same
    // place, but in the new, larger scratch space.
    const additionalData = 'é'.repeat(277);
    expectEachOwnBytes([
      { secret: 'k'.repeat(41), partnerId: 1000, userId: '', privileges: '', additionalData },
      { secret: 'k'.repeat(43), partnerId: 100, userId: '', privileges: '', additionalData },
    ]);
  });
});

describe('createKs KS v1 for the same user as the KS before', () => {
  it('with a rand of another number of digits each time, has its own bytes', () => {
    expectEachOwnBytes([
      { rand: 4_294_967_295 },
      { rand: 4_294_967_295 },
      { rand: 0 },
      { rand: 9 },
      { rand: 10 },
      { rand: 999_999_999 },
      { rand: 4_294_967_295 },
      { rand: 1_000_000_000 },
    ]);
  });

  it('after a KS with the same first fields but a longer partner id, has its own bytes', () => {
    // The same fields after rand, once one byte later, then back in their place.
    expectEachOwnBytes([
      { partnerId: 7 },
      { partnerId: 77 },
      { partnerId: 8 },
      { partnerId: 7, type: KsType.ADMIN },
    ]);
  });
});

describe('createKs KS v1 with one field after rand changed, in the same place', () => {
  const steps: Array<[string, V1, V1]> = [
    ['the user id', { userId: 'alice' }, { userId: 'bobby' }],
    ['the privileges', { privileges: 'sview:a' }, { privileges: 'sview:b' }],
    ['the master partner id', { masterPartnerId: 1 }, { masterPartnerId: 2 }],
    ['the master partner id (none before)', {}, { masterPartnerId: 3 }],
    ['the master partner id (none now)', { masterPartnerId: 4 }, {}],
    ['the additional data', { additionalData: 'd' }, { additionalData: 'e' }],
    ['the additional data (none before)', {}, { additionalData: 'f' }],
    ['the additional data (none now)', { additionalData: 'g' }, {}],
  ];
  it.each(steps)('%s: each KS has its own bytes, and the first again', (_, first, second) => {
    expectEachOwnBytes([first, second, first, first, second]);
  });
});

describe('createKs KS v1 signed with secrets of every length around the signature', () => {
  it('each has its own bytes, one after another and back', () => {
    // 40 hex digits and "|" precede the info: a longer secret moves the info, by one byte at a time.
    const secrets = Array.from({ length: 8 }, (_, i) => 'k'.repeat(38 + i));
    expectEachOwnBytes([...secrets, ...secrets.reverse()].map((secret) => ({ secret })));
  });
});

describe('createKs KS v1 between KS v2', () => {
  it('keeps its own bytes whatever was signed in between', () => {
    const { ks: first, expected } = signed({ userId: 'alice' });
    expect(first).toBe(expected);
    createKs({ secret: SPEC_SECRET, partnerId: 12345, userId: 'bobby', privileges: 'sview:b' });
    const { ks: second } = signed({ userId: 'alice' });
    expect(second).toBe(expected);
    createKs({ secret: 'another', partnerId: 12345, userId: 'alice', version: 1 });
    expect(signed({ userId: 'alice' }).ks).toBe(expected);
  });
});

describe('createKs after a KS with a valid user id and privileges', () => {
  const valid = { secret: SPEC_SECRET, partnerId: 12345, version: 1 as const };

  it('still refuses an unsafe user id, and signs the valid one again after', () => {
    for (const version of [1, 2] as const) {
      createKs({ ...valid, version, userId: 'alice' });
      expect(() => createKs({ ...valid, version, userId: 'alice;edit:*' })).toThrow(
        expect.objectContaining({ code: 'ERR_KS_INVALID_FIELD' }),
      );
      expect(() => createKs({ ...valid, version, userId: 5 as unknown as string })).toThrow(
        expect.objectContaining({ code: 'ERR_KS_INVALID_FIELD' }),
      );
      expect(signed({ userId: 'alice' }).ks).toBe(signed({ userId: 'alice' }).expected);
    }
  });

  it('still refuses unsafe privileges, and a string the other version signed', () => {
    createKs({ ...valid, privileges: 'sview:*' });
    expect(() => createKs({ ...valid, privileges: 'sview:*;x' })).toThrow(
      expect.objectContaining({ code: 'ERR_KS_INVALID_FIELD' }),
    );
    // A KS v2 trims each item, a KS v1 keeps it as it is: " sview" is no v1 privilege name.
    const spaced = ' sview:*';
    createKs({ ...valid, version: 2, privileges: spaced });
    expect(() => createKs({ ...valid, privileges: spaced })).toThrow(
      expect.objectContaining({ code: 'ERR_KS_INVALID_FIELD' }),
    );
  });

  it('signs privileges given as a record as the record is now, not as it was', () => {
    const privileges: Record<string, string> = { sview: 'a' };
    const options = {
      ...valid,
      privileges,
      validUntil: SPEC_VALID_UNTIL,
      randomBytes: randomBytesOf(7),
    };
    const info = (value: string) => `12345;12345;${SPEC_VALID_UNTIL};0;7;;sview:${value};;`;
    expect(createKs(options)).toBe(sealV1(SPEC_SECRET, info('a')));
    privileges.sview = 'b';
    expect(createKs(options)).toBe(sealV1(SPEC_SECRET, info('b')));
  });
});
