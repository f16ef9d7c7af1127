/**
 * A fleet of issuers sharing a store, run against the in-memory hub and
 * against Redis: the same tests pass on both. What only one of them can show
 * (a store failing on cue, fake timers; a cut connection, a paused server) is
 * in fleet-memory.test.ts and fleet-redis.test.ts; the multi-process fleet is
 * in packages/redis/src/fleet.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RedisServer, startRedisServer } from '../../../redis/src/test-utils/redis-server.js';
import {
  delegate,
  eventsOf,
  type FleetSpace,
  type IssuerFleet,
  type IssuerFleetOptions,
  issuerFleet,
  lateBroadcasts,
  memorySpace,
  storeErrors,
} from './issuer-fleet.js';
import { redisSpace } from './redis-space.js';

const START = 1_700_000_000_000;
let server: RedisServer;
let prefixes = 0;
const open: IssuerFleet[] = [];
const poll = { timeout: 5_000, interval: 20 };

beforeAll(async () => {
  server = await startRedisServer();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});
afterAll(async () => {
  await server?.stop();
});

type Options = Omit<IssuerFleetOptions<FleetSpace>, 'open'>;

const spaces = [
  {
    name: 'the in-memory hub',
    fleet: (size: number, options: Options = {}) =>
      issuerFleet(size, {
        start: START,
        random: () => 0.5,
        lockWaitMs: 1_000,
        storeTimeoutMs: 100,
        ...options,
        open: memorySpace,
      }),
  },
  {
    name: 'Redis',
    fleet: (size: number, options: Options = {}) =>
      issuerFleet(size, {
        ...options,
        open: () => redisSpace({ url: server.url, keyPrefix: `fleet-${++prefixes}:` }),
      }),
  },
];

function deferred() {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe.each(spaces)('a fleet of issuers sharing $name', (space) => {
  async function fleet(size: number, options?: Options) {
    const f = await space.fleet(size, options);
    open.push(f);
    return f;
  }

  it('serves a KS minted by one instance from every other (no second mint)', async () => {
    const f = await fleet(3);
    const a = await f.issuers[0]!.getKs({ userId: 'u' });
    const b = await f.issuers[1]!.getKs({ userId: 'u' });
    const c = await f.issuers[2]!.getKs({ userId: 'u' });
    expect(b.ks).toBe(a.ks);
    expect(c.ks).toBe(a.ks);
    expect(f.total()).toBe(1);
    expect(f.events[1]!.some((e) => e.type === 'shared-hit')).toBe(true);
    expect(f.events.flat().filter((e) => e.type === 'store-error')).toEqual([]);
  });

  it('reports a KS taken from the store as a shared-hit, never as a mint', async () => {
    const f = await fleet(2);
    await f.issuers[0]!.getKs({ userId: 'u' });
    await f.issuers[1]!.getKs({ userId: 'u' });
    const types = (i: number) => f.events[i]!.map((e) => e.type);
    expect(types(0).filter((t) => t === 'mint')).toHaveLength(1);
    expect(types(1)).toContain('shared-hit');
    expect(types(1)).not.toContain('mint');
  });

  it('concurrent misses across instances cause one mint (fleet-wide single flight)', async () => {
    const f = await fleet(4, { hold: true });
    const all = f.issuers.flatMap((issuer) =>
      Array.from({ length: 25 }, () => issuer.getKs({ userId: 'cold' })),
    );
    await vi.waitFor(() => expect(f.total()).toBe(1), poll);
    f.release();
    const sessions = await Promise.all(all);
    expect(new Set(sessions.map((s) => s.ks)).size).toBe(1);
    expect(f.total()).toBe(1);
    expect(f.events.flat().filter((e) => e.type === 'store-error')).toEqual([]);
  });

  it('renews once for the whole fleet when the KS reaches its renewal point', async () => {
    const f = await fleet(3);
    for (const issuer of f.issuers) await issuer.getKs({ userId: 'u' });
    f.advance(2_900_000);
    const renewed = await Promise.all(
      f.issuers.map((issuer) => issuer.getKs({ userId: 'u' }, { fresh: true })),
    );
    expect(new Set(renewed.map((s) => s.ks))).toEqual(new Set([f.minted[1]]));
    expect(f.total()).toBe(2);
  });

  it('revoking on one instance evicts the user on every instance', async () => {
    const f = await fleet(3);
    for (const issuer of f.issuers) await issuer.getKs({ userId: 'alice' });
    await f.issuers[0]!.getKs({ userId: 'bob' });
    // Its own copy and the store's are the same KS: counted once.
    expect(await f.issuers[1]!.revoke('alice')).toEqual({ revoked: 1, ended: 0, reach: 'fleet' });
    await vi.waitFor(() => {
      for (const issuer of f.issuers) expect(issuer.peek({ userId: 'alice' })).toBeUndefined();
    }, poll);
    expect(f.issuers[0]!.peek({ userId: 'bob' })).toBeDefined();
    const again = await f.issuers[2]!.getKs({ userId: 'alice' });
    expect(again.ks).not.toBe(f.minted[0]);
    expect(await f.issuers[0]!.clear()).toEqual({ reach: 'fleet' });
    await vi.waitFor(() => {
      for (const issuer of f.issuers) expect(issuer.size).toBe(0);
    }, poll);
  });

  it('a KS whose write was already on its way when another instance revoked the user never lands after the revocation', async () => {
    const writing = deferred();
    const letWrite = deferred();
    const f = await fleet(3, {
      storeTimeoutMs: 10_000,
      wrap: (store, i) =>
        i !== 0
          ? store
          : delegate(store, {
              set: async (...args) => {
                writing.resolve();
                await letWrite.promise;
                return store.set(...args);
              },
            }),
    });
    const pending = f.issuers[0]!.getKs({ userId: 'alice' });
    await writing.promise; // A has minted and sent its write...
    await f.issuers[1]!.revoke('alice'); // ...when B revokes; the write reaches the store after it.
    letWrite.resolve();
    expect((await pending).ks).toBe(f.minted[0]); // to the callers that were already waiting only
    expect(await f.space.size()).toBe(0);
    expect(f.issuers[0]!.peek({ userId: 'alice' })).toBeUndefined();
    const fresh = await f.issuers[2]!.getKs({ userId: 'alice' });
    expect(fresh.ks).toBe(f.minted[1]);
    expect(f.events[2]!.some((e) => e.type === 'mint')).toBe(true);
    // And the fresh one is shared as usual.
    expect((await f.issuers[1]!.getKs({ userId: 'alice' })).ks).toBe(f.minted[1]);
    expect((await f.issuers[0]!.getKs({ userId: 'alice' })).ks).toBe(f.minted[1]);
    expect(f.total()).toBe(2);
  });

  it.each([
    ['revoke(userId)', (f: IssuerFleet) => f.issuers[1]!.revoke('alice')],
    ['clear()', (f: IssuerFleet) => f.issuers[1]!.clear()],
  ])(
    'a mint in flight during %s on another instance is neither written nor kept, even if the broadcast comes late',
    async (_, revoke) => {
      const late = lateBroadcasts();
      const f = await fleet(3, {
        hold: true,
        wrap: (store, i) => (i === 0 ? late.wrap(store) : store),
      });
      const pending = f.issuers[0]!.getKs({ userId: 'alice' });
      await vi.waitFor(() => expect(f.mints[0]).toBe(1), poll); // A is minting
      await revoke(f); // the store has it; A has not heard yet
      f.release(); // A's mint ends and A writes it: after the revocation
      expect((await pending).ks).toBe(f.minted[0]); // to the callers that were already waiting only
      expect(await f.space.size()).toBe(0);
      // Refused by the store, A does not keep it either, broadcast or not.
      expect(f.issuers[0]!.peek({ userId: 'alice' })).toBeUndefined();
      expect((await f.issuers[2]!.getKs({ userId: 'alice' })).ks).toBe(f.minted[1]);
      late.deliver();
      expect((await f.issuers[1]!.getKs({ userId: 'alice' })).ks).toBe(f.minted[1]);
      expect(f.total()).toBe(2);
    },
  );

  it('a mint in flight during a revocation on the minting instance is written neither to the store nor to the cache', async () => {
    const f = await fleet(2, { hold: true });
    const inFlight = f.issuers[0]!.getKs({ userId: 'u' });
    await vi.waitFor(() => expect(f.total()).toBe(1), poll);
    await f.issuers[0]!.revoke('u');
    f.release();
    await inFlight;
    expect(await f.space.size()).toBe(0);
    expect(f.issuers[0]!.peek({ userId: 'u' })).toBeUndefined();
    // The next request mints anew instead of taking the revoked one (from the flight or the store).
    const again = await f.issuers[1]!.getKs({ userId: 'u' });
    expect(again.ks).not.toBe((await inFlight).ks);
    expect(f.total()).toBe(2);
  });

  it('an instance that never served the user ends, with endSession, every session the store held, each once', async () => {
    const f = await fleet(3);
    const [a, b, c] = f.issuers;
    const one = await a!.getKs({ userId: 'alice' });
    const two = await b!.getKs({ userId: 'alice', privileges: 'sview:*' });
    await a!.getKs({ userId: 'alice', privileges: 'sview:*' }); // shared: in A's memory too
    expect(await c!.revoke('alice', { endSession: true })).toEqual({
      revoked: 2,
      ended: 2,
      reach: 'fleet',
    });
    expect([...f.ended].sort()).toEqual([one.ks, two.ks].sort());
    expect(eventsOf(f.events[2]!, 'end-error')).toEqual([]);
  });

  it("one partner's revoke and clear never touch another partner's sessions", async () => {
    const f = await fleet(4, { partner: (i) => (i < 2 ? 1 : 2) });
    const [p1a, p1b, p2a, p2b] = f.issuers;
    await p1a!.getKs({ userId: 'alice' });
    const theirs = await p2a!.getKs({ userId: 'alice' });
    await p1b!.revoke('alice');
    await vi.waitFor(() => expect(p1a!.peek({ userId: 'alice' })).toBeUndefined(), poll);
    expect(p2a!.peek({ userId: 'alice' })?.ks).toBe(theirs.ks);
    expect((await p2b!.getKs({ userId: 'alice' })).ks).toBe(theirs.ks); // still in the store
    await p1a!.getKs({ userId: 'bob' });
    await p1b!.clear();
    await vi.waitFor(() => expect(p1a!.size).toBe(0), poll);
    expect(p2a!.size).toBe(1);
    expect((await p2b!.getKs({ userId: 'alice' })).ks).toBe(theirs.ks);
    expect(f.total()).toBe(3);
  });

  it('takes a session with the privileges the way of minting adds itself', async () => {
    const f = await fleet(2, {
      answer: (r) => ({ ...r, privileges: `sessionid:0_t,apptoken:0_t,${r.privileges}` }),
    });
    const first = await f.issuers[0]!.getKs({ userId: 'alice', privileges: 'sview:1_e' });
    expect((await f.issuers[1]!.getKs({ userId: 'alice', privileges: 'sview:1_e' })).ks).toBe(
      first.ks,
    );
    expect(f.total()).toBe(1);
    expect(storeErrors(f.events[1]!)).toEqual([]);
  });
});
