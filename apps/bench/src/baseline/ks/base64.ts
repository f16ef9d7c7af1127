/**
 * Base64 the way Kaltura reads and writes a KS (spec §2, §3.3, §4.1).
 */

// -1: whitespace PHP skips; -2: invalid; else the 6-bit value.
const REVERSE = new Int8Array(256).fill(-2);
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
for (let i = 0; i < ALPHABET.length; i++) REVERSE[ALPHABET.charCodeAt(i)] = i;
// Kaltura first maps the url-safe alphabet onto the standard one.
REVERSE[0x2d] = 62; // '-'
REVERSE[0x5f] = 63; // '_'
for (const ws of [0x09, 0x0a, 0x0d, 0x20]) REVERSE[ws] = -1;
const PAD = 0x3d; // '='

/**
 * Decodes like PHP's `base64_decode($s, true)` after Kaltura's `-`→`+`, `_`→`/`:
 * both alphabets, whitespace anywhere, padding optional but, when present, it must
 * be right and nothing may follow it. Returns `null` where PHP would fail.
 */
export function decodeKsBase64(input: string): Buffer | null {
  const out = Buffer.allocUnsafe(Math.ceil((input.length * 3) / 4));
  let acc = 0;
  let chars = 0; // data characters seen
  let padding = 0;
  let o = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c === PAD) {
      padding++;
      continue;
    }
    const v = c < 256 ? REVERSE[c]! : -2;
    if (v === -1) continue;
    if (v === -2 || padding > 0) return null;
    acc = (acc << 6) | v;
    chars++;
    if ((chars & 3) === 0) {
      out[o++] = (acc >> 16) & 0xff;
      out[o++] = (acc >> 8) & 0xff;
      out[o++] = acc & 0xff;
      acc = 0;
    }
  }
  const rest = chars & 3;
  if (rest === 1) return null;
  if (padding > 0 && (padding > 2 || (chars + padding) % 4 !== 0)) return null;
  if (rest === 2) {
    out[o++] = (acc >> 4) & 0xff;
  } else if (rest === 3) {
    out[o++] = (acc >> 10) & 0xff;
    out[o++] = (acc >> 2) & 0xff;
  }
  return out.subarray(0, o);
}

/** KS v1: standard alphabet with `=` padding. */
export function encodeStandardBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
