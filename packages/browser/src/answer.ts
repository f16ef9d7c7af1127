// What the client believes of the KS route's answer: its shape, and the error for its status.
import type { KsSession } from './client.js';
import { fail } from './errors.js';

/** The fields of an answer the client relies on, checked before it is believed. */
export const isSession = (b: KsSession | undefined): b is KsSession =>
  typeof b?.ks === 'string' &&
  b.ks !== '' &&
  typeof b.userId === 'string' &&
  typeof b.privileges === 'string' &&
  [0, 2].includes(b.type) &&
  Number.isFinite(b.partnerId) &&
  Number.isFinite(b.serverTime) &&
  Number.isFinite(b.expiresAt) &&
  b.expiresAt > b.serverTime;

/**
 * The error for an answer that is not OK: its status says which, `Retry-After` (on a 503)
 * when the server said.
 */
export const httpError = ({ status, headers }: Response) => {
  const e = fail(
    status === 401
      ? 'ERR_KS_NO_USER'
      : status === 403
        ? 'ERR_KS_FORBIDDEN'
        : status === 503
          ? 'ERR_KS_UNAVAILABLE'
          : 'ERR_KS_HTTP',
    status,
    status,
  );
  const after = Number(headers.get('retry-after'));
  if (after > 0) e.retryAfterMs = after * 1000;
  return e;
};
