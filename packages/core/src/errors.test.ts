import { describe, expect, it } from 'vitest';
import { brandErrorClass, isKsError, KalturaApiError, KS_ERROR_CODES, KsError } from './errors.js';

describe('KsError', () => {
  it('has a stable code, a name, a cause and a log-friendly JSON form', () => {
    const cause = new Error('inner');
    const error = new KsError('ERR_KS_EXPIRED', 'expired', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('KsError');
    expect(error.cause).toBe(cause);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'KsError',
      code: 'ERR_KS_EXPIRED',
      message: 'expired',
    });
    expect(isKsError(error)).toBe(true);
    expect(isKsError(error, 'ERR_KS_MALFORMED')).toBe(false);
    expect(isKsError(new Error('x'))).toBe(false);
    expect(KS_ERROR_CODES).toContain('ERR_KS_EXPIRED');
  });

  it('instanceof works across two installed copies of the package', () => {
    // A second copy defines its own classes with the same registered brands.
    class OtherKsError extends Error {
      readonly code = 'ERR_KS_MALFORMED';
    }
    brandErrorClass(OtherKsError, 'KsError');
    class OtherApiError extends OtherKsError {}
    brandErrorClass(OtherApiError, 'KalturaApiError');
    expect(new OtherKsError('x')).toBeInstanceOf(KsError);
    expect(new OtherApiError('x')).toBeInstanceOf(KalturaApiError);
    expect(new OtherKsError('x')).not.toBeInstanceOf(KalturaApiError);
    expect(new KsError('ERR_KS_API', 'x')).not.toBeInstanceOf(KalturaApiError);
    expect({}).not.toBeInstanceOf(KsError);
  });
});

describe('KalturaApiError', () => {
  it("carries Kaltura's code, message, args, service and action; its code is ERR_KS_API", () => {
    const error = new KalturaApiError({
      kalturaCode: 'APP_TOKEN_NOT_ACTIVE',
      kalturaMessage: 'Application token id "0_ab" not active',
      args: { ID: '0_ab' },
      service: 'appToken',
      action: 'startSession',
      status: 200,
    });
    expect(error).toBeInstanceOf(KsError);
    expect(error.code).toBe('ERR_KS_API');
    expect(error.kalturaCode).toBe('APP_TOKEN_NOT_ACTIVE');
    expect(error.args).toEqual({ ID: '0_ab' });
    expect(Object.isFrozen(error.args)).toBe(true);
    expect(error.message).toBe(
      'appToken.startSession: Application token id "0_ab" not active [APP_TOKEN_NOT_ACTIVE]',
    );
    expect(error.name).toBe('KalturaApiError');
    expect(error.toJSON()).toMatchObject({
      code: 'ERR_KS_API',
      kalturaCode: 'APP_TOKEN_NOT_ACTIVE',
    });
  });
});
