import { describe, expect, it } from 'vitest';
import { KsError } from '../errors.js';
import {
  checkAdditionalData,
  checkPartnerId,
  checkPositiveInteger,
  checkSecret,
  checkType,
  checkUserId,
  MAX_ADDITIONAL_DATA_LENGTH,
  MAX_USER_ID_LENGTH,
} from './fields.js';

/** The code and the reason of a refusal. */
function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof KsError) return { code: error.code, message: error.message };
    return { code: 'not a KsError', message: String(error) };
  }
  return { code: 'no error', message: '' };
}

const field = (message: string) => ({ code: 'ERR_KS_INVALID_FIELD', message });
const option = (message: string) => ({ code: 'ERR_KS_INVALID_OPTION', message });

describe('checkUserId', () => {
  it(`accepts up to ${MAX_USER_ID_LENGTH} characters and refuses one more`, () => {
    expect(checkUserId('x'.repeat(100))).toBe('x'.repeat(100));
    expect(refusal(() => checkUserId('x'.repeat(101)))).toEqual(
      field('userId is longer than 100 characters'),
    );
  });

  it('refuses ";", control characters and broken Unicode', () => {
    for (const userId of ['a;b', ';', 'a\u0000', '\u007f', 'a\ud800']) {
      expect(refusal(() => checkUserId(userId))).toEqual(
        field('userId contains ";", a control character or broken Unicode'),
      );
    }
  });

  it('refuses the "*" wildcard only: other ids with "*" are ordinary', () => {
    expect(refusal(() => checkUserId('*'))).toEqual(
      field('userId "*" is a wildcard that matches every user'),
    );
    for (const userId of ['**', '*a', 'a*', '', '0']) expect(checkUserId(userId)).toBe(userId);
  });

  it('refuses anything but a string', () => {
    for (const userId of [undefined, null, 42, ['a']]) {
      expect(refusal(() => checkUserId(userId))).toEqual(field('userId must be a string'));
    }
  });
});

describe('checkAdditionalData', () => {
  it(`accepts up to ${MAX_ADDITIONAL_DATA_LENGTH} characters and refuses one more`, () => {
    expect(checkAdditionalData('x'.repeat(1024))).toHaveLength(1024);
    expect(refusal(() => checkAdditionalData('x'.repeat(1025)))).toEqual(
      field('additionalData is longer than 1024 characters'),
    );
  });

  it('refuses ";", control characters, broken Unicode and non-strings', () => {
    for (const value of ['a;b', 'a\n', '\udfff']) {
      expect(refusal(() => checkAdditionalData(value))).toEqual(
        field('additionalData contains ";", a control character or broken Unicode'),
      );
    }
    expect(refusal(() => checkAdditionalData(7))).toEqual(field('additionalData must be a string'));
    expect(checkAdditionalData('')).toBe('');
  });
});

describe('checkPartnerId', () => {
  it('accepts any safe integer, negative ones included (Kaltura has partner -1)', () => {
    for (const id of [0, -1, 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
      expect(checkPartnerId(id)).toBe(id);
    }
  });

  it('refuses anything else, naming the option', () => {
    for (const id of [1.5, Number.NaN, Infinity, 2 ** 53, '5', null, undefined]) {
      expect(refusal(() => checkPartnerId(id))).toEqual(option('partnerId must be an integer'));
    }
    expect(refusal(() => checkPartnerId('x', 'masterPartnerId'))).toEqual(
      option('masterPartnerId must be an integer'),
    );
  });
});

describe('checkType', () => {
  it('accepts USER (0) and ADMIN (2) only', () => {
    expect(checkType(0)).toBe(0);
    expect(checkType(2)).toBe(2);
    for (const type of [1, 3, -1, '0', '2', null]) {
      expect(refusal(() => checkType(type))).toEqual(
        option('type must be KsType.USER (0) or KsType.ADMIN (2)'),
      );
    }
  });
});

describe('checkSecret', () => {
  it('accepts a non-empty string and refuses anything else, naming the option', () => {
    expect(checkSecret('s')).toBe('s');
    for (const secret of ['', undefined, 42]) {
      expect(refusal(() => checkSecret(secret))).toEqual(
        option('secret must be a non-empty string'),
      );
    }
    expect(refusal(() => checkSecret('', 'adminSecret'))).toEqual(
      option('adminSecret must be a non-empty string'),
    );
  });
});

describe('checkPositiveInteger', () => {
  it('accepts 1 and up, and refuses 0, negatives, fractions, unsafe and non-numbers', () => {
    expect(checkPositiveInteger(1, 'x')).toBe(1);
    expect(checkPositiveInteger(Number.MAX_SAFE_INTEGER, 'x')).toBe(Number.MAX_SAFE_INTEGER);
    for (const value of [0, -1, 0.5, 2 ** 53, '5', Number.NaN]) {
      expect(refusal(() => checkPositiveInteger(value, 'expiresInSeconds'))).toEqual(
        option('expiresInSeconds must be a positive integer'),
      );
    }
  });
});
