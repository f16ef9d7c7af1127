import { KalturaApiError, KsError } from '../errors.js';
import { redact, redactRecord } from './redact.js';

/**
 * Whether repeating a failed attempt can help, and whether it is safe:
 * - `unsent`: the request cannot have been processed (connection refused, connect timeout,
 *   429): safe to repeat for any action;
 * - `maybe-sent`: it may have been processed (reset, timeout waiting for the answer, 5xx):
 *   repeated only for idempotent actions;
 * - `never`: repeating gives the same answer (API errors, 4xx, unreadable answers).
 */
export type RetryClass = 'unsent' | 'maybe-sent' | 'never';

export interface Failure {
  error: KsError;
  retry: RetryClass;
  /** HTTP status, when an answer arrived. */
  status?: number;
  /** From `Retry-After`, in ms. */
  retryAfterMs?: number;
}

export interface TimeoutNames {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
}

const UNSENT_CODES = new Set(['ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'EAI_AGAIN']);
const MAYBE_SENT_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/**
 * Maps an error thrown by undici (or a dispatcher) to a typed failure. Messages name the
 * error code and the option that bounded the wait, and for a failed connection the host
 * (`ENOTFOUND www.kaltura.co`: a mistyped service URL should say which host); never the
 * request or its path.
 */
export function transportFailure(
  cause: unknown,
  where: string,
  limits: TimeoutNames,
  host: string,
): Failure {
  const code = (cause as { code?: unknown } | null)?.code;
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return {
        error: new KsError(
          'ERR_KS_TIMEOUT',
          `${where}: no connection within connectTimeoutMs (${limits.connectTimeoutMs} ms)`,
          { cause },
        ),
        retry: 'unsent',
      };
    case 'UND_ERR_HEADERS_TIMEOUT':
      return {
        error: new KsError(
          'ERR_KS_TIMEOUT',
          `${where}: no response headers within headersTimeoutMs (${limits.headersTimeoutMs} ms)`,
          { cause },
        ),
        retry: 'maybe-sent',
      };
    case 'UND_ERR_BODY_TIMEOUT':
      return {
        error: new KsError(
          'ERR_KS_TIMEOUT',
          `${where}: response body stalled for bodyTimeoutMs (${limits.bodyTimeoutMs} ms)`,
          { cause },
        ),
        retry: 'maybe-sent',
      };
    case 'UND_ERR_CLOSED':
    case 'UND_ERR_DESTROYED':
      return {
        error: new KsError('ERR_KS_NETWORK', `${where}: the HTTP dispatcher is closed`, { cause }),
        retry: 'never',
      };
  }
  const name = typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code) ? code : 'unknown error';
  const retry: RetryClass =
    typeof code === 'string' && UNSENT_CODES.has(code)
      ? 'unsent'
      : typeof code === 'string' && MAYBE_SENT_CODES.has(code)
        ? 'maybe-sent'
        : 'never';
  return {
    error: new KsError('ERR_KS_NETWORK', `${where}: connection failed (${name} ${host})`, {
      cause,
    }),
    retry,
  };
}

/** True for Kaltura's error shape: `objectType: "KalturaAPIException"`, or `code` + `message`. */
export function isApiException(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const o = value as Record<string, unknown>;
  if (o.objectType === 'KalturaAPIException') return true;
  return o.objectType === undefined && typeof o.code === 'string' && typeof o.message === 'string';
}

/**
 * Builds the `KalturaApiError` for an error object, with every credential the request
 * carried (and anything KS-like) removed from the message and the arguments: Kaltura's
 * `INVALID_KS` echoes the whole KS in both.
 */
export function apiError(
  body: Record<string, unknown>,
  secrets: readonly string[],
  service: string,
  action: string,
  status: number | undefined,
): KalturaApiError {
  const args: Record<string, string> = {};
  const raw = body.args;
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    for (const [name, value] of Object.entries(raw)) {
      if (typeof value === 'string') args[name] = value;
      else if (typeof value === 'number' || typeof value === 'boolean') args[name] = String(value);
    }
  }
  const kalturaCode = typeof body.code === 'string' && body.code !== '' ? body.code : 'UNKNOWN';
  const message = typeof body.message === 'string' ? body.message : '';
  return new KalturaApiError({
    kalturaCode: redact(kalturaCode, secrets),
    kalturaMessage: redact(message, secrets),
    args: redactRecord(args, secrets),
    service,
    action,
    status,
  });
}

/** `Retry-After` in ms: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: unknown, nowMs: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (typeof text !== 'string' || text === '') return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
