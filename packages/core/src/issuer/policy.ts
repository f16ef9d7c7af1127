import type { KsSession } from './types.js';

/**
 * When a cached KS is fresh, due for renewal, or no longer usable.
 *
 * - fresh until the renewal point: `issuedAt + refreshAtFraction × lifetime`,
 *   but never later than `expiresAt − minRemainingMs`;
 * - from then on it is still served (while one background refresh runs) as long
 *   as more than `minRemainingMs` of its life remains;
 * - after that it is unusable: callers wait for a fresh one.
 */
export interface FreshnessPolicy {
  refreshAtFraction: number;
  minRemainingMs: number;
}

export type Freshness = 'fresh' | 'renew' | 'unusable';

export function renewAt(session: KsSession, policy: FreshnessPolicy): number {
  const lifetime = Math.max(0, session.expiresAt - session.issuedAt);
  return Math.min(
    session.issuedAt + lifetime * policy.refreshAtFraction,
    session.expiresAt - policy.minRemainingMs,
  );
}

export function freshness(session: KsSession, now: number, policy: FreshnessPolicy): Freshness {
  if (now >= session.expiresAt - policy.minRemainingMs) return 'unusable';
  return now < renewAt(session, policy) ? 'fresh' : 'renew';
}
