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

// Characters of either alphabet, then at most two "=".
const PLAIN = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * Whether `input` is base64 with nothing to forgive: only characters of the two
 * alphabets, then at most two `=` that complete a group of four, and no group of
 * one character. Node's decoder reads such text exactly as PHP does; anything
 * else (whitespace, a misplaced `=`, a stray character) takes the strict path.
 */
export function isPlainBase64(input: string): boolean {
  if (!PLAIN.test(input)) return false;
  const length = input.length;
  const padding =
    input.charCodeAt(length - 1) !== PAD ? 0 : input.charCodeAt(length - 2) !== PAD ? 1 : 2;
  return ((length - padding) & 3) !== 1 && (padding === 0 || (length & 3) === 0);
}

/**
 * Decodes like PHP's `base64_decode($s, true)` after Kaltura's `-`→`+`, `_`→`/`:
 * both alphabets, whitespace anywhere, padding optional but, when present, it must
 * be right and nothing may follow it. Returns `null` where PHP would fail.
 */
export function decodeKsBase64(input: string): Buffer | null {
  // Node's own decoder takes both alphabets; it is only lenient where PHP is not.
  if (isPlainBase64(input)) return Buffer.from(input, 'base64');
  return decodeKsBase64Strictly(input);
}

/** `decodeKsBase64`, one character at a time: the path for whitespace and for refusals. */
export function decodeKsBase64Strictly(input: string): Buffer | null {
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

/**
 * `decodeKsBase64(input)` as a latin1 string (one character per byte), or `null` to
 * say "take the byte path" (it does not mean PHP would refuse it). Through `atob`,
 * which takes only the standard alphabet: a url-safe KS always goes the byte path.
 * `atob` also skips whitespace (form feed too, which PHP refuses), so its answer is
 * kept only when no character was skipped: the output then has exactly the length
 * of the input's data characters, every group but the last full.
 */
export function decodePlainKsBase64ToLatin1(input: string): string | null {
  const length = input.length;
  const padding =
    input.charCodeAt(length - 1) !== PAD ? 0 : input.charCodeAt(length - 2) !== PAD ? 1 : 2;
  const data = length - padding;
  // A group of one character, or padding that does not complete a group: not plain.
  if ((data & 3) === 1 || (padding !== 0 && (length & 3) !== 0)) return null;
  let text: string;
  try {
    text = atob(input);
  } catch {
    return null;
  }
  // Whitespace skipped would leave fewer bytes than the data characters give.
  return text.length === (data * 3) >>> 2 ? text : null;
}
