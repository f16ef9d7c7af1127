import {
  type Cipher,
  createCipheriv,
  createDecipheriv,
  type Decipher,
  hash,
  randomFillSync,
} from 'node:crypto';

/**
 * The crypto a KS needs, tuned for the hot path: one-shot hashing into strings
 * (a Buffer made by Node's C++ side costs more than the SHA1 itself), one AES
 * context kept per secret, random bytes drawn from a pooled CSPRNG buffer.
 */

/** SHA1 of `data` (a string is hashed as UTF-8) as its 20 raw bytes, one latin1 character each. */
export function sha1Latin1(data: Uint8Array | string): string {
  return hash('sha1', data, 'binary'); // 'binary' is Node's other name for latin1
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
    const chain = this.#encryptChain;
    for (let i = 0; i < BLOCK; i++) plain[i]! ^= chain[i]!;
    const out = this.#encipher.update(plain);
    const last = out.length - BLOCK;
    for (let i = 0; i < BLOCK; i++) chain[i] = out[last + i]!;
    return out;
  }

  /** Decrypts `data` (a whole number of blocks, at least one). */
  decrypt(data: Uint8Array): Buffer {
    if (this.#decipher === undefined) {
      this.#decipher = createDecipheriv('aes-128-cbc', this.#key, ZERO_IV).setAutoPadding(false);
    }
    const out = this.#decipher.update(data);
    const chain = this.#decryptChain;
    const last = data.length - BLOCK;
    for (let i = 0; i < BLOCK; i++) {
      out[i]! ^= chain[i]!;
      chain[i] = data[last + i]!;
    }
    return out;
  }
}

const SECRET_CACHE_MAX = 64;

/** A small cache by admin secret, dropping the oldest entry when full. */
function bySecret<T>(make: (secret: string) => T): (secret: string) => T {
  const cache = new Map<string, T>();
  // The last secret asked for, and its value: most servers sign with one secret.
  let lastSecret: string | undefined;
  let lastValue: T | undefined;
  return (secret) => {
    if (secret === lastSecret) return lastValue as T;
    let value = cache.get(secret);
    if (value === undefined) {
      value = make(secret);
      if (cache.size >= SECRET_CACHE_MAX) cache.delete(cache.keys().next().value as string);
      cache.set(secret, value);
    }
    lastSecret = secret;
    lastValue = value;
    return value;
  };
}

/** The KS v2 cipher for an admin secret: key = the first 16 bytes of SHA1(secret as UTF-8). */
export const ksCipherFor: (secret: string) => ZeroIvCbc = bySecret(
  (secret) => new ZeroIvCbc(Buffer.from(sha1Latin1(secret), 'latin1').subarray(0, 16)),
);

/** An admin secret as UTF-8 bytes (what a KS v1 signature hashes before the fields). */
export const secretBytes: (secret: string) => Buffer = bySecret((secret) =>
  Buffer.from(secret, 'utf8'),
);

const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/** `size` bytes of the pool nobody has had yet (refilled when it runs short); returns their offset. */
function takeFromPool(size: number): number {
  if (poolOffset + size > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_SIZE));
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += size;
  return at;
}

/** Fills `target[offset, offset + size)` with secure random bytes from the pool (never reused). */
export function fillSecureRandom(target: Uint8Array, offset: number, size: number): void {
  if (size > POOL_SIZE) {
    randomFillSync(target, offset, size);
    return;
  }
  const at = takeFromPool(size);
  for (let i = 0; i < size; i++) target[offset + i] = pool[at + i]!;
}

// Random integers come from a pool of their own, a whole 32-bit word at a time: any
// word of secure random bytes is a uniform integer, whatever the machine's byte order.
const WORDS = 1024;
const words = new Uint32Array(WORDS);
let wordsTaken = WORDS;

/** A secure random unsigned 32-bit integer, never handed out before. */
export function secureRandomUint32(): number {
  if (wordsTaken === WORDS) {
    randomFillSync(words);
    wordsTaken = 0;
  }
  return words[wordsTaken++]!;
}

/**
 * Whether `bytes[offset, offset + expected.length)` holds `expected`'s latin1 bytes,
 * looking at every byte whatever the first difference (no early exit on a mismatch).
 */
export function latin1Equal(bytes: Uint8Array, offset: number, expected: string): boolean {
  if (offset < 0 || offset + expected.length > bytes.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= bytes[offset + i]! ^ expected.charCodeAt(i);
  return diff === 0;
}

/** Whether two strings are equal, comparing every character whatever the first difference. */
export function textEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
