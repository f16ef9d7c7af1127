import { KalturaApiError, KsError } from '../errors.js';
import { KsType } from '../ks/types.js';

/**
 * What a failed mint says about the next one:
 * - `credentials`: Kaltura refused the issuer's credentials (the app token is gone,
 *   disabled or expired, its hash type is wrong, a secret was refused): every mint will
 *   fail until someone changes them, for every user;
 * - `outage`: Kaltura could not be reached or failed (network, timeouts, 5xx, unreadable
 *   answers, its internal error): every user's mint is likely to fail for a while;
 * - `request`: this request was refused (a field Kaltura will not take, a KS that does not
 *   grant what was asked): other requests may well work.
 */
export type FailureKind = 'credentials' | 'outage' | 'request';

/** Kaltura's answers meaning the issuer's credentials are refused, with what to check. */
const CREDENTIAL_CODES: Readonly<Record<string, string>> = {
  APP_TOKEN_ID_NOT_FOUND:
    'the app token does not exist (deleted, or another partner’s): create one and update appToken.id and appToken.token',
  APP_TOKEN_NOT_ACTIVE:
    'the app token was deleted or disabled: create a new one and update appToken.id and appToken.token',
  APP_TOKEN_EXPIRED: 'the app token’s expiry has passed: create a new one',
  INVALID_APP_TOKEN_HASH:
    'the token value or appToken.hashType is wrong: hashType must be the one the token was created with (SHA1 unless another was chosen)',
  START_SESSION_ERROR: 'session.start refused the secret, or the partner is not active',
  INVALID_KS:
    "Kaltura refused the issuer's own session (the widget session of the app-token flow), even a new one",
  INVALID_WIDGET_ID: "the partner's widget is unknown (the client's widgetId option)",
  START_WIDGET_SESSION_ERROR: "Kaltura could not start the app-token flow's widget session",
  SERVICE_FORBIDDEN: "the partner's permissions do not allow this way of minting",
  INVALID_PARTNER_ID: 'the partner id is unknown or not active',
  PARTNER_NOT_FOUND: 'the partner id is unknown',
};

/** Kaltura's answers that mean Kaltura itself is in trouble, not the request. */
const OUTAGE_CODES = new Set(['INTERNAL_SERVERL_ERROR', 'SERVICE_UNAVAILABLE']);

const OUTAGE_ERRORS = new Set([
  'ERR_KS_NETWORK',
  'ERR_KS_TIMEOUT',
  'ERR_KS_HTTP',
  'ERR_KS_RESPONSE',
  'ERR_KS_UNAVAILABLE',
]);

/**
 * `type` is the session type the failed mint asked for: `session.start` refuses an ADMIN
 * session to the user secret with the same `START_SESSION_ERROR` as a wrong secret, so for
 * an ADMIN request that answer is the request's, not the credentials'.
 */
export function failureKind(error: KsError, type: KsType): FailureKind {
  if (error.code === 'ERR_KS_CREDENTIALS') return 'credentials';
  if (error instanceof KalturaApiError) {
    if (error.kalturaCode === 'START_SESSION_ERROR' && type !== KsType.USER) return 'request';
    if (Object.hasOwn(CREDENTIAL_CODES, error.kalturaCode)) return 'credentials';
    return OUTAGE_CODES.has(error.kalturaCode) ? 'outage' : 'request';
  }
  return OUTAGE_ERRORS.has(error.code) ? 'outage' : 'request';
}

/** Kaltura's own code for an error, where it has one. */
export function kalturaCodeOf(error: KsError): string | undefined {
  if (error instanceof KalturaApiError) return error.kalturaCode;
  return error.cause instanceof KalturaApiError ? error.cause.kalturaCode : undefined;
}

/**
 * `ERR_KS_CREDENTIALS` for a refusal of the issuer's credentials: Kaltura's code and
 * message (already cleared of every credential the request carried) and what to check.
 */
export function credentialsError(cause: KsError): KsError {
  if (cause.code === 'ERR_KS_CREDENTIALS') return cause;
  const code = kalturaCodeOf(cause);
  const hint = code === undefined ? undefined : CREDENTIAL_CODES[code];
  const said =
    cause instanceof KalturaApiError ? `${cause.kalturaMessage} [${code}]` : cause.message;
  return new KsError(
    'ERR_KS_CREDENTIALS',
    `Kaltura refused the issuer's credentials (${said})${hint ? `: ${hint}` : ''}`,
    { cause },
  );
}
