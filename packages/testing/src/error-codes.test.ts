import type { KsClientErrorCode } from '@kaltura-ks/browser';
import * as core from '@kaltura-ks/core';
import { KS_ERROR_CODES, type KsErrorCode } from '@kaltura-ks/core';
import { describe, expect, expectTypeOf, it } from 'vitest';

// Type tests: `pnpm typecheck` fails when a list drifts from its type.
describe('error codes', () => {
  it("the browser's codes stay within core's", () => {
    expectTypeOf<KsClientErrorCode>().toExtend<KsErrorCode>();
    const browser: Record<KsClientErrorCode, true> = {
      ERR_KS_HTTP: true,
      ERR_KS_NETWORK: true,
      ERR_KS_TIMEOUT: true,
      ERR_KS_RESPONSE: true,
      ERR_KS_NO_USER: true,
      ERR_KS_UNAVAILABLE: true,
      ERR_KS_FORBIDDEN: true,
      ERR_KS_EXPIRED: true,
      ERR_KS_ABORTED: true,
      ERR_KS_INVALID_OPTION: true,
    };
    expect(KS_ERROR_CODES).toEqual(expect.arrayContaining(Object.keys(browser)));
  });

  it('KS_ERROR_CODES lists every code of KsErrorCode, and nothing else', () => {
    expectTypeOf<(typeof KS_ERROR_CODES)[number]>().toEqualTypeOf<KsErrorCode>();
    expect(new Set(KS_ERROR_CODES).size).toBe(KS_ERROR_CODES.length);
  });

  it('brandErrorClass is internal: not exported from the package', () => {
    expect('brandErrorClass' in core).toBe(false);
  });
});
