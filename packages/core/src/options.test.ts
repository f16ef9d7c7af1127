import { describe, expect, it } from 'vitest';
import { checkFraction, checkFunction, checkMs, invalidOption } from './options.js';

const code = { code: 'ERR_KS_INVALID_OPTION' };

describe('option checks', () => {
  it('invalidOption is a KsError ERR_KS_INVALID_OPTION with the message given', () => {
    expect(invalidOption('x must be y')).toMatchObject({ ...code, message: 'x must be y' });
  });

  it('checkMs takes a finite positive number (0 with allowZero), naming the option otherwise', () => {
    expect(checkMs(1, 'a')).toBe(1);
    expect(checkMs(0, 'a', { allowZero: true })).toBe(0);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '5', undefined])
      expect(() => checkMs(bad, 'timeoutMs')).toThrow(
        expect.objectContaining({
          ...code,
          message: 'timeoutMs must be a positive number of milliseconds',
        }),
      );
    expect(() => checkMs(-1, 'graceMs', { allowZero: true })).toThrow(
      'graceMs must be a non-negative number of milliseconds',
    );
  });

  it('checkFraction takes a number strictly between 0 and 1', () => {
    expect(checkFraction(0.8, 'f')).toBe(0.8);
    for (const bad of [0, 1, -0.1, 1.5, Number.NaN, '0.5'])
      expect(() => checkFraction(bad, 'refreshAtFraction')).toThrow(
        expect.objectContaining({ ...code, message: 'refreshAtFraction must be between 0 and 1' }),
      );
  });

  it('checkFunction takes a function', () => {
    const f = () => 1;
    expect(checkFunction(f, 'now')).toBe(f);
    expect(() => checkFunction(1, 'now')).toThrow(
      expect.objectContaining({ ...code, message: 'now must be a function' }),
    );
  });
});
