import { describe, expect, it } from 'vitest';
import { revokeAll, revokeUser } from './revocation.js';
import type { CommandSender } from './scripts.js';

/**
 * The replica count a revocation script answers decides whether the store waits for a replica
 * (WAIT) before it calls the revocation confirmed. An answer that is not a count is refused
 * (ERR_KS_RESPONSE, the issuer keeps the revocation pending), never read as "no replicas": NaN
 * > 0 is false, which skipped the WAIT and confirmed a revocation a failover could undo.
 */

function redis(answer: (args: readonly string[]) => unknown): CommandSender {
  return {
    async sendCommand(args) {
      return answer(args);
    },
  };
}

const names = { channel: 'p:revoke', message: '{}', ttlMs: '60000' };
const user = {
  ...names,
  index: 'p:{1}:user:u',
  revocations: 'p:{1}:revocations',
  mark: 'p:{1}:revoked:u',
  sessionPrefix: 'p:{1}:ks:',
};
const all = {
  ...names,
  revocations: 'p:{1}:revocations',
  cleared: 'p:{1}:cleared',
  patterns: [] as string[],
};

const notCounts: [string, unknown][] = [
  ['a status', 'OK'],
  ['nothing', undefined],
  ['null', null],
  ['a negative count', -1],
  ['a fraction', 1.5],
  ['text that is no number', 'two'],
  ['an array', [1]],
];

describe('the replica count of a revocation', () => {
  it.each(notCounts)('revokeUser refuses %s as the replica count', async (_, replicas) => {
    await expect(
      revokeUser(
        redis(() => [replicas, []]),
        user,
      ),
    ).rejects.toMatchObject({
      name: 'KsError',
      code: 'ERR_KS_RESPONSE',
      message: 'Redis answered a revocation with an unexpected replica count',
    });
  });

  it.each(notCounts)('revokeAll refuses %s as the replica count', async (_, replicas) => {
    await expect(
      revokeAll(
        redis(() => replicas),
        all,
      ),
    ).rejects.toMatchObject({
      name: 'KsError',
      code: 'ERR_KS_RESPONSE',
      message: 'Redis answered a revocation with an unexpected replica count',
    });
  });

  it.each<[unknown, number]>([
    [0, 0],
    [3, 3],
    ['2', 2],
  ])('takes %o as %d replicas', async (replicas, count) => {
    expect(
      (
        await revokeUser(
          redis(() => [replicas, []]),
          user,
        )
      ).replicas,
    ).toBe(count);
    expect(
      await revokeAll(
        redis(() => replicas),
        all,
      ),
    ).toBe(count);
  });
});
