import { createKs } from '@kaltura-ks/core';
import type { KsSession, MintRequest } from '@kaltura-ks/core/issuer';

/** The test fleets' admin secret: their minters sign real KSs, as Kaltura would. */
export const TEST_ADMIN_SECRET = 'redis-test-admin-secret-00000000';

/**
 * A real KS for `request`, and the session describing it: what a store holds
 * must read back as a KS that says what its fields say, or the issuer refuses it.
 */
export function signedSession(
  request: Pick<MintRequest, 'userId' | 'type' | 'privileges'> & { expiresInSeconds?: number },
  now: number,
  partnerId = 1,
  version: 1 | 2 = 2,
): KsSession {
  const expiresInSeconds = request.expiresInSeconds ?? 3600;
  const ks = createKs({
    secret: TEST_ADMIN_SECRET,
    partnerId,
    userId: request.userId,
    type: request.type,
    privileges: request.privileges,
    expiresInSeconds,
    version,
    now: () => now,
  });
  return {
    ks,
    partnerId,
    userId: request.userId,
    type: request.type,
    privileges: request.privileges,
    issuedAt: now,
    expiresAt: (Math.floor(now / 1000) + expiresInSeconds) * 1000,
  };
}
