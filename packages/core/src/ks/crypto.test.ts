import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  bytesEqual,
  fillSecureRandom,
  ksCipherFor,
  secureRandomBytes,
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
      const hex = Buffer.from(secureRandomBytes(16)).toString('hex');
      expect(seen.has(hex)).toBe(false);
      seen.add(hex);
    }
    const target = Buffer.alloc(48);
    fillSecureRandom(target, 16, 16);
    expect(target.subarray(0, 16).equals(Buffer.alloc(16))).toBe(true);
    expect(target.subarray(16, 32).equals(Buffer.alloc(16))).toBe(false);
    expect(target.subarray(32).equals(Buffer.alloc(16))).toBe(true);
    expect(secureRandomBytes(5000)).toHaveLength(5000);
  });
});

describe('bytesEqual', () => {
  it('is true only for the same bytes, and false (not an error) for different lengths', () => {
    expect(bytesEqual(Buffer.from('abc'), Buffer.from('abc'))).toBe(true);
    expect(bytesEqual(Buffer.from('abc'), Buffer.from('abd'))).toBe(false);
    expect(bytesEqual(Buffer.from('abc'), Buffer.from('abcd'))).toBe(false);
    expect(bytesEqual(Buffer.alloc(0), Buffer.alloc(0))).toBe(true);
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
  it('gives exactly the size asked, across pool refills, in fresh bytes', () => {
    const seen = new Set<string>();
    for (const size of [1, 16, 4095, 4096, 4097, 16, 3000, 3000, 16]) {
      const bytes = secureRandomBytes(size);
      expect(bytes).toHaveLength(size);
      const hex = Buffer.from(bytes).toString('hex');
      if (size >= 16) {
        expect(seen.has(hex)).toBe(false);
        seen.add(hex);
      }
    }
  });

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
