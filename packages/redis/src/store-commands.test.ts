import { storeKey as key, testSession } from '@kaltura-ks/testing/shared-store';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisStoreClient } from './connection.js';
import { redisKeyLayout } from './keys.js';
import { createRedisStore } from './redis-store.js';
import { MARK_CLEARED, READ, REVOKE_USER, SET_SESSION } from './scripts.js';
import { type RedisServer, startRedisServer } from './test-utils/redis-server.js';

/**
 * What the store's read, write and revocation send to Redis, and what they accept back: the
 * fence a read gives (only digits, `<count>:<ms>`), a write refused without a round trip when
 * its fence is not one the store gave, the replica wait only when the node has replicas, and
 * the revocation message the fleet hears. A real Redis answers, except where a test stands in
 * for it (a reply Redis would never give: input, not memory).
 */

let server: RedisServer;
let prefixes = 0;

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

/** An answer to stand in for Redis's, or `undefined` to let Redis answer. */
type Answer = (args: readonly string[]) => unknown;

/** A store on a client that records every command, and answers some itself. */
async function storeOn(answer: Answer = () => undefined) {
  const real = createClient({ url: server.url, disableOfflineQueue: true });
  real.on('error', () => {});
  await real.connect();
  const sent: (readonly string[])[] = [];
  const client: RedisStoreClient = {
    get isReady() {
      return real.isReady;
    },
    sendCommand: async (args) => {
      sent.push(args);
      const replaced = answer(args);
      return replaced === undefined ? real.sendCommand(args as string[]) : replaced;
    },
    duplicate: () => real.duplicate(),
    on: (event: 'error' | 'ready', listener: never) => real.on(event, listener),
    off: (event: 'error' | 'ready', listener: never) => real.off(event, listener),
  };
  const prefix = `commands-${++prefixes}:`;
  const store = createRedisStore({ revocationCatchUpMs: 0, client, keyPrefix: prefix });
  await store.ready;
  sent.length = 0;
  return {
    store,
    sent,
    layout: redisKeyLayout(prefix),
    close: async () => {
      await store.close();
      real.destroy();
    },
  };
}

async function using(
  answer: Answer | undefined,
  test: (t: Awaited<ReturnType<typeof storeOn>>) => Promise<void>,
): Promise<void> {
  const t = await storeOn(answer);
  try {
    await test(t);
  } finally {
    await t.close();
  }
}

const isScript = (script: { sha1: string }) => (args: readonly string[]) =>
  args[0] === 'EVALSHA' && args[1] === script.sha1;

describe('get', () => {
  it('reads the session and the fence of its partner in one script, and gives the fence as <count>:<ms>', async () => {
    await using(undefined, async ({ store, sent, layout }) => {
      const alice = key('alice', '', 77);
      const { session, fence } = await store.get(alice);
      expect(session).toBeUndefined();
      expect(fence).toMatch(/^0:\d{13}$/);
      const partner = layout.partner(77);
      // (then EVAL with the source, the first time this Redis is asked for the script)
      expect(sent[0]).toStrictEqual([
        'EVALSHA',
        READ.sha1,
        '2',
        partner.session(layout.hash(alice.id)),
        partner.revocations,
      ]);
    });
  });

  it.each<[string, unknown[]]>([
    ['no fence', [null]],
    ['a count that is not a number', [null, 'x', '1700000000000']],
    ['a negative count', [null, '-1', '1700000000000']],
    ['a fractional count', [null, '1.5', '1700000000000']],
    ['no clock', [null, '3', '']],
    ['a clock with text around it', [null, '3', '1700000000000\n']],
    ['a count with text before it', [null, 'a3', '1700000000000']],
  ])('refuses a read answered with %s (ERR_KS_RESPONSE)', async (_, reply) => {
    await using(
      (args) => (isScript(READ)(args) ? reply : undefined),
      async ({ store }) => {
        await expect(store.get(key('alice'))).rejects.toMatchObject({
          name: 'KsError',
          code: 'ERR_KS_RESPONSE',
          message: 'Redis answered a read with an unexpected reply',
        });
      },
    );
  });

  it('takes a fence of digits as it is, and reads anything malformed beside it as a miss', async () => {
    await using(
      (args) => (isScript(READ)(args) ? ['{"ks":', 12, '1700000000000'] : undefined),
      async ({ store }) => {
        expect(await store.get(key('alice'))).toStrictEqual({
          session: undefined,
          fence: '12:1700000000000',
        });
      },
    );
  });
});

