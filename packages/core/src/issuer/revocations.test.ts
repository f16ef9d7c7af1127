import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKs } from '../ks/create.js';
import { PENDING_REVOCATIONS_MAX, PendingRevocations } from './revocations.js';
import type { KsSession } from './types.js';

const START = 1_700_000_000_000;

afterEach(() => {
  vi.useRealTimers();
});

/** A session issued at `issuedAt` (its KS is real, the secret a test one). */
function issued(userId: string, issuedAt: number): KsSession {
  return {
    ks: createKs({ secret: 'revocations-test-admin-secret-00', partnerId: 1, userId }),
    partnerId: 1,
    userId,
    type: 0,
    privileges: '',
    issuedAt,
    expiresAt: issuedAt + 3_600_000,
  };
}

describe('pending revocations', () => {
  it('beyond PENDING_REVOCATIONS_MAX users pending, revokes everything instead', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let t = START;
    const sent: (string | null)[] = [];
    const pending = new PendingRevocations({
      now: () => t,
      random: () => 0.5,
      send: async (userId) => {
        sent.push(userId);
        return undefined;
      },
      onConfirmed: async () => {},
      onPending: () => {},
    });
    for (let i = 0; i < PENDING_REVOCATIONS_MAX; i++) await pending.submit(`u${i}`, false);
    expect(pending.size).toBe(PENDING_REVOCATIONS_MAX);
    t += 1_000;
    await pending.submit('one-too-many', false);
    expect(pending.size).toBe(PENDING_REVOCATIONS_MAX + 1); // everything counts as one
    const session = issued('anyone', t - 1);
    expect(pending.refuses(session, 'anyone')).toBe(true);
    expect(pending.refuses({ ...session, issuedAt: t + 1 }, 'anyone')).toBe(false);
    await pending.close();
  });
});
