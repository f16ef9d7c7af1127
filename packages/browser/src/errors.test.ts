import { describe, expect, it } from 'vitest';
import { KsClientError } from './errors.js';

describe('KsClientError', () => {
  it('carries a stable code, the HTTP status and the cause', () => {
    const cause = new TypeError('Failed to fetch');
    const error = new KsClientError('ERR_KS_UNAVAILABLE', 'kaltura-ks: KS unavailable', 503, cause);
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(KsClientError);
    expect(error).toMatchObject({ name: 'KsClientError', code: 'ERR_KS_UNAVAILABLE', status: 503 });
    expect(error.cause).toBe(cause);
    expect(String(error)).toBe('KsClientError: kaltura-ks: KS unavailable');
  });

  it('is recognised across two installed copies of the package', () => {
    // What a second copy's class would produce: same name, another prototype.
    const foreign = Object.create(Error.prototype, {
      name: { value: 'KsClientError' },
      code: { value: 'ERR_KS_NETWORK' },
    });
    expect(foreign).toBeInstanceOf(KsClientError);
    expect(new Error('x')).not.toBeInstanceOf(KsClientError);
    expect(new TypeError('x')).not.toBeInstanceOf(KsClientError);
    expect(null).not.toBeInstanceOf(KsClientError);
    expect('ERR_KS_NETWORK').not.toBeInstanceOf(KsClientError);
  });
});