describe('set', () => {
  const session = testSession('alice', 'ks-1');

  it.each([0, -1, Number.NaN, -0.4])(
    'answers written for a TTL of %s without sending anything (the session is already over)',
    async (ttlMs) => {
      await using(undefined, async ({ store, sent }) => {
        const { fence } = await store.get(key('alice'));
        sent.length = 0;
        expect(await store.set(key('alice'), session, ttlMs, fence)).toBe(true);
        expect(sent).toStrictEqual([]);
      });
    },
  );

  it.each(['', '1', '1:', ':1', '1:2:3', 'a:1', '1:b', ' 1:2', '-1:2'])(
    'refuses a fence it did not give (%o) without sending anything',
    async (fence) => {
      await using(undefined, async ({ store, sent }) => {
        expect(await store.set(key('alice'), session, 60_000, fence)).toBe(false);
        expect(sent).toStrictEqual([]);
      });
    },
  );

  it('writes with the TTL rounded up to a whole millisecond, the fence split in two, and its keys', async () => {
    await using(undefined, async ({ store, sent, layout }) => {
      const alice = key('alice', '', 5);
      const { fence } = await store.get(alice);
      const [count, readAt] = fence.split(':');
      sent.length = 0;
      expect(await store.set(alice, session, 0.2, fence)).toBe(true);
      const partner = layout.partner(5);
      const hash = layout.hash(alice.id);
      expect(sent[0]!.slice(0, 8)).toStrictEqual([
        'EVALSHA',
        SET_SESSION.sha1,
        '5',
        partner.session(hash),
        partner.user('alice'),
        partner.revocations,
        partner.revoked('alice'),
        partner.cleared,
      ]);
      expect(sent[0]!.slice(9)).toStrictEqual([
        '1',
        hash,
        layout.mintedChannel,
        count,
        readAt,
        '600000', // revocationTtlMs, its default
      ]);
    });
  });

  it.each<[string, unknown, boolean]>([
    ['1', 1, true],
    ['"1"', '1', true],
    ['0', 0, false],
    ['2', 2, false],
    ['nothing', null, false],
    ['"OK"', 'OK', false],
  ])('answers the script’s %s as written: %s', async (_, reply, written) => {
    await using(
      (args) => (isScript(SET_SESSION)(args) ? reply : undefined),
      async ({ store }) => {
        const { fence } = await store.get(key('alice'));
        expect(await store.set(key('alice'), session, 60_000, fence)).toBe(written);
      },
    );
  });
});

describe('revoke', () => {
  /** The message the fleet hears, from the script's arguments (user) or the PUBLISH (everything). */
  function heard(sent: (readonly string[])[]): unknown {
    const publish = sent.find((args) => args[0] === 'PUBLISH');
    if (publish !== undefined) return JSON.parse(publish[2]!);
    const script = sent.find((args) => args[0] === 'EVALSHA')!;
    return JSON.parse(script[8]!);
  }

  it.each<[string, string | null]>([
    ['a user', 'alice'],
    ['everything', null],
  ])('tells the fleet who revoked %s, and when only if the time is a number', async (_, userId) => {
    await using(undefined, async ({ store, sent }) => {
      for (const at of [1_700_000_000_000, 0, undefined, Number.NaN, Number.POSITIVE_INFINITY]) {
        sent.length = 0;
        await store.revoke(9, userId, at);
        const message = heard(sent) as Record<string, unknown>;
        expect(message).toStrictEqual({
          from: expect.any(String),
          partnerId: 9,
          userId,
          ...(at !== undefined && Number.isFinite(at) ? { at } : {}),
        });
        expect(message.from).not.toBe('');
      }
    });
  });

  it.each<[string, string | null]>([
    ['a user', 'alice'],
    ['everything', null],
  ])('does not wait for a replica when the node has none (%s)', async (_, userId) => {
    await using(undefined, async ({ store, sent }) => {
      await store.revoke(9, userId);
      expect(sent.some((args) => args[0] === 'WAIT')).toBe(false);
    });
  });

  it.each<[string, string | null, unknown]>([
    ['a user', 'alice', [1, []]],
    ['everything', null, 1],
  ])(
    'waits for a replica once the node has one (%s), and is not confirmed without it',
    async (_, userId, withReplica) => {
      let acknowledged: unknown = 1;
      await using(
        (args) => {
          if (isScript(REVOKE_USER)(args) || isScript(MARK_CLEARED)(args)) return withReplica;
          return args[0] === 'WAIT' ? acknowledged : undefined;
        },
        async ({ store, sent }) => {
          await expect(store.revoke(9, userId)).resolves.toStrictEqual([]);
          expect(sent.filter((args) => args[0] === 'WAIT')).toStrictEqual([['WAIT', '1', '500']]);
          acknowledged = 0;
          await expect(store.revoke(9, userId)).rejects.toMatchObject({ code: 'ERR_KS_TIMEOUT' });
        },
      );
    },
  );

  it('answers the sessions of the user it deleted, dropping what it cannot read', async () => {
    const good = testSession('alice', 'ks-good', undefined, 9);
    await using(
      (args) =>
        isScript(REVOKE_USER)(args)
          ? [0, [JSON.stringify(good), '{', 'null', Buffer.from(JSON.stringify(good))]]
          : undefined,
      async ({ store }) => {
        expect(await store.revoke(9, 'alice')).toStrictEqual([good, good]);
      },
    );
  });

  it('answers nothing deleted for a revocation of everything', async () => {
    await using(undefined, async ({ store }) => {
      const alice = key('alice', '', 9);
      const { fence } = await store.get(alice);
      expect(
        await store.set(alice, testSession('alice', 'ks-1', undefined, 9), 60_000, fence),
      ).toBe(true);
      expect(await store.revoke(9, null)).toStrictEqual([]);
      expect((await store.get(alice)).session).toBeUndefined();
    });
  });
});
