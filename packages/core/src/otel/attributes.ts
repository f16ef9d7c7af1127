import type { Attributes } from '@opentelemetry/api';
import { isKsError } from '../errors.js';
import { kalturaCodeOf } from '../issuer/credentials.js';
import { ATTRIBUTES } from './names.js';

/** Kaltura's codes are upper-case words (`INVALID_KS`); anything else its answer held is not a label. */
const KALTURA_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * What an error adds to a span or a measurement: `error.type` (a `KsError`'s stable code,
 * else the error's class name) and Kaltura's own code where there is one. Never a message:
 * a message may quote what Kaltura was sent or answered.
 */
export function errorAttributes(error: unknown, into: Attributes = {}): Attributes {
  if (isKsError(error)) {
    into[ATTRIBUTES.errorType] = error.code;
    const code = kalturaCodeOf(error);
    if (code !== undefined) into[ATTRIBUTES.apiErrorCode] = kalturaCode(code);
  } else {
    into[ATTRIBUTES.errorType] =
      error instanceof Error && /^\w{1,64}$/.test(error.name) ? error.name : '_OTHER';
  }
  return into;
}

/** Kaltura's code as a label: what Kaltura answered is input, and a label must stay low-cardinality. */
export function kalturaCode(code: string): string {
  return KALTURA_CODE.test(code) ? code : '_OTHER';
}
