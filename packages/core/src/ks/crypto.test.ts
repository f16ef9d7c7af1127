import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fillSecureRandom, ksCipherFor, secureRandomBytes, ZeroIvCbc } from './crypto.js';

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
