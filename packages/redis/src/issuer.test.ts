/**
 * The issuer's fleet tests (core's shared-store.test.ts, run there against the
 * in-memory hub) run here against Redis: several issuers in one process, each
 * with its own store and connections. The multi-process versions are in
 * fleet.test.ts.
 */
import type { KsSharedStore } from '@kaltura-ks/core/issuer';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  delegate,
  eventsOf,
  type IssuerFleetOptions,
  issuerFleet,
  storeErrors,
} from './test-utils/issuer-fleet.js';
import { type RedisServer, startRedisServer } from './test-utils/redis-server.js';
import { signedSession } from './test-utils/signed-session.js';
import { startTcpProxy, type TcpProxy } from './test-utils/tcp-proxy.js';

let server: RedisServer;
let fleets = 0;
const cleanups: (() => Promise<void>)[] = [];
const poll = { timeout: 5_000, interval: 20 };

beforeAll(async () => {
  server = await startRedisServer();
});
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});
afterAll(async () => {
  await server?.stop();
});

type FleetOptions = Omit<IssuerFleetOptions, 'connect' | 'keyPrefix'> & { url?: string };

/** A fleet of issuers, each with its own Redis store, under a prefix of its own. */
async function fleet(size: number, options: FleetOptions = {}) {
  const keyPrefix = `fleet-${++fleets}:`;
  const f = await issuerFleet(size, {
    ...options,
    keyPrefix,
    connect: () => ({ url: options.url ?? server.url }),
  });
  cleanups.push(() => f.close());
  return { ...f, keyPrefix };
}

