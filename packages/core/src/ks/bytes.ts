/**
 * Writing a KS's fields straight into a byte buffer, as the text the server
 * writes: no intermediate strings on the hot path.
 */

/** Room for `String(value)` of any number: sign, 17 significant digits, exponent (`-1.2345678901234567e+308`). */
export const MAX_NUMBER_TEXT = 24;

/** How many decimal digits an integer in [0, 2^32) has. */
function decimalDigits(value: number): number {
  let digits = 1;
  for (let limit = 10; value >= limit; limit *= 10) digits++;
  return digits;
}

// The two ASCII digits of 0..99, for writing integers two digits at a time.
const DIGIT_PAIRS = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  DIGIT_PAIRS[2 * i] = 0x30 + Math.floor(i / 10);
  DIGIT_PAIRS[2 * i + 1] = 0x30 + (i % 10);
}

/**
 * Writes `String(value)` at `offset` and returns the offset after it: digit by
 * digit for an integer in [0, 2^32), through `String` for anything else (a
 * negative or larger integer, even `NaN`), so the text is always JavaScript's.
 */
export function writeInteger(target: Buffer, offset: number, value: number): number {
  if (value >>> 0 !== value) return offset + target.write(String(value), offset, 'latin1');
  const end = offset + decimalDigits(value);
  let i = end;
  let rest = value;
  while (rest >= 100) {
    const quotient = (rest / 100) >>> 0;
    const pair = 2 * (rest - 100 * quotient);
    target[--i] = DIGIT_PAIRS[pair + 1]!;
    target[--i] = DIGIT_PAIRS[pair]!;
    rest = quotient;
  }
  if (rest >= 10) {
    target[--i] = DIGIT_PAIRS[2 * rest + 1]!;
    target[--i] = DIGIT_PAIRS[2 * rest]!;
  } else {
    target[--i] = 0x30 + rest;
  }
  return end;
}

/** Writes a string of one-byte characters (ASCII text, a latin1 digest) at `offset`; returns the offset after it. */
export function writeAscii(target: Buffer, offset: number, text: string): number {
  for (let i = 0; i < text.length; i++) target[offset + i] = text.charCodeAt(i);
  return offset + text.length;
}

/**
 * Writes `text` as UTF-8 at `offset` and returns the offset after it: byte by
 * byte while it is ASCII (short fields: quicker than a call into Node), the
 * whole of it through Node's encoder otherwise. `target` must have room for 3
 * bytes per character.
 */
export function writeUtf8(target: Buffer, offset: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return offset + target.write(text, offset, 'utf8');
    target[offset + i] = c;
  }
  return offset + text.length;
}
