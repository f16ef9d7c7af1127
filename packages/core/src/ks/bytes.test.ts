import { describe, expect, it } from 'vitest';
import { MAX_NUMBER_TEXT, writeAscii, writeInteger, writeUtf8 } from './bytes.js';

/** Writes at offset 3 of a buffer filled with "#": what was written, and the offset returned. */
function written(write: (target: Buffer, offset: number) => number): {
  text: string;
  end: number;
  untouched: boolean;
} {
  const target = Buffer.alloc(128, '#');
  const end = write(target, 3);
  const before = target.toString('latin1', 0, 3);
  const after = target.toString('latin1', end);
  return {
    text: target.toString('utf8', 3, end),
    end,
    untouched: before === '###' && /^#*$/.test(after),
  };
}

describe('writeInteger', () => {
  const powers = Array.from({ length: 10 }, (_, i) => 10 ** i);
  it.each([
    0,
    ...powers,
    ...powers.map((p) => p - 1),
    ...powers.map((p) => p + 1),
    12_345,
    1_800_000_000,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 32 - 1,
  ])('writes %d as String() does, digit by digit', (value) => {
    const result = written((target, offset) => writeInteger(target, offset, value));
    expect(result.text).toBe(String(value));
    expect(result.end).toBe(3 + String(value).length);
    expect(result.untouched).toBe(true);
  });

  it.each([
    2 ** 32,
    2 ** 32 + 1,
    10_000_000_000,
    Number.MAX_SAFE_INTEGER,
    -1,
    -2_147_483_648,
    Number.MIN_SAFE_INTEGER,
    -0,
    0.5,
    1e21,
    -1.2345678901234567e308,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
  ])('writes %d, outside the unsigned 32-bit integers, as String() does', (value) => {
    const result = written((target, offset) => writeInteger(target, offset, value));
    expect(result.text).toBe(String(value));
    expect(result.end).toBe(3 + String(value).length);
    expect(result.untouched).toBe(true);
  });

  it('never needs more than MAX_NUMBER_TEXT bytes', () => {
    for (const value of [
      -1.2345678901234567e308,
      -2.2250738585072014e-308,
      Number.MIN_SAFE_INTEGER,
    ])
      expect(String(value).length).toBeLessThanOrEqual(MAX_NUMBER_TEXT);
  });
});

describe('writeAscii', () => {
  it('writes each character as one byte at the offset', () => {
    const result = written((target, offset) => writeAscii(target, offset, '&_e=|~'));
    expect(result).toEqual({ text: '&_e=|~', end: 9, untouched: true });
    expect(written((target, offset) => writeAscii(target, offset, ''))).toEqual({
      text: '',
      end: 3,
      untouched: true,
    });
  });
});

describe('writeUtf8', () => {
  it.each([
    ['ASCII', 'alice@example.com'],
    ['the empty string', ''],
    ['a character past ASCII at the start', 'é-alice'],
    ['one in the middle, after ASCII was written', 'alice-é-bob'],
    ['one at the end', 'alice€'],
    ['DEL, the last ASCII character', 'a\u007fb'],
    ['U+0080, the first past it', 'a\u0080b'],
    ['a surrogate pair', 'x😀y'],
    ['nothing but characters past ASCII', 'é€😀'],
  ])('writes %s as UTF-8', (_, text) => {
    const result = written((target, offset) => writeUtf8(target, offset, text));
    expect(result.text).toBe(text);
    expect(result.end).toBe(3 + Buffer.byteLength(text));
    expect(result.untouched).toBe(true);
  });
});
