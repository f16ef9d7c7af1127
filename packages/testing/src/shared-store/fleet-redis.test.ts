/**
 * A fleet of issuers sharing Redis: what only a real server shows — locks
 * that lapse on Redis's clock, a cut connection, a paused server, a busy
 * event loop, a session planted in Redis by someone with write access. The
 * tests every store passes are in issuer-fleet.test.ts; the multi-process
 * fleet is in packages/redis/src/fleet.test.ts.
 */
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RedisServer, startRedisServer } from '../../../redis/src/test-utils/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../../../redis/src/test-utils/tcp-proxy.js';
import { type IssuerFleetOptions, issuerFleet, storeErrors } from './issuer-fleet.js';
import { type RedisSpace, redisSpace } from './redis-space.js';
import { signedSession } from './signed-session.js';

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

type FleetOptions = Omit<IssuerFleetOptions<RedisSpace>, 'open'> & { url?: string };

/** A fleet of issuers, each with its own Redis store, under a prefix of its own. */
async function fleet(size: number, { url, ...options }: FleetOptions = {}) {
  const keyPrefix = `fleet-${++fleets}:`;
  const f = await issuerFleet(size, {
    ...options,
    open: () => redisSpace({ url: url ?? server.url, adminUrl: server.url, keyPrefix }),
  });
  cleanups.push(() => f.close());
  return f;
}

describe('a fleet of issuers sharing Redis', () => {
  it("takes over once a crashed holder's lock lapses, well before lockWaitMs", async () => {
    const f = await fleet(2, { lockTtlMs: 400, lockWaitMs: 60_000 });
    f.hang(true);
    void f.issuers[0]!.getKs({ userId: 'u' }).catch(() => {}); // holds the lock, never answers
    await vi.waitFor(() => expect(f.mints[0]).toBe(1), poll);
    f.hang(false);
    const started = performance.now();
    const taken = await f.issuers[1]!.getKs({ userId: 'u' });
    // Far from the 0.4 s TTL and from lockWaitMs alike: a loaded machine stalls a process for
    // seconds (3 s of an 8 s lockWaitMs was close).
    expect(performance.now() - started).toBeLessThan(30_000);
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
      open: () => redisSpace({ url: server.url, keyPrefix }),
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
      open: () => redisSpace({ url: server.url, keyPrefix }),
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
      const [name] = await admin.keys(`${f.space.keyPrefix}*:ks:*`);
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
      const [name] = await admin.keys(`${f.space.keyPrefix}*:ks:*`);
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

/** Keeps the event loop busy for `ms`, as a CPU-bound burst of requests would. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}
