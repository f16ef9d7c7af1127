import type { KsSession } from '@kaltura-ks/core/issuer';

/** Only what is needed to serve the KS: the `KsSession` fields, nothing else. */
export function encodeSession(session: KsSession): string {
  const { ks, partnerId, userId, type, privileges, expiresAt, issuedAt } = session;
  return JSON.stringify({ ks, partnerId, userId, type, privileges, expiresAt, issuedAt });
}

function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

/** A value read back from Redis; anything malformed is a miss, never a crash. */
export function decodeSession(raw: unknown): KsSession | undefined {
  const text = typeof raw === 'string' ? raw : Buffer.isBuffer(raw) ? raw.toString('utf8') : null;
  if (text === null) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { ks, partnerId, userId, type, privileges, expiresAt, issuedAt } = value as Record<
    string,
    unknown
  >;
  if (
    typeof ks !== 'string' ||
    ks === '' ||
    !isInteger(partnerId) ||
    typeof userId !== 'string' ||
    !isInteger(type) ||
    typeof privileges !== 'string' ||
    !isTime(expiresAt) ||
    !isTime(issuedAt)
  ) {
    return undefined;
  }
  return { ks, partnerId, userId, type, privileges, expiresAt, issuedAt };
}
