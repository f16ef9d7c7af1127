import { KsError } from '../errors.js';
import { MAX_KS_LENGTH } from '../ks/verify.js';
import { headerOf } from './headers.js';
import type { HasHeaders } from './types.js';

/**
 * The request header in which a page reports a KS that Kaltura refused
 * (`@kaltura-ks/browser`'s `reportRejected`): a header, so the KS never goes into a URL
 * (and, being a custom header, it cannot be sent by another site without a CORS preflight).
 */
export const REJECTED_KS_HEADER = 'x-kaltura-rejected-ks';

/** A KS as it may be written: base64, in either alphabet. */
const KS_CHARACTERS = /^[A-Za-z0-9+/_=-]+$/;

/**
 * The KS a route request reports as refused, if any, for `GetKsOptions.rejectedKs`. A header
 * that cannot hold one KS is refused (`ERR_KS_INVALID_FIELD`, 400) without repeating it.
 */
export function rejectedKsOf(request: HasHeaders): string | undefined {
  const value = headerOf(request, REJECTED_KS_HEADER);
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > MAX_KS_LENGTH || !KS_CHARACTERS.test(value)) {
    throw new KsError('ERR_KS_INVALID_FIELD', 'The X-Kaltura-Rejected-Ks header must hold one KS');
  }
  return value;
}
