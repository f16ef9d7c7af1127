import { describe, expect, it } from 'vitest';
import { hasUnsafeText } from './text.js';

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
