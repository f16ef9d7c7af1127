import { describe, expect, it } from 'vitest';
import {
  REPLICA_ACK_TIMEOUT_MS,
  replicated,
  revokeAll,
  revokeUser,
  type UserRevocation,
} from './revocation.js';
import { type CommandSender, MARK_CLEARED, REVOKE_USER } from './scripts.js';

/**
 * What a revocation sends to Redis, and what it accepts back: the commands in their order, on
 * the node of the revocation count's slot, and a refusal (a typed KsError) for any answer that
 * is not what the script or command returns. Redis is input, not memory.
 */

interface Sent {
  args: readonly string[];
  key: string;
}

/** A Redis that answers each command with `answer(args)`, and records what it was sent. */
function redis(answer: (args: readonly string[]) => unknown): CommandSender & { sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    async sendCommand(args, key) {
      sent.push({ args, key });
      return answer(args);
    },
  };
}

const user: UserRevocation = {
  index: 'p:{1}:user:u',
  revocations: 'p:{1}:revocations',
  mark: 'p:{1}:revoked:u',
  sessionPrefix: 'p:{1}:ks:',
  channel: 'p:revoke',
  message: '{"userId":"alice"}',
  ttlMs: '60000',
};

describe('revokeUser', () => {
  it('runs the script on the revocation keys, and answers the replicas and the deleted values', async () => {
    const to = redis(() => [2, ['one', 'two']]);
    expect(await revokeUser(to, user)).toStrictEqual({ replicas: 2, values: ['one', 'two'] });
    expect(to.sent).toStrictEqual([
      {
        args: [
          'EVALSHA',
          REVOKE_USER.sha1,
          '3',
          'p:{1}:user:u',
          'p:{1}:revocations',
          'p:{1}:revoked:u',
          'p:{1}:ks:',
          'p:revoke',
          '{"userId":"alice"}',
          '60000',
        ],
        key: 'p:{1}:user:u',
      },
    ]);
  });

  it.each<[string, unknown]>([
    ['nothing', null],
    ['a status', 'OK'],
    ['an empty array', []],
    ['replicas without the values', [1]],
    ['values that are not an array', [0, 'value']],
  ])('refuses %s as an answer (ERR_KS_RESPONSE)', async (_, reply) => {
    await expect(
      revokeUser(
        redis(() => reply),
        user,
      ),
    ).rejects.toMatchObject({
      name: 'KsError',
      code: 'ERR_KS_RESPONSE',
      message: 'Redis answered a revocation with an unexpected reply',
    });
  });
});

describe('revokeAll', () => {
  const everything = {
    revocations: 'p:{1}:revocations',
    cleared: 'p:{1}:cleared',
    patterns: ['p:{1}:user:*', 'p:{1}:ks:*'],
    channel: 'p:revoke',
    message: '{"userId":null}',
    ttlMs: '60000',
  };

  it('marks first, deletes what each pattern finds page by page (indexes first), then tells the fleet', async () => {
    const pages: Record<string, [string, string[]][]> = {
      'p:{1}:user:*': [
        ['17', ['p:{1}:user:a']],
        ['0', []],
      ],
      'p:{1}:ks:*': [
        ['5', []],
        ['9', ['p:{1}:ks:x', 'p:{1}:ks:y']],
        ['0', ['p:{1}:ks:z']],
      ],
    };
    const to = redis((args) => {
      if (args[0] === 'EVALSHA') return 1;
      if (args[0] === 'SCAN') return pages[args[3]!]!.shift();
      return args[0] === 'PUBLISH' ? 3 : 2;
    });
    expect(await revokeAll(to, everything)).toBe(1);
    expect(to.sent.map((s) => s.args)).toStrictEqual([
      ['EVALSHA', MARK_CLEARED.sha1, '2', 'p:{1}:revocations', 'p:{1}:cleared', '60000'],
      ['SCAN', '0', 'MATCH', 'p:{1}:user:*', 'COUNT', '1000'],
      ['UNLINK', 'p:{1}:user:a'],
      ['SCAN', '17', 'MATCH', 'p:{1}:user:*', 'COUNT', '1000'],
      ['SCAN', '0', 'MATCH', 'p:{1}:ks:*', 'COUNT', '1000'],
      ['SCAN', '5', 'MATCH', 'p:{1}:ks:*', 'COUNT', '1000'],
      ['UNLINK', 'p:{1}:ks:x', 'p:{1}:ks:y'],
      ['SCAN', '9', 'MATCH', 'p:{1}:ks:*', 'COUNT', '1000'],
      ['UNLINK', 'p:{1}:ks:z'],
      ['PUBLISH', 'p:revoke', '{"userId":null}'],
    ]);
    // Every command on the node of the revocation count (one slot: the partner's).
    expect(new Set(to.sent.map((s) => s.key))).toStrictEqual(new Set(['p:{1}:revocations']));
  });

  it('answers the replicas the mark script counted, as a number', async () => {
    const to = redis((args) => (args[0] === 'EVALSHA' ? '2' : ['0', []]));
    expect(await revokeAll(to, everything)).toBe(2);
  });

  it.each<[string, unknown]>([
    ['nothing', null],
    ['a status', 'OK'],
    ['a cursor alone', ['0']],
    ['a cursor and a string', ['0', 'p:{1}:ks:x']],
  ])('refuses %s as an answer to SCAN (ERR_KS_RESPONSE), and tells no one', async (_, reply) => {
    const to = redis((args) => (args[0] === 'SCAN' ? reply : 0));
    await expect(revokeAll(to, everything)).rejects.toMatchObject({
      name: 'KsError',
      code: 'ERR_KS_RESPONSE',
      message: 'Redis answered SCAN with an unexpected reply',
    });
    expect(to.sent.map((s) => s.args[0])).toStrictEqual(['EVALSHA', 'SCAN']);
  });
});

describe('replicated', () => {
  it('waits for one replica, at most REPLICA_ACK_TIMEOUT_MS, on the node of the key', async () => {
    const to = redis(() => 1);
    await replicated(to, 'p:{1}:revocations');
    expect(REPLICA_ACK_TIMEOUT_MS).toBe(500);
    expect(to.sent).toStrictEqual([{ args: ['WAIT', '1', '500'], key: 'p:{1}:revocations' }]);
  });

  it.each([1, 2, '1'])('confirms once %o replica(s) acknowledged', async (acknowledged) => {
    await expect(
      replicated(
        redis(() => acknowledged),
        'k',
      ),
    ).resolves.toBeUndefined();
  });

  it.each([0, '0', null, 'OK'])(
    'does not confirm when Redis answers %o (ERR_KS_TIMEOUT)',
    async (acknowledged) => {
      await expect(
        replicated(
          redis(() => acknowledged),
          'k',
        ),
      ).rejects.toMatchObject({
        name: 'KsError',
        code: 'ERR_KS_TIMEOUT',
        message: 'No replica acknowledged the revocation within 500 ms',
      });
    },
  );
});
