/**
 * Every error kaltura-ks throws is a `KsError` with a stable `code`.
 * Codes are for programs (switch on them); messages are for people and never
 * contain a secret, a token value, a password or a whole KS.
 */
export type KsErrorCode =
  /** The string is not a KS that Kaltura's parser would accept. */
  | 'ERR_KS_MALFORMED'
  /** The KS's signature (v1) or encryption (v2) does not match any of the secrets. */
  | 'ERR_KS_SIGNATURE'
  /** The KS is past its `validUntil` (Kaltura allows no grace period). */
  | 'ERR_KS_EXPIRED'
  /** The KS belongs to another partner than the one expected. */
  | 'ERR_KS_PARTNER_MISMATCH'
  /** A field (user id, privilege, additional data…) could change the KS's meaning. */
  | 'ERR_KS_INVALID_FIELD'
  /** An option passed to a kaltura-ks function or factory is missing or invalid. */
  | 'ERR_KS_INVALID_OPTION'
  /** Kaltura answered with an API error (`KalturaAPIException`); see `KalturaApiError`. */
  | 'ERR_KS_API'
  /** Kaltura (or the KS route) answered with an unexpected HTTP status. */
  | 'ERR_KS_HTTP'
  /** The connection failed or was reset before an answer arrived. */
  | 'ERR_KS_NETWORK'
  /** A named time limit elapsed (connect, headers, body, or the total deadline). */
  | 'ERR_KS_TIMEOUT'
  /** An answer arrived but could not be understood (not JSON, wrong shape). */
  | 'ERR_KS_RESPONSE'
  /** The operation was aborted by the caller's `AbortSignal`. */
  | 'ERR_KS_ABORTED'
  /** The request has no signed-in user, so no KS is issued (HTTP 401). */
  | 'ERR_KS_NO_USER'
  /** The request asked for something the configuration does not allow (HTTP 403). */
  | 'ERR_KS_FORBIDDEN'
  /** No valid KS can be had right now, e.g. Kaltura is down and nothing is cached (HTTP 503). */
  | 'ERR_KS_UNAVAILABLE'
  /**
   * Kaltura refuses the issuer's credentials (the app token is deleted, disabled or
   * expired, its hash type is wrong, a secret is refused): no KS until they change (HTTP 503).
   */
  | 'ERR_KS_CREDENTIALS'
  /**
   * Kaltura issued something else than was asked (another user, a higher type, an
   * anonymous widget session, privileges left out): the KS is not used (HTTP 503).
   */
  | 'ERR_KS_NOT_GRANTED';

/** Every code, in documentation order. */
export const KS_ERROR_CODES = [
  'ERR_KS_MALFORMED',
  'ERR_KS_SIGNATURE',
  'ERR_KS_EXPIRED',
  'ERR_KS_PARTNER_MISMATCH',
  'ERR_KS_INVALID_FIELD',
  'ERR_KS_INVALID_OPTION',
  'ERR_KS_API',
  'ERR_KS_HTTP',
  'ERR_KS_NETWORK',
  'ERR_KS_TIMEOUT',
  'ERR_KS_RESPONSE',
  'ERR_KS_ABORTED',
  'ERR_KS_NO_USER',
  'ERR_KS_FORBIDDEN',
  'ERR_KS_UNAVAILABLE',
  'ERR_KS_CREDENTIALS',
  'ERR_KS_NOT_GRANTED',
] as const satisfies readonly KsErrorCode[];

const kBrand = Symbol.for('@kaltura-ks/core.brand');

type Branded = { [kBrand]?: symbol };

/**
 * Makes `instanceof` work across two installed copies of the package (as undici
 * does): each class is identified by a registered symbol, not by its identity.
 * Internal: not exported from the package's entry.
 */
export function brandErrorClass(cls: abstract new (...args: never[]) => Error, name: string): void {
  const symbol = Symbol.for(`@kaltura-ks/core.${name}`);
  Object.defineProperty(cls, kBrand, { value: symbol });
  Object.defineProperty(cls.prototype, symbol, { value: true });
}

export interface KsErrorOptions {
  cause?: unknown;
}

export class KsError extends Error {
  readonly code: KsErrorCode;

  constructor(code: KsErrorCode, message: string, options?: KsErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  override get name(): string {
    return this.constructor.name;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    // `this` is the class `instanceof` was asked about: each subclass has its own brand.
    // biome-ignore lint/complexity/noThisInStatic: deliberate, see above
    const symbol = (this as Branded)[kBrand];
    return (
      symbol !== undefined &&
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[symbol] === true
    );
  }

  /** A log-friendly shape: name, code and message, nothing else. */
  toJSON(): { name: string; code: KsErrorCode; message: string } {
    return { name: this.name, code: this.code, message: this.message };
  }
}
brandErrorClass(KsError, 'KsError');

/** True for any `KsError`, optionally with one of the given codes. */
export function isKsError(value: unknown, ...codes: KsErrorCode[]): value is KsError {
  return value instanceof KsError && (codes.length === 0 || codes.includes(value.code));
}

export interface KalturaApiErrorInit {
  /** Kaltura's own error code, e.g. `INVALID_KS`, `APP_TOKEN_ID_NOT_FOUND`. */
  kalturaCode: string;
  /** Kaltura's message, with any KS or secret already removed. */
  kalturaMessage: string;
  /** Kaltura's error arguments (name → value), with any KS or secret already removed. */
  args?: Readonly<Record<string, string>>;
  service?: string;
  action?: string;
  /** The HTTP status of the answer (Kaltura sends API errors with 200). */
  status?: number;
  cause?: unknown;
}

/**
 * Kaltura answered with an API error (`objectType: "KalturaAPIException"`).
 * `code` is always `ERR_KS_API`; Kaltura's own code is `kalturaCode`.
 */
export class KalturaApiError extends KsError {
  readonly kalturaCode: string;
  readonly kalturaMessage: string;
  readonly args: Readonly<Record<string, string>>;
  readonly service: string | undefined;
  readonly action: string | undefined;
  readonly status: number | undefined;

  constructor(init: KalturaApiErrorInit) {
    const where = init.service && init.action ? `${init.service}.${init.action}: ` : '';
    super('ERR_KS_API', `${where}${init.kalturaMessage} [${init.kalturaCode}]`, {
      cause: init.cause,
    });
    this.kalturaCode = init.kalturaCode;
    this.kalturaMessage = init.kalturaMessage;
    this.args = Object.freeze({ ...init.args });
    this.service = init.service;
    this.action = init.action;
    this.status = init.status;
  }

  override toJSON(): { name: string; code: KsErrorCode; message: string; kalturaCode: string } {
    return { ...super.toJSON(), kalturaCode: this.kalturaCode };
  }
}
brandErrorClass(KalturaApiError, 'KalturaApiError');
