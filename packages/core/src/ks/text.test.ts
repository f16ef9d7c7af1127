import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasSemicolonOrUnsafeText, hasUnsafeText } from './text.js';

describe('hasUnsafeText', () => {
  it.each([
    ['NUL', '\u0000'],
    ['the last C0 control', '\u001f'],
    ['DEL', '\u007f'],
    ['the first C1 control', '\u0080'],
    ['the last C1 control', '\u009f'],
    ['a lone high surrogate', '\ud800'],
    ['the last high surrogate, alone', '\udbff'],
    ['a lone low surrogate', '\udc00'],
    ['the last low surrogate, alone', '\udfff'],
    ['a low surrogate before a high one', '\udc00\ud800'],
    ['a high surrogate followed by a letter', '\ud800a'],
  ])('finds %s', (_, unsafe) => {
    expect(hasUnsafeText(unsafe)).toBe(true);
    expect(hasUnsafeText(`ok ${unsafe} ok`)).toBe(true);
  });

  it.each([
    ['printable ASCII', ' !~azAZ09'],
    ['the first character after the C1 controls', '\u00a0'],
    ['the character before the surrogates', '\ud7ff'],
    ['the character after the surrogates', '\ue000'],
    ['a surrogate pair (an emoji)', '😀'],
    ['the first and the last surrogate pair', '\ud800\udc00\udbff\udfff'],
    ['the empty string', ''],
  ])('accepts %s', (_, safe) => {
    expect(hasUnsafeText(safe)).toBe(false);
  });
});

describe('hasSemicolonOrUnsafeText (the one-pass check of a KS field)', () => {
  it('agrees with includes(";") || hasUnsafeText, for any text', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.string({
        unit: fc.constantFrom(...'ab;\u0000\u001f\u007f\u009f\u00e9\ud800\udc00 '.split('')),
      }),
    );
    // A predicate, not an expect() per case (fast-check names the counterexample all the same):
    // the 5,000 cases took 15 s on Node 20 and 25 s on Node 22 at a load of 16 on two cores with
    // one, 9 s without. A hang still fails here, not at the default 20 s (ks.property.test.ts).
    fc.assert(
      fc.property(
        text,
        (value) =>
          hasSemicolonOrUnsafeText(value) === (value.includes(';') || hasUnsafeText(value)),
      ),
      { numRuns: 5_000 },
    );
  }, 120_000);

  it.each([
    ['alice@example.com', false],
    ['a;b', true],
    ['a\tb', true],
    ['a\u007fb', true],
    ['Zoë;', true],
    ['Zoë', false],
    ['\ud800', true],
    ['', false],
  ])('%j: %s', (value, unsafe) => {
    expect(hasSemicolonOrUnsafeText(value)).toBe(unsafe);
  });
});
