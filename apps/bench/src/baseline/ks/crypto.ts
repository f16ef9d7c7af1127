import {
  type Cipher,
  createCipheriv,
  createDecipheriv,
  type Decipher,
  hash,
  randomFillSync,
  timingSafeEqual,
} from 'node:crypto';

/**
 * The crypto a KS needs, tuned for the hot path: one-shot hashing, one AES
 * context kept per secret, random bytes drawn from a pooled CSPRNG buffer.
 */

export function sha1(data: Uint8Array): Buffer {
  return hash('sha1', data, 'buffer') as unknown as Buffer;
}

export function sha1Hex(data: Uint8Array | string): string {
  return hash('sha1', data, 'hex');
}

const ZERO_IV = Buffer.alloc(16);
const BLOCK = 16;

/**
 * AES-128-CBC with a zero IV and no padding, the KS v2 cipher, keeping one
 * OpenSSL context per key instead of creating one per KS (the costliest step).
 *
 * A CBC context that is never finalised carries on from the last ciphertext
 * block, as if that block were the IV of the next message. XOR-ing it into the
 * next message's first block (encrypt) or first output block (decrypt) cancels
 * it, so each call gives exactly what a fresh zero-IV context gives — a test
 * checks this against fresh contexts.
 */
export class ZeroIvCbc {
  readonly #key: Buffer;
  #encipher: Cipher | undefined;
  #decipher: Decipher | undefined;
  readonly #encryptChain = Buffer.alloc(BLOCK);
  readonly #decryptChain = Buffer.alloc(BLOCK);

  constructor(key: Buffer) {
    this.#key = key;
  }

  /** Encrypts `plain` (a whole number of blocks). `plain` is used as scratch space. */
  encrypt(plain: Buffer): Buffer {
    if (this.#encipher === undefined) {
      this.#encipher = createCipheriv('aes-128-cbc', this.#key, ZERO_IV).setAutoPadding(false);
    }
    for (let i = 0; i < BLOCK; i++) plain[i]! ^= this.#encryptChain[i]!;
    const out = this.#encipher.update(plain);
    out.copy(this.#encryptChain, 0, out.length - BLOCK);
    return out;
  }

  /** Decrypts `data` (a whole number of blocks, at least one). */
  decrypt(data: Uint8Array): Buffer {
    if (this.#decipher === undefined) {
      this.#decipher = createDecipheriv('aes-128-cbc', this.#key, ZERO_IV).setAutoPadding(false);
    }
    const out = this.#decipher.update(data);
    for (let i = 0; i < BLOCK; i++) out[i]! ^= this.#decryptChain[i]!;
    this.#decryptChain.set(data.subarray(data.length - BLOCK));
    return out;
  }
}

const CIPHER_CACHE_MAX = 64;
const cipherCache = new Map<string, ZeroIvCbc>();

/** The KS v2 cipher for an admin secret: key = the first 16 bytes of SHA1(secret). */
export function ksCipherFor(secret: string): ZeroIvCbc {
  let cipher = cipherCache.get(secret);
  if (cipher === undefined) {
    cipher = new ZeroIvCbc(sha1(Buffer.from(secret, 'utf8')).subarray(0, 16));
    if (cipherCache.size >= CIPHER_CACHE_MAX)
      cipherCache.delete(cipherCache.keys().next().value as string);
    cipherCache.set(secret, cipher);
  }
  return cipher;
}

const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/** Cryptographically secure random bytes, drawn from a pooled buffer (never reused). */
export function secureRandomBytes(size: number): Uint8Array {
  if (size > POOL_SIZE) return randomFillSync(Buffer.allocUnsafe(size));
  if (poolOffset + size > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_SIZE));
    poolOffset = 0;
  }
  const out = pool.subarray(poolOffset, poolOffset + size);
  poolOffset += size;
  return out;
}

/** Fills `target[offset, offset + size)` with secure random bytes from the pool. */
export function fillSecureRandom(target: Buffer, offset: number, size: number): void {
  if (size > POOL_SIZE) {
    randomFillSync(target, offset, size);
    return;
  }
  if (poolOffset + size > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_SIZE));
    poolOffset = 0;
  }
  pool.copy(target, offset, poolOffset, poolOffset + size);
  poolOffset += size;
}

/** Constant-time comparison of two equal-length byte strings. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