function deferred() {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A store whose revocation broadcasts reach its issuer only once `deliver()` is called. */
function lateBroadcasts() {
  const held: (() => void)[] = [];
  let holding = true;
  return {
    wrap: (store: KsSharedStore) =>
      delegate(store, {
        onRevoke: (partnerId, listener) =>
          store.onRevoke(partnerId, (userId) => {
            if (holding) held.push(() => listener(userId));
            else listener(userId);
          }),
      }),
    deliver: () => {
      holding = false;
      for (const send of held.splice(0)) send();
    },
  };
}

/** Session keys and user indexes under a prefix, as Redis holds them. */
async function sessionKeys(prefix: string): Promise<string[]> {
  const admin = createClient({ url: server.url });
  admin.on('error', () => {});
  await admin.connect();
  try {
    const names = await admin.keys(`${prefix}*`);
    return names.filter((name) => /:(ks|user):/.test(name));
  } finally {
    admin.destroy();
  }
}

describe('a fleet of issuers sharing Redis', () => {
  it('serves a KS minted by one instance from every other (no second mint)', async () => {
    const f = await fleet(3);
    const a = await f.issuers[0]!.getKs({ userId: 'u' });
    const b = await f.issuers[1]!.getKs({ userId: 'u' });
    const c = await f.issuers[2]!.getKs({ userId: 'u' });
    expect(b.ks).toBe(a.ks);
    expect(c.ks).toBe(a.ks);
    expect(f.total()).toBe(1);
    expect(f.events[1]!.some((e) => e.type === 'shared-hit')).toBe(true);
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
    await f.issuers[1]!.revoke('alice');
    await vi.waitFor(() => {
      for (const issuer of f.issuers) expect(issuer.peek({ userId: 'alice' })).toBeUndefined();
    }, poll);
    expect(f.issuers[0]!.peek({ userId: 'bob' })).toBeDefined();
    const again = await f.issuers[2]!.getKs({ userId: 'alice' });
    expect(again.ks).not.toBe(f.minted[0]);
    await f.issuers[0]!.clear();
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
    await f.issuers[1]!.revoke('alice'); // ...when B revokes; the write reaches Redis after it.
    letWrite.resolve();
    expect((await pending).ks).toBe(f.minted[0]); // to the callers that were already waiting only
    expect(await sessionKeys(f.keyPrefix)).toEqual([]);
    expect(f.issuers[0]!.peek({ userId: 'alice' })).toBeUndefined();
    const fresh = await f.issuers[2]!.getKs({ userId: 'alice' });
    expect(fresh.ks).toBe(f.minted[1]);
    expect(f.events[2]!.some((e) => e.type === 'mint')).toBe(true);
    // And the fresh one is shared as usual.
    expect((await f.issuers[1]!.getKs({ userId: 'alice' })).ks).toBe(f.minted[1]);
    expect((await f.issuers[0]!.getKs({ userId: 'alice' })).ks).toBe(f.minted[1]);
    expect(f.total()).toBe(2);
  });

  it('a mint in flight when another instance revoked the user is neither written nor kept, even if the broadcast comes late', async () => {
    const late = lateBroadcasts();
    const f = await fleet(3, {
      hold: true,
      wrap: (store, i) => (i === 0 ? late.wrap(store) : store),
    });
    const pending = f.issuers[0]!.getKs({ userId: 'alice' });
    await vi.waitFor(() => expect(f.mints[0]).toBe(1), poll); // A is minting
    await f.issuers[1]!.revoke('alice'); // Redis has it; A has not heard yet
    f.release(); // A's mint ends and A writes it: after the revocation
    expect((await pending).ks).toBe(f.minted[0]);
    expect(await sessionKeys(f.keyPrefix)).toEqual([]);
    // Refused by Redis, A does not keep it either, broadcast or not.
    expect(f.issuers[0]!.peek({ userId: 'alice' })).toBeUndefined();
    const fresh = await f.issuers[2]!.getKs({ userId: 'alice' });
    expect(fresh.ks).toBe(f.minted[1]);
    late.deliver();
    expect((await f.issuers[1]!.getKs({ userId: 'alice' })).ks).toBe(f.minted[1]);
    expect(f.events[1]!.some((e) => e.type === 'shared-hit')).toBe(true);
    expect(f.total()).toBe(2);
  });

  it('a mint in flight when another instance cleared everything is neither written nor kept', async () => {
    const late = lateBroadcasts();
    const f = await fleet(3, {
      hold: true,
      wrap: (store, i) => (i === 0 ? late.wrap(store) : store),
    });
    const pending = f.issuers[0]!.getKs({ userId: 'alice' });
    await vi.waitFor(() => expect(f.mints[0]).toBe(1), poll);
    await f.issuers[1]!.clear();
    f.release();
    expect((await pending).ks).toBe(f.minted[0]);
    expect(await sessionKeys(f.keyPrefix)).toEqual([]);
    expect(f.issuers[0]!.peek({ userId: 'alice' })).toBeUndefined();
    expect((await f.issuers[2]!.getKs({ userId: 'alice' })).ks).toBe(f.minted[1]);
    late.deliver();
    expect((await f.issuers[1]!.getKs({ userId: 'alice' })).ks).toBe(f.minted[1]);
    expect(f.total()).toBe(2);
  });

  it("takes over once a crashed holder's lock lapses, well before lockWaitMs", async () => {
    const f = await fleet(2, { lockTtlMs: 400, lockWaitMs: 8_000 });
    f.hang(true);
    void f.issuers[0]!.getKs({ userId: 'u' }).catch(() => {}); // holds the lock, never answers
    await vi.waitFor(() => expect(f.mints[0]).toBe(1), poll);
    f.hang(false);
    const started = performance.now();
    const taken = await f.issuers[1]!.getKs({ userId: 'u' });
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(taken.ks).toBe(f.minted[0]);
    expect(f.mints).toEqual([1, 1]);
  });

  it("once a crashed holder's lock lapses, one waiter takes it over and the others wait for it", async () => {
    const f = await fleet(4, { hold: true, lockTtlMs: 400, lockWaitMs: 8_000 });
    void f.issuers[0]!.getKs({ userId: 'u' }).catch(() => {}); // holds the lock, stuck
    await vi.waitFor(() => expect(f.mints[0]).toBe(1), poll);
    const waiting = f.issuers.slice(1).map((issuer) => issuer.getKs({ userId: 'u' }));
    // The lock lapses: one waiter takes it over and mints (held at the gate); the others wait.
    await vi.waitFor(() => expect(f.total()).toBe(2), poll);
    f.release();
    await Promise.all(waiting);
    expect(f.total()).toBe(2);
    expect(
      f.events
        .slice(1)
        .flat()
        .filter((e) => e.type === 'mint'),
    ).toHaveLength(1);
  });

  it('goes on alone while Redis is unreachable, reporting it, and shares again once it is back', async () => {
    const proxy: TcpProxy = await startTcpProxy(server.port);
    cleanups.push(() => proxy.close());
    const f = await fleet(2, { url: proxy.url });
    proxy.cut();
    const a = await f.issuers[0]!.getKs({ userId: 'u' });
    const b = await f.issuers[1]!.getKs({ userId: 'u' });
    expect(a.ks).not.toBe(b.ks); // each minted its own
    expect(
      storeErrors(f.events[0]!).some((e) => e.type === 'store-error' && e.operation === 'get'),
    ).toBe(true);
    proxy.heal();
    await vi.waitFor(async () => {
      const c = await f.issuers[0]!.getKs({ userId: `probe-${performance.now()}` });
      expect((await f.issuers[1]!.getKs({ userId: c.userId })).ks).toBe(c.ks);
    }, poll);
  });

  it('a Redis that hangs costs at most storeTimeoutMs per call, never the request', async () => {
    const own = await startRedisServer();
    cleanups.push(() => own.stop());
    const f = await fleet(1, { url: own.url, storeTimeoutMs: 100 });
    own.pause(); // SIGSTOP: connections stay open, nothing answers
    try {
      const started = performance.now();
      const session = await f.issuers[0]!.getKs({ userId: 'u' });
      expect(session.ks).toBe(f.minted[0]);
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(storeErrors(f.events[0]!).map((e) => e.type === 'store-error' && e.operation)).toEqual(
        ['get'],
      );
    } finally {
      own.resume();
    }
    const other = await f.issuers[0]!.getKs({ userId: 'v' });
    expect(other.ks).toBe(f.minted[1]);
  });

  it('a busy event loop is not a slow Redis: the answer waiting in the socket is used', async () => {
    const f = await fleet(2, { storeTimeoutMs: 50 });
    const first = await f.issuers[0]!.getKs({ userId: 'u' });
    const pending = f.issuers[1]!.getKs({ userId: 'u' });
    // The read is on its way; CPU pressure (a burst of requests, say) keeps the loop busy
    // past storeTimeoutMs while Redis answers into the socket.
    await new Promise((resolve) => setImmediate(resolve));
    busy(150);
    expect((await pending).ks).toBe(first.ks);
    expect(f.total()).toBe(1);
    expect(storeErrors(f.events[1]!)).toEqual([]);
  });
});

describe('partners and ways of minting sharing one Redis', () => {
  it("with the default prefix, one partner's revoke and clear never touch another partner's users, in Redis or in memory", async () => {
    const keyPrefix = 'kaltura-ks:'; // the default: what every issuer of every partner gets
    const f = await issuerFleet(4, {
      keyPrefix,
      connect: () => ({ url: server.url }),
      partner: (i) => (i < 2 ? 1 : 2),
    });
    cleanups.push(() => f.close());
    const [p1a, p1b, p2a, p2b] = f.issuers;
    await p1a!.getKs({ userId: 'alice' });
    const theirs = await p2a!.getKs({ userId: 'alice' });
    expect(await p1b!.revoke('alice')).toMatchObject({ revoked: 1, reach: 'fleet' });
    await vi.waitFor(() => expect(p1a!.peek({ userId: 'alice' })).toBeUndefined(), poll);
    // Partner 2's alice: still in partner 2's memory, and still shared from Redis.
    expect(p2a!.peek({ userId: 'alice' })?.ks).toBe(theirs.ks);
    expect((await p2b!.getKs({ userId: 'alice' })).ks).toBe(theirs.ks);
    await p1a!.getKs({ userId: 'bob' });
    await p1b!.clear();
    await vi.waitFor(() => expect(p1a!.size).toBe(0), poll);
    expect(p2a!.peek({ userId: 'alice' })?.ks).toBe(theirs.ks);
    const fresh = await issuerFleet(1, {
      keyPrefix,
      connect: () => ({ url: server.url }),
      partner: () => 2,
    });
    cleanups.push(() => fresh.close());
    expect((await fresh.issuers[0]!.getKs({ userId: 'alice' })).ks).toBe(theirs.ks);
    expect(fresh.total()).toBe(0);
  });

  it("never serves for alice a session of ceo's that was put under her key", async () => {
    // What an instance whose app token overrides the user would have stored, were it not
    // checking what Kaltura issued (an older version): ceo's KS, its fields true to it.
    const f = await fleet(2);
    await f.issuers[0]!.getKs({ userId: 'alice' });
    const ceo = signedSession({ userId: 'ceo', type: 0, privileges: '' }, Date.now());
    const admin = createClient({ url: server.url });
    admin.on('error', () => {});
    await admin.connect();
    try {
      const [name] = await admin.keys(`${f.keyPrefix}*:ks:*`);
      await admin.set(name!, JSON.stringify(ceo), { PX: 60_000 });
    } finally {
      admin.destroy();
    }
    const alice = await f.issuers[1]!.getKs({ userId: 'alice' });
    expect(alice.userId).toBe('alice');
    expect(alice.ks).not.toBe(ceo.ks);
    expect(storeErrors(f.events[1]!)).toContainEqual(
      expect.objectContaining({ error: expect.objectContaining({ code: 'ERR_KS_RESPONSE' }) }),
    );
    expect(f.mints).toEqual([1, 1]);
  });

  it('never serves a session whose KS contradicts its fields (a KS v1 of another user)', async () => {
    const f = await fleet(2);
    await f.issuers[0]!.getKs({ userId: 'alice' });
    // Someone with write access to Redis puts bob's KS (v1: readable) into alice's entry.
    const bob = signedSession({ userId: 'bob', type: 0, privileges: '' }, Date.now(), 1, 1);
    const admin = createClient({ url: server.url });
    admin.on('error', () => {});
    await admin.connect();
    try {
      const [name] = await admin.keys(`${f.keyPrefix}*:ks:*`);
      const entry = JSON.parse((await admin.get(name!))!);
      await admin.set(name!, JSON.stringify({ ...entry, ks: bob.ks }), { PX: 60_000 });
    } finally {
      admin.destroy();
    }
    const served = await f.issuers[1]!.getKs({ userId: 'alice' });
    expect(served.ks).not.toBe(bob.ks);
    expect(storeErrors(f.events[1]!)).toContainEqual(
      expect.objectContaining({ error: expect.objectContaining({ code: 'ERR_KS_RESPONSE' }) }),
    );
  });
});

describe('revoke with endSession, on an instance that never served the user', () => {
  it('ends every session Redis held for the user, whichever instance minted it, each once', async () => {
    const f = await fleet(3);
    const one = await f.issuers[0]!.getKs({ userId: 'alice' });
    const two = await f.issuers[1]!.getKs({ userId: 'alice', privileges: 'sview:*' });
    await f.issuers[0]!.getKs({ userId: 'alice', privileges: 'sview:*' });
    expect(await f.issuers[2]!.revoke('alice', { endSession: true })).toEqual({
      revoked: 2,
      ended: 2,
      reach: 'fleet',
    });
    expect([...f.ended].sort()).toEqual([one.ks, two.ks].sort());
    expect(eventsOf(f.events[2]!, 'end-error')).toEqual([]);
  });
});

/** Keeps the event loop busy for `ms`, as a CPU-bound burst of requests would. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}
