/**
 * The codes a `KsClientError` can carry: the same strings as `@kaltura-ks/core`'s
 * `KsErrorCode`, restricted to what can happen in the page.
 */
export type KsClientErrorCode =
  /** The KS route answered with an unexpected HTTP status (`status` says which). */
  | 'ERR_KS_HTTP'
  /** The request failed before an answer arrived (offline, DNS, CORS, reset). */
  | 'ERR_KS_NETWORK'
  /** No answer within `requestTimeoutMs`. */
  | 'ERR_KS_TIMEOUT'
  /** An answer arrived but was not JSON of the documented shape. */
  | 'ERR_KS_RESPONSE'
  /** HTTP 401: nobody is signed in. The client dropped its KS in every tab. */
  | 'ERR_KS_NO_USER'
  /** HTTP 503: no KS can be had right now (`retryAfterMs` when the server said). */
  | 'ERR_KS_UNAVAILABLE'
  /** HTTP 403: the server refuses a KS to this user. */
  | 'ERR_KS_FORBIDDEN'
  /** The KS reached its expiry and no replacement could be had. */
  | 'ERR_KS_EXPIRED'
  /** The operation was cut short by `stop()` or `clear()`. */
  | 'ERR_KS_ABORTED'
  /** An option passed to `createKsClient` is invalid (the message names it). */
  | 'ERR_KS_INVALID_OPTION';

/**
 * Every error the browser client reports or rejects with. `code` is stable; the
 * message is for people and never contains a KS.
 */
export class KsClientError extends Error {
  override readonly name = 'KsClientError';
  declare readonly code: KsClientErrorCode;
  /** The HTTP status, for the codes that come from one. */
  declare readonly status?: number;
  /** Set from `Retry-After` on a 503, in milliseconds. */
  declare retryAfterMs?: number;

  constructor(code: KsClientErrorCode, message: string, status?: number, cause?: unknown) {
    super(message, { cause });
    this.code = code;
    this.status = status;
  }

  // `instanceof` works across two installed copies of the package: it goes by the name.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return (value as Error | null)?.name === 'KsClientError';
  }
}

/**
 * The message is the code and a detail (the HTTP status, the option's name): never a KS,
 * never the server's own text.
 */
export const fail = (
  code: KsClientErrorCode,
  detail: unknown = '',
  status?: number,
  cause?: unknown,
) => new KsClientError(code, `kaltura-ks: ${code} ${detail}`, status, cause);
