import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  fillSecureRandom,
  ksCipherFor,
  latin1Equal,
  secretBytes,
  secureRandomUint32,
  sha1Hex,
  sha1Latin1,
  textEqual,
  ZeroIvCbc,
} from './crypto.js';

function freshEncrypt(key: Buffer, plain: Buffer): Buffer {
  return createCipheriv('aes-128-cbc', key, Buffer.alloc(16)).setAutoPadding(false).update(plain);
}

describe('ZeroIvCbc keeps one context per key and still equals a fresh zero-IV context', () => {
  it('for many interleaved messages of every length, both ways', () => {
    const keys = [randomBytes(16), randomBytes(16)];
    const ciphers = keys.map((key) => new ZeroIvCbc(key));
    for (let i = 0; i < 500; i++) {
      const k = i % 2;
      const plain = randomBytes(16 * (1 + (i % 9)));
      const expected = freshEncrypt(keys[k]!, plain);
      const encrypted = ciphers[k]!.encrypt(Buffer.from(plain));
      expect(encrypted.equals(expected)).toBe(true);
      // Decrypt something unrelated first, so the decrypt chain is not in lock-step.
      ciphers[1 - k]!.decrypt(randomBytes(32));
      expect(ciphers[k]!.decrypt(encrypted).equals(plain)).toBe(true);
      const fresh = createDecipheriv('aes-128-cbc', keys[k]!, Buffer.alloc(16)).setAutoPadding(
        false,
      );
      expect(fresh.update(encrypted).equals(plain)).toBe(true);
    }
  });

  it('is cached per secret', () => {
    expect(ksCipherFor('a')).toBe(ksCipherFor('a'));
    expect(ksCipherFor('a')).not.toBe(ksCipherFor('b'));
  });
});

describe('pooled secure random bytes', () => {
  it('never hands out the same bytes twice', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const target = Buffer.alloc(16);
      fillSecureRandom(target, 0, 16);
      const hex = target.toString('hex');
      expect(seen.has(hex)).toBe(false);
      seen.add(hex);
    }
    const target = Buffer.alloc(48);
    fillSecureRandom(target, 16, 16);
    expect(target.subarray(0, 16).equals(Buffer.alloc(16))).toBe(true);
    expect(target.subarray(16, 32).equals(Buffer.alloc(16))).toBe(false);
    expect(target.subarray(32).equals(Buffer.alloc(16))).toBe(true);
  });
});

describe('secureRandomUint32', () => {
  it('gives unsigned 32-bit integers that differ, across pool refills', () => {
    const seen = new Set<number>();
    let high = false;
    for (let i = 0; i < 3000; i++) {
      const value = secureRandomUint32();
      expect(Number.isInteger(value) && value >= 0 && value <= 0xffffffff).toBe(true);
      if (value >= 2 ** 31) high = true;
      seen.add(value);
    }
    // 3,000 draws from 2^32 values: a repeat is a one-in-a-thousand event, so allow a few.
    expect(seen.size).toBeGreaterThan(2990);
    // Unsigned: the top bit is set about half the time.
    expect(high).toBe(true);
  });
});

describe('sha1Latin1 and sha1Hex', () => {
  it('give the SHA1 of bytes, and of a string as UTF-8, as raw latin1 and as hex', () => {
    for (const data of [Buffer.from([0, 1, 128, 255]), 'sécret ✓', '', Buffer.alloc(0)]) {
      const expected = createHash('sha1').update(data).digest();
      expect(Buffer.from(sha1Latin1(data), 'latin1').equals(expected)).toBe(true);
      expect(sha1Latin1(data)).toHaveLength(20);
      expect(sha1Hex(data)).toBe(expected.toString('hex'));
    }
  });
});

