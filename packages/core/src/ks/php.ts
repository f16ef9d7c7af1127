/**
 * The few PHP behaviours a KS depends on, reproduced exactly
 * (spec §3.1, §3.2, §3.3 and §6).
 */

const PHP_SAFE = /^[A-Za-z0-9_.-]*$/;
const NEEDS_FIXING = /[!'()*~]|%20/;
const FIX = /[!'()*~]|%20/g;
const FIXED: Record<string, string> = {
  '!': '%21',
  "'": '%27',
  '(': '%28',
  ')': '%29',
  '*': '%2A',
  '~': '%7E',
  '%20': '+',
};

/**
 * PHP `urlencode` (RFC 1738 form encoding): `A-Z a-z 0-9 - _ .` stay, space
 * becomes `+`, every other UTF-8 byte becomes `%XX` in upper-case hex.
 * The input must be well-formed UTF-16 (callers validate first).
 */
export function phpUrlencode(value: string): string {
  if (PHP_SAFE.test(value)) return value;
  // encodeURIComponent differs from PHP only on !'()*~ (kept) and space (%20).
  const encoded = encodeURIComponent(value);
  return NEEDS_FIXING.test(encoded) ? encoded.replace(FIX, (m) => FIXED[m]!) : encoded;
}

// PHP urlencode keeps A-Z a-z 0-9 - _ . (1 = kept), by ASCII code.
const KEPT = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.') {
  KEPT[c.charCodeAt(0)] = 1;
}
const UPPER_HEX = [...'0123456789ABCDEF'].map((c) => c.charCodeAt(0));

/**
 * Writes `phpUrlencode(value)` into `target` at `offset` and returns the offset
 * after it: byte by byte while `value` is ASCII, through `phpUrlencode` for the
 * rest. `target` must have room for 9 bytes per character of `value` (a UTF-16
 * unit is at most 3 UTF-8 bytes, each `%XX`).
 */
export function writePhpUrlencoded(target: Buffer, offset: number, value: string): number {
  let o = offset;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0x7f) return offset + target.write(phpUrlencode(value), offset, 'latin1');
    if (KEPT[c] === 1) {
      target[o++] = c;
    } else if (c === 0x20) {
      target[o++] = 0x2b; // '+'
    } else {
      target[o++] = 0x25; // '%'
      target[o++] = UPPER_HEX[c >> 4]!;
      target[o++] = UPPER_HEX[c & 15]!;
    }
  }
  return o;
}

/** The value of a hex digit (either case), or -1. */
export function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** PHP `urldecode` over bytes: `+` is a space, a valid `%XX` is a byte, anything else stays. */
export function phpUrldecodeBytes(bytes: Uint8Array, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  let o = 0;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    if (c === 0x2b) {
      out[o++] = 0x20;
    } else if (c === 0x25 && i + 2 < end) {
      const hi = hexValue(bytes[i + 1]!);
      const lo = hexValue(bytes[i + 2]!);
      if (hi >= 0 && lo >= 0) {
        out[o++] = (hi << 4) | lo;
        i += 2;
      } else {
        out[o++] = c;
      }
    } else {
      out[o++] = c;
    }
  }
  return out.subarray(0, o);
}

/** Thrown by `phpParseStr` for a key PHP turns into an array (`a[b]`). */
export class PhpArrayKeyError extends Error {}

/**
 * PHP `parse_str` as KS v2 parsing uses it: `&`-separated pairs, url-decoded,
 * last duplicate wins in the first one's position, and key normalisation —
 * leading spaces dropped, a NUL ending the key, `.` and space turned into `_`,
 * an unmatched `[` (and every ` `, `.` or `[` after it) turned into `_`, a key
 * that is empty before its `[` dropped. A key with `[..]`
 * would become a PHP array, which Kaltura's parser cannot handle: it throws
 * `PhpArrayKeyError`. Keys and values are returned as raw bytes (`Buffer`).
 */
export function phpParseStr(bytes: Uint8Array): Map<string, Buffer> {
  const result = new Map<string, Buffer>();
  let start = 0;
  const length = bytes.length;
  while (start <= length) {
    let end = bytes.indexOf(0x26, start); // '&'
    if (end < 0) end = length;
    if (end > start) {
      let eq = bytes.indexOf(0x3d, start); // '='
      if (eq < 0 || eq > end) eq = -1;
      const keyBytes = phpUrldecodeBytes(bytes, start, eq < 0 ? end : eq);
      const value = eq < 0 ? Buffer.alloc(0) : phpUrldecodeBytes(bytes, eq + 1, end);
      const key = normaliseKey(keyBytes);
      if (key !== null) {
        // Map#set keeps an existing key's position, as a PHP array does.
        result.set(key, value);
      }
    }
    start = end + 1;
  }
  return result;
}

function normaliseKey(raw: Buffer): string | null {
  let s = 0;
  while (s < raw.length && raw[s] === 0x20) s++;
  let e = raw.indexOf(0, s);
  if (e < 0) e = raw.length;
  const key = Buffer.from(raw.subarray(s, e));
  for (let i = 0; i < key.length; i++) {
    const c = key[i]!;
    if (c === 0x20 || c === 0x2e) {
      key[i] = 0x5f;
    } else if (c === 0x5b) {
      if (i === 0) return null; // PHP drops a name that is empty before its '['
      if (key.indexOf(0x5d, i + 1) >= 0) throw new PhpArrayKeyError('array key');
      // Not an index after all: PHP (8.x) turns this '[' and every later ' ', '.'
      // and '[' into '_'.
      for (let j = i; j < key.length; j++) {
        if (key[j] === 0x20 || key[j] === 0x2e || key[j] === 0x5b) key[j] = 0x5f;
      }
      break;
    }
  }
  return key.length === 0 ? null : key.toString('latin1');
}

/** The characters PHP `trim()` removes by default. */
export function phpTrim(value: string): string {
  let s = 0;
  let e = value.length;
  while (s < e && isPhpSpace(value.charCodeAt(s))) s++;
  while (e > s && isPhpSpace(value.charCodeAt(e - 1))) e--;
  return s === 0 && e === value.length ? value : value.slice(s, e);
}

function isPhpSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x00 || c === 0x0b;
}

/**
 * MT19937 seeded with `init_genrand`, as PHP ≥ 7.1 runs it (`MT_RAND_MT19937`):
 * the first `count` tempered 32-bit outputs after one full reload.
 */
export function mt19937(seed: number, count: number): Uint32Array {
  const N = 624;
  const M = 397;
  const mt = new Uint32Array(N);
  mt[0] = seed >>> 0;
  for (let i = 1; i < N; i++) {
    const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
    mt[i] = (Math.imul(1812433253, prev) + i) >>> 0; // 1812433253 * prev + i, mod 2^32
  }
  for (let i = 0; i < N; i++) {
    const y = (mt[i]! & 0x80000000) | (mt[(i + 1) % N]! & 0x7fffffff);
    mt[i] = mt[(i + M) % N]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
  }
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    let y = mt[i]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    out[i] = y;
  }
  return out;
}

/**
 * `srand($seed)` followed by `count` calls of `rand(0, 255)`: each is the 32-bit
 * output masked to 8 bits. Kaltura seeds with `validUntil` to make `downloadasset`
 * sessions deterministic (spec §3.3).
 */
export function phpSeededBytes(seed: number, count: number): Uint8Array {
  return Uint8Array.from(mt19937(seed, count), (v) => v & 0xff);
}
