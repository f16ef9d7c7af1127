import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KsError } from '../errors.js';
import { SPEC_APP_TOKEN, SPEC_WIDGET_KS } from '../test-utils/vectors.js';
import { appTokenHash, toAppTokenHashType } from './hash.js';

describe('appTokenHash (§9.7)', () => {
  it('reproduces the spec vectors', () => {
    expect(appTokenHash(SPEC_WIDGET_KS, SPEC_APP_TOKEN.value)).toBe(SPEC_APP_TOKEN.sha1);
    expect(appTokenHash(SPEC_WIDGET_KS, SPEC_APP_TOKEN.value, 'SHA1')).toBe(SPEC_APP_TOKEN.sha1);
    expect(appTokenHash(SPEC_WIDGET_KS, SPEC_APP_TOKEN.value, 'SHA256')).toBe(
      SPEC_APP_TOKEN.sha256,
    );
  });

  it.each(['MD5', 'SHA512', 'md5', 'sha512'] as const)(
    '%s is lower-case hex of H(ks ‖ token)',
    (type) => {
      const expected = createHash(type.toLowerCase())
        .update(SPEC_WIDGET_KS + SPEC_APP_TOKEN.value)
        .digest('hex');
      expect(appTokenHash(SPEC_WIDGET_KS, SPEC_APP_TOKEN.value, type)).toBe(expected);
    },
  );

  it('refuses unknown hash types and missing inputs without echoing the token', () => {
    for (const call of [
      () => appTokenHash(SPEC_WIDGET_KS, SPEC_APP_TOKEN.value, 'SHA3' as never),
      () => appTokenHash('', SPEC_APP_TOKEN.value),
      () => appTokenHash(SPEC_WIDGET_KS, ''),
      () => toAppTokenHashType('__proto__'),
    ]) {
      expect(call).toThrow(KsError);
      try {
        call();
      } catch (error) {
        expect((error as KsError).code).toBe('ERR_KS_INVALID_OPTION');
        expect((error as KsError).message).not.toContain(SPEC_APP_TOKEN.value);
      }
    }
  });
});

describe('app token hash types and inputs', () => {
  it('reads the hash type in any case and answers in Kaltura spelling', () => {
    expect(toAppTokenHashType('sha256')).toBe('SHA256');
    expect(toAppTokenHashType('Md5')).toBe('MD5');
    expect(appTokenHash(SPEC_WIDGET_KS, SPEC_APP_TOKEN.value, 'sha1')).toBe(SPEC_APP_TOKEN.sha1);
  });

  it('refuses names that are not hash types, inherited ones included', () => {
    for (const name of [
      '',
      'SHA3',
      'sha-256',
      'toString',
      'constructor',
      'hasOwnProperty',
      42,
      null,
    ]) {
      expect(() => toAppTokenHashType(name)).toThrow(
        expect.objectContaining({
          code: 'ERR_KS_INVALID_OPTION',
          message: 'hashType must be one of MD5, SHA1, SHA256, SHA512',
        }),
      );
    }
  });

  it('names the missing input', () => {
    for (const ks of ['', 42, undefined]) {
      expect(() => appTokenHash(ks as never, SPEC_APP_TOKEN.value)).toThrow(
        expect.objectContaining({ message: 'appTokenHash needs the widget KS' }),
      );
    }
    for (const token of ['', 42, undefined]) {
      expect(() => appTokenHash(SPEC_WIDGET_KS, token as never)).toThrow(
        expect.objectContaining({ message: 'appTokenHash needs the app token value' }),
      );
    }
  });
});