describe('latin1Equal', () => {
  const bytes = Buffer.from([0x61, 0x62, 0xff, 0x00, 0x63]);
  it('is true only when the bytes at the offset are the string, every one of them', () => {
    expect(latin1Equal(bytes, 0, 'ab\u00ff\u0000c')).toBe(true);
    expect(latin1Equal(bytes, 1, 'b\u00ff')).toBe(true);
    expect(latin1Equal(bytes, 5, '')).toBe(true);
    expect(latin1Equal(bytes, 0, 'ab\u00ff\u0000d')).toBe(false);
    expect(latin1Equal(bytes, 0, 'bb')).toBe(false);
    expect(latin1Equal(bytes, 2, '\u00fe')).toBe(false);
  });

  it('is false, not an error, for a range outside the bytes', () => {
    expect(latin1Equal(bytes, 4, 'cd')).toBe(false);
    expect(latin1Equal(bytes, -1, 'a')).toBe(false);
    expect(latin1Equal(bytes, 6, '')).toBe(false);
  });

  it('does not take the missing bytes past either end for NULs (a KS v2 is NUL-padded)', () => {
    expect(latin1Equal(bytes, -1, '\u0000ab')).toBe(false);
    expect(latin1Equal(bytes, 4, 'c\u0000')).toBe(false);
  });
});

describe('textEqual', () => {
  it('is true only for the same string, and false for different lengths', () => {
    expect(textEqual('abc', 'abc')).toBe(true);
    expect(textEqual('', '')).toBe(true);
    expect(textEqual('abc', 'abd')).toBe(false);
    expect(textEqual('xbc', 'abc')).toBe(false);
    expect(textEqual('abc', 'abcd')).toBe(false);
    expect(textEqual('abcd', 'abc')).toBe(false);
  });
});

describe('secretBytes', () => {
  it('is the secret as UTF-8, kept per secret', () => {
    expect(secretBytes('sécret').equals(Buffer.from('sécret', 'utf8'))).toBe(true);
    expect(secretBytes('sécret')).toBe(secretBytes('sécret'));
    for (let i = 0; i < 100; i++) secretBytes(`other-${i}`);
    expect(secretBytes('sécret').equals(Buffer.from('sécret', 'utf8'))).toBe(true);
  });
});

describe('the KS v2 key', () => {
  it('is the first 16 bytes of SHA1(secret as UTF-8) (§3.3 example)', () => {
    const cipher = ksCipherFor('0123456789abcdef0123456789abcdef');
    const key = Buffer.from('b1775a785f09a6ebaf2dc33d6eaeb989', 'hex');
    const plain = randomBytes(32);
    expect(cipher.encrypt(Buffer.from(plain)).equals(freshEncrypt(key, plain))).toBe(true);
    const utf8Key = createHash('sha1').update('sécret', 'utf8').digest().subarray(0, 16);
    expect(
      ksCipherFor('sécret').encrypt(Buffer.from(plain)).equals(freshEncrypt(utf8Key, plain)),
    ).toBe(true);
  });

  it('still gives the right cipher for a secret after many others were used', () => {
    const plain = randomBytes(16);
    const expected = ksCipherFor('first').encrypt(Buffer.from(plain));
    for (let i = 0; i < 200; i++) ksCipherFor(`other-${i}`).encrypt(randomBytes(16));
    expect(ksCipherFor('first').encrypt(Buffer.from(plain)).equals(expected)).toBe(true);
    expect(ksCipherFor('first').decrypt(expected).equals(plain)).toBe(true);
  });
});

describe('secure random bytes', () => {
  it('fills exactly the range asked, across pool refills and for large sizes', () => {
    for (const size of [16, 3000, 3000, 4096, 4097, 10_000]) {
      const target = Buffer.alloc(size + 32);
      fillSecureRandom(target, 16, size);
      expect(target.subarray(0, 16).equals(Buffer.alloc(16))).toBe(true);
      expect(target.subarray(16 + size).equals(Buffer.alloc(16))).toBe(true);
      // Random bytes: some of the first and last sixteen are not zero.
      expect(target.subarray(16, 32).equals(Buffer.alloc(16))).toBe(false);
      expect(target.subarray(size, size + 16).equals(Buffer.alloc(16))).toBe(false);
    }
  });
});
