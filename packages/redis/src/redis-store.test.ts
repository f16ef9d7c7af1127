import type { KsError } from '@kaltura-ks/core';
import type { KsHeardRevocation } from '@kaltura-ks/core/issuer';
import { storeKey as key, put, read, testSession } from '@kaltura-ks/testing/shared-store';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeSession, encodeSession } from './codec.js';
import type { RedisStoreClient } from './connection.js';
import { escapeGlob, KEY_LAYOUT_VERSION, redisKeyLayout, sha256 } from './keys.js';
import { createRedisStore } from './redis-store.js';
import { rateLimitedReporter } from './report.js';
import type { RedisStore } from './store.js';
import { freePort, type RedisServer, startRedisServer } from './test-utils/redis-server.js';
import { startTcpProxy } from './test-utils/tcp-proxy.js';

let server: RedisServer;
let admin: ReturnType<typeof createClient>;
let prefixes = 0;
const poll = { timeout: 5_000, interval: 20 };

beforeAll(async () => {
  server = await startRedisServer();
  admin = createClient({ url: server.url });
  admin.on('error', () => {});
  await admin.connect();
});

afterAll(async () => {
  admin?.destroy();
  await server?.stop();
});

function uniquePrefix(): string {
  return `test-${++prefixes}:`;
}

async function fleetOf(count: number, prefix = uniquePrefix()): Promise<RedisStore[]> {
  const stores = Array.from({ length: count }, () =>
    createRedisStore({ revocationCatchUpMs: 0, url: server.url, keyPrefix: prefix }),
  );
  await Promise.all(stores.map((store) => store.ready));
  return stores;
}

async function keysUnder(prefix: string): Promise<string[]> {
  return admin.keys(`${escapeGlob(prefix)}*`);
}

const never = new AbortController().signal;

describe('the Redis key layout', () => {
  it('namespaces, versions and hashes every key, with the partner as hash tag: no user id or privilege in a key name', async () => {
    const prefix = uniquePrefix();
    const [store] = await fleetOf(1, prefix);
    const alice = key('alice@example.com', 'sview:*', 1234);
    await put(store!, alice, testSession('alice@example.com', 'ks-1', undefined, 1234), 60_000);
    const release = await store!.lock(alice, 60_000);
    await store!.revoke(1234, 'bob@example.com');
    const names = await keysUnder(prefix);
    expect(names).toHaveLength(5); // session, user index, lock; count and bob's mark
    for (const name of names) {
      // One hash tag for everything of a partner: each script's keys share a Cluster slot.
      expect(name.startsWith(`${prefix}v${KEY_LAYOUT_VERSION}:{1234}:`)).toBe(true);
      expect(name.match(/[{}]/g)).toEqual(['{', '}']);
      expect(name).not.toMatch(/alice|bob|example|sview/);
    }
    const layout = redisKeyLayout(prefix);
    const partner = layout.partner(1234);
    const hash = layout.hash(alice.id);
    expect(names.sort()).toEqual(
      [
        partner.session(hash),
        partner.lock(hash),
        partner.user('alice@example.com'),
        partner.revocations,
        partner.revoked('bob@example.com'),
      ].sort(),
    );
    await release?.();
    await store!.close();
  });

  it('stores only the session fields, with a TTL that follows the KS; the user index lives as long as the longest', async () => {
    const prefix = uniquePrefix();
    const [store] = await fleetOf(1, prefix);
    const layout = redisKeyLayout(prefix);
    const partner = layout.partner(1);
    const extra = { ...testSession('alice', 'ks-1'), secret: 'do-not-store' };
    await put(store!, key('alice'), extra, 60_000);
    await put(store!, key('alice', 'sview:*'), testSession('alice', 'ks-2'), 5_000);
    const stored = JSON.parse((await admin.get(partner.session(layout.hash(key('alice').id))))!);
    expect(Object.keys(stored).sort()).toEqual(
      ['expiresAt', 'issuedAt', 'ks', 'partnerId', 'privileges', 'type', 'userId'].sort(),
    );
    const ttl = await admin.pTTL(partner.session(layout.hash(key('alice').id)));
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    const short = await admin.pTTL(partner.session(layout.hash(key('alice', 'sview:*').id)));
    expect(short).toBeLessThanOrEqual(5_000);
    expect(await admin.pTTL(partner.user('alice'))).toBeGreaterThan(55_000);
    await store!.close();
  });

  it('reads a malformed value as a miss, never a crash', async () => {
    const prefix = uniquePrefix();
    const [store] = await fleetOf(1, prefix);
    const layout = redisKeyLayout(prefix);
    const name = layout.partner(1).session(layout.hash(key('alice').id));
    const valid = JSON.parse(encodeSession(testSession('alice', 'ks-1')));
    for (const bad of [
      'not json',
      '"a string"',
      'null',
      '[]',
      JSON.stringify({ ...valid, ks: '' }),
      JSON.stringify({ ...valid, expiresAt: '1700000000000' }),
      JSON.stringify({ ...valid, partnerId: 1.5 }),
      JSON.stringify({ ...valid, userId: undefined }),
    ]) {
      await admin.set(name, bad);
      expect(await read(store!, key('alice'))).toBeUndefined();
    }
    await admin.del(name);
    await admin.hSet(name, 'a', 'b'); // the wrong type altogether
    await expect(store!.get(key('alice'))).rejects.toThrow(/WRONGTYPE/);
    await store!.close();
  });

  it('escapes the prefix in SCAN patterns: revoke(null) touches only its own namespace', async () => {
    const [wild] = await fleetOf(1, 'a*:');
    const [other] = await fleetOf(1, 'ab:');
    await put(wild!, key('alice'), testSession('alice', 'ks-1'), 60_000);
    await put(other!, key('alice'), testSession('alice', 'ks-2'), 60_000);
    await wild!.revoke(1, null);
    expect(await read(wild!, key('alice'))).toBeUndefined();
    expect((await read(other!, key('alice')))?.ks).toBe('ks-2');
    // Only the revocation count and mark, which must outlive the sessions they fence.
    const partner = redisKeyLayout('a*:').partner(1);
    expect((await keysUnder('a*:')).sort()).toEqual([partner.cleared, partner.revocations].sort());
    await Promise.all([wild!.close(), other!.close()]);
  });
});

describe('revocation fences', () => {
  it('keeps a hashed mark per revoked user and one for revoke(null), each for revocationTtlMs, and a count without TTL', async () => {
    const prefix = uniquePrefix();
    const store = createRedisStore({
      revocationCatchUpMs: 0,
      url: server.url,
      keyPrefix: prefix,
      revocationTtlMs: 30_000,
    });
    await store.ready;
    await store.revoke(1, 'alice@example.com');
    await store.revoke(1, null);
    const layout = redisKeyLayout(prefix).partner(1);
    const names = await keysUnder(prefix);
    expect(names.sort()).toEqual(
      [layout.revocations, layout.revoked('alice@example.com'), layout.cleared].sort(),
    );
    for (const name of names) expect(name).not.toMatch(/alice|example/);
    expect(await admin.get(layout.revocations)).toBe('2');
    expect(await admin.pTTL(layout.revocations)).toBe(-1);
    for (const mark of [layout.revoked('alice@example.com'), layout.cleared]) {
      const ttl = await admin.pTTL(mark);
      expect(ttl).toBeGreaterThan(25_000);
      expect(ttl).toBeLessThanOrEqual(30_000);
    }
    await store.close();
  });

  it('writes at once while nothing was revoked since the read, whatever its age', async () => {
    const [store] = await fleetOf(1);
    const { fence } = await store!.get(key('alice'));
    const [count, readAt] = fence.split(':');
    const old = `${count}:${Number(readAt) - 3_600_000}`;
    expect(await store!.set(key('alice'), testSession('alice', 'ks-1'), 60_000, old)).toBe(true);
    await store!.close();
  });

  it('refuses a fence older than revocationTtlMs once anything was revoked since: its mark may be gone', async () => {
    const [store] = await fleetOf(1);
    const { fence } = await store!.get(key('alice'));
    await store!.revoke(1, 'bob');
    const [count, readAt] = fence.split(':');
    const old = `${count}:${Number(readAt) - 600_000}`;
    const s = testSession('alice', 'ks-1');
    expect(await store!.set(key('alice'), s, 60_000, old)).toBe(false);
    expect(await store!.set(key('alice'), s, 60_000, fence)).toBe(true);
    await store!.close();
  });

  it('refuses every fence once the revocation count went back (Redis lost it: restart, failover)', async () => {
    const prefix = uniquePrefix();
    const [store] = await fleetOf(1, prefix);
    await store!.revoke(1, 'bob');
    const { fence } = await store!.get(key('alice'));
    await admin.del(redisKeyLayout(prefix).partner(1).revocations);
    const s = testSession('alice', 'ks-1');
    expect(await store!.set(key('alice'), s, 60_000, fence)).toBe(false);
    expect(await read(store!, key('alice'))).toBeUndefined();
    expect(await put(store!, key('alice'), s, 60_000)).toBe(true);
    await store!.close();
  });
});

describe('waiting for another instance', () => {
  it('stops waiting soon after the holder crashed and its lock lapsed', async () => {
    const [a, b] = await fleetOf(2);
    await a!.lock(key('alice'), 300); // never released: its holder "crashed"
    const started = performance.now();
    expect(await b!.waitFor(key('alice'), () => true, 60_000, never)).toBeUndefined();
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(250);
    // Not the 60 s timeout (the test's own timeout ends that sooner). Far from the lapse, not
    // close to it: a loaded machine stalls a process for seconds (2 s of a 10 s timeout was).
    expect(waited).toBeLessThan(30_000);
    await Promise.all([a!.close(), b!.close()]);
  });

  it('stops waiting at once when the holder releases without a session (its mint failed)', async () => {
    const [a, b] = await fleetOf(2, uniquePrefix());
    const release = await a!.lock(key('alice'), 60_000);
    const waiting = b!.waitFor(key('alice'), () => true, 60_000, never);
    const started = performance.now();
    await release?.();
    expect(await waiting).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(30_000); // not the 60 s timeout
    await Promise.all([a!.close(), b!.close()]);
  });

  it('returns at once for a signal aborted before it started', async () => {
    const [a, b] = await fleetOf(2);
    const release = await a!.lock(key('alice'), 60_000);
    expect(await b!.waitFor(key('alice'), () => true, 60_000, AbortSignal.abort())).toBeUndefined();
    await release?.();
    await Promise.all([a!.close(), b!.close()]);
  });

  it('is woken by the notification, not by polling', async () => {
    const prefix = uniquePrefix();
    const [a] = await fleetOf(1, prefix);
    const slow = createRedisStore({
      revocationCatchUpMs: 0,
      url: server.url,
      keyPrefix: prefix,
      pollIntervalMs: 600_000,
    });
    await slow.ready;
    const release = await a!.lock(key('alice'), 600_000);
    const waiting = slow.waitFor(key('alice'), () => true, 300_000, never);
    await new Promise((resolve) => setImmediate(resolve));
    await put(a!, key('alice'), testSession('alice', 'ks-1'), 600_000);
    const started = performance.now();
    expect((await waiting)?.ks).toBe('ks-1');
    // Its next poll is 60 s away (a tenth of pollIntervalMs); a loaded machine can stall a
    // process for seconds, so the bound is far from both (1 s of a 6 s poll was close).
    expect(performance.now() - started).toBeLessThan(30_000);
    await release?.();
    await Promise.all([a!.close(), slow.close()]);
  });
});

describe('connections', () => {
  it('works with a client of yours, and leaves it open on close', async () => {
    const client = createClient({ url: server.url, disableOfflineQueue: true });
    client.on('error', () => {});
    await client.connect();
    const store = createRedisStore({ revocationCatchUpMs: 0, client, keyPrefix: uniquePrefix() });
    const [peer] = await fleetOf(1);
    await store.ready;
    await put(store, key('alice'), testSession('alice', 'ks-1'), 60_000);
    expect((await read(store, key('alice')))?.ks).toBe('ks-1');
    const before = (await admin.clientList()).length;
    await store.close();
    await vi.waitFor(async () => expect((await admin.clientList()).length).toBe(before - 1), poll);
    expect(await client.ping()).toBe('PONG');
    client.destroy();
    await peer!.close();
  });

  it('fails fast while Redis is unreachable, reports it rate-limited (no password, user or KS in any error), and closes cleanly', async () => {
    const errors: { connection: string; suppressed: number }[] = [];
    const messages: string[] = [];
    const store = createRedisStore({
      revocationCatchUpMs: 0,
      url: `redis://default:pw-s3cret@127.0.0.1:${await freePort()}`,
      reconnectMaxDelayMs: 20,
      onError: (error, info) => {
        errors.push(info);
        messages.push(`${error.message}\n${error.stack}`);
      },
    });
    const started = performance.now();
    const failures = await Promise.all([
      store.get(key('alice')).catch((e: Error) => e),
      store.lock(key('alice'), 1_000).catch((e: Error) => e),
      store
        .set(key('alice'), testSession('alice', 'ks-s3cret'), 1_000, '0:0')
        .catch((e: Error) => e),
    ]);
    for (const failure of failures) {
      expect(failure).toBeInstanceOf(Error);
      messages.push(`${(failure as Error).message}\n${(failure as Error).stack}`);
    }
    // Queued commands would wait for a Redis that never comes: failing at all is the point, and
    // 10 s is a bound a loaded machine keeps (200 ms read 444 ms at load 50).
    expect(performance.now() - started).toBeLessThan(10_000);
    // Dozens of failed reconnections, two reports (one per connection, within the interval).
    await vi.waitFor(() => expect(errors.length).toBe(2), poll);
    expect(errors.map((e) => e.connection).sort()).toEqual(['commands', 'subscriber']);
    for (const message of messages) expect(message).not.toMatch(/s3cret|alice/);
    const ready = store.ready.then(
      () => 'ready',
      () => 'rejected',
    );
    await store.close();
    expect(await ready).toBe('rejected');
  });

  it('fails fast once a command has gone unanswered for failFastAfterMs, until Redis answers it', async () => {
    const own = await startRedisServer();
    const reported: Error[] = [];
    const store = createRedisStore({
      revocationCatchUpMs: 0,
      url: own.url,
      keyPrefix: uniquePrefix(),
      failFastAfterMs: 100,
      onError: (error) => reported.push(error),
    });
    await store.ready;
    vi.useFakeTimers({ toFake: ['performance', 'setTimeout', 'clearTimeout'] });
    try {
      own.pause(); // SIGSTOP: the connection stays up, nothing answers
      const stuck = store.get(key('alice'));
      // Its clock starts once it is on its way: node-redis writes this turn's commands when the
      // turn is over (a burst of calls in one busy turn is this process's time, not Redis's).
      await new Promise((resolve) => setImmediate(resolve));
      // Not yet due: later commands still go out.
      vi.advanceTimersByTime(99);
      const queued = store.get(key('carol'));
      vi.advanceTimersByTime(1);
      // The deadline's check runs after the I/O waiting to be read (none: Redis is stopped).
      await new Promise((resolve) => setImmediate(resolve));
      // Every later command would queue behind the unanswered one: it fails at once instead.
      await expect(store.get(key('bob'))).rejects.toMatchObject({ code: 'ERR_KS_TIMEOUT' });
      await expect(store.lock(key('bob'), 1_000)).rejects.toMatchObject({
        code: 'ERR_KS_TIMEOUT',
      });
      expect(reported.map((e) => (e as KsError).code)).toEqual(['ERR_KS_TIMEOUT']);
      own.resume();
      expect((await stuck).session).toBeUndefined();
      expect((await queued).session).toBeUndefined();
      // Redis answered: commands go through again.
      expect(await read(store, key('bob'))).toBeUndefined();
    } finally {
      vi.useRealTimers();
      own.resume();
      await store.close();
      await own.stop();
    }
  });

  it('drops its own connection once the breaker has been open for reconnectAfterMs, and recovers on a new one', async () => {
    const own = await startRedisServer();
    const reported: Error[] = [];
    const store = createRedisStore({
      revocationCatchUpMs: 0,
      url: own.url.replace('redis://', 'redis://default:pw-s3cret@'),
      keyPrefix: uniquePrefix(),
      failFastAfterMs: 100,
      reconnectAfterMs: 1_000,
      reconnectMaxDelayMs: 20,
      onError: (error) => reported.push(error),
    });
    // A password in the URL (this server's `default` user takes any): no report may show it.
    await store.ready;
    vi.useFakeTimers({ toFake: ['performance', 'setTimeout', 'clearTimeout'] });
    try {
      own.pause(); // SIGSTOP: the connection stays up, the reply never comes
      let outcome: unknown;
      void store.get(key('alice')).then(
        () => {
          outcome = 'answered';
        },
        (error: unknown) => {
          outcome = error;
        },
      );
      // Its clock starts once it is on its way: node-redis writes this turn's commands when the
      // turn is over (a burst of calls in one busy turn is this process's time, not Redis's).
      await new Promise((resolve) => setImmediate(resolve));
      vi.advanceTimersByTime(100);
      // The deadline's check runs after the I/O waiting to be read (none: Redis is stopped).
      await new Promise((resolve) => setImmediate(resolve));
      await expect(store.get(key('bob'))).rejects.toMatchObject({ code: 'ERR_KS_TIMEOUT' });
      // Not yet: the breaker has been open for less than reconnectAfterMs.
      vi.advanceTimersByTime(999);
      await new Promise((resolve) => setImmediate(resolve));
      expect(outcome).toBeUndefined();
      vi.advanceTimersByTime(1);
      // Judged after the I/O waiting to be read, as the breaker is.
      await new Promise((resolve) => setImmediate(resolve));
      expect(outcome).toBeInstanceOf(Error);
      // Reported once, although within errorReportIntervalMs of the breaker's report.
      expect(reported.map((e) => (e as KsError).code)).toEqual([
        'ERR_KS_TIMEOUT',
        'ERR_KS_TIMEOUT',
      ]);
      expect(reported[1]!.message).toMatch(/reconnecting/);
      for (const error of reported)
        expect(`${error.message}\n${error.stack}`).not.toMatch(/s3cret/);
      // The breaker is closed: commands are no longer refused for a stalled one (the new
      // connection is not ready yet, so they fail as offline, at once).
      await expect(store.get(key('bob'))).rejects.not.toMatchObject({ code: 'ERR_KS_TIMEOUT' });
      own.resume();
      vi.useRealTimers();
      await vi.waitFor(async () => expect(await read(store, key('bob'))).toBeUndefined(), poll);
      expect(reported).toHaveLength(2);
    } finally {
      vi.useRealTimers();
      own.resume();
      await store.close();
      await own.stop();
    }
  });

  it('leaves no reconnection timer behind once closed with the breaker open', async () => {
    const own = await startRedisServer();
    const store = createRedisStore({
      revocationCatchUpMs: 0,
      url: own.url,
      keyPrefix: uniquePrefix(),
      failFastAfterMs: 100,
      reconnectAfterMs: 5_000,
    });
    await store.ready;
    vi.useFakeTimers({ toFake: ['performance', 'setTimeout', 'clearTimeout'] });
    try {
      own.pause();
      const stuck = store.get(key('alice')).catch((error: unknown) => error);
      // Its clock starts once it is on its way: node-redis writes this turn's commands when the
      // turn is over (a burst of calls in one busy turn is this process's time, not Redis's).
      await new Promise((resolve) => setImmediate(resolve));
      vi.advanceTimersByTime(100);
      // The deadline's check runs after the I/O waiting to be read (none: Redis is stopped).
      await new Promise((resolve) => setImmediate(resolve));
      await expect(store.get(key('bob'))).rejects.toMatchObject({ code: 'ERR_KS_TIMEOUT' });
      const closing = store.close();
      vi.advanceTimersByTime(1_000); // close() waits that long for the commands in flight
      await closing;
      expect(await stuck).toBeInstanceOf(Error);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
      own.resume();
      await store.close();
      await own.stop();
    }
  });

  it('never drops a client of yours, however long the breaker stays open', async () => {
    const own = await startRedisServer();
    const client = createClient({ url: own.url, disableOfflineQueue: true });
    client.on('error', () => {});
    await client.connect();
    let ended = 0;
    client.on('end', () => ended++);
    const destroy = vi.spyOn(client, 'destroy');
    const reported: Error[] = [];
    const store = createRedisStore({
      revocationCatchUpMs: 0,
      client,
      keyPrefix: uniquePrefix(),
      failFastAfterMs: 100,
      reconnectAfterMs: 200,
      onError: (error) => reported.push(error),
    });
    await store.ready;
    vi.useFakeTimers({ toFake: ['performance', 'setTimeout', 'clearTimeout'] });
    try {
      own.pause();
      let settled = false;
      const stuck = store.get(key('alice')).finally(() => {
        settled = true;
      });
      // Its clock starts once it is on its way: node-redis writes this turn's commands when the
      // turn is over (a burst of calls in one busy turn is this process's time, not Redis's).
      await new Promise((resolve) => setImmediate(resolve));
      vi.advanceTimersByTime(100);
      // The deadline's check runs after the I/O waiting to be read (none: Redis is stopped).
      await new Promise((resolve) => setImmediate(resolve));
      await expect(store.get(key('bob'))).rejects.toMatchObject({ code: 'ERR_KS_TIMEOUT' });
      vi.advanceTimersByTime(10_000);
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(settled).toBe(false);
      expect(destroy).not.toHaveBeenCalled();
      expect(ended).toBe(0);
      expect(client.isReady).toBe(true);
      expect(reported).toHaveLength(1);
      own.resume();
      // The same connection: Redis answers the stalled command, and the breaker closes.
      expect((await stuck).session).toBeUndefined();
      expect(await read(store, key('bob'))).toBeUndefined();
    } finally {
      vi.useRealTimers();
      own.resume();
      await store.close();
      destroy.mockRestore();
      client.destroy();
      await own.stop();
    }
  });

  it('does not take a busy event loop for a Redis that does not answer', async () => {
    const reported: Error[] = [];
    const store = createRedisStore({
      revocationCatchUpMs: 0,
      url: server.url,
      keyPrefix: uniquePrefix(),
      failFastAfterMs: 50,
      onError: (error) => reported.push(error),
    });
    await store.ready;
    try {
      const first = store.get(key('alice'));
      // CPU pressure, not a timer: the answer arrives while the loop is busy and sits
      // unread in the socket past failFastAfterMs.
      busy(150);
      const second = store.get(key('bob'));
      expect((await first).session).toBeUndefined();
      expect((await second).session).toBeUndefined();
      expect(reported).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('tells the issuer to drop its local tier when the subscription comes back (revocations may be lost)', async () => {
    const prefix = uniquePrefix();
    const [store] = await fleetOf(1, prefix);
    const ignoring = createRedisStore({
      revocationCatchUpMs: 0,
      url: server.url,
      keyPrefix: prefix,
      ignoreMissedRevocations: true,
    });
    await ignoring.ready;
    const heard: (string | null)[] = [];
    const ignored: (string | null)[] = [];
    store!.onRevoke(1, (u) => heard.push(u));
    ignoring.onRevoke(1, (u) => ignored.push(u));
    await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    await vi.waitFor(() => expect(heard).toEqual([null]), poll);
    // Both subscribers are back: a revocation now reaches both.
    const [peer] = await fleetOf(1, prefix);
    await peer!.revoke(1, 'alice');
    await vi.waitFor(() => expect(ignored).toEqual(['alice']), poll);
    expect(heard).toEqual([null, 'alice']);
    await Promise.all([store!.close(), ignoring.close(), peer!.close()]);
  });

  it('serves nothing read from Redis until subscribed for revocationCatchUpMs on its clock — at start, and again once the subscription comes back', async () => {
    const prefix = uniquePrefix();
    const [writer] = await fleetOf(1, prefix);
    const alice = key('alice');
    await put(writer!, alice, testSession('alice', 'ks-1'), 60_000);
    // Held, so that waitFor has a mint to wait for rather than stopping at once.
    const release = await writer!.lock(alice, 60_000);
    let t = 1_000_000;
    const fresh = createRedisStore({
      url: server.url,
      keyPrefix: prefix,
      revocationCatchUpMs: 2_000,
      now: () => t,
    });
    await fresh.ready;
    const accept = () => true;
    try {
      // It may not have heard yet of a revocation Redis refused: nothing from Redis is served.
      expect(await read(fresh, alice)).toBeUndefined();
      expect(await fresh.waitFor(alice, accept, 60_000, never)).toBeUndefined();
      // Its fence is good all the same: a KS minted meanwhile is written.
      expect(await put(fresh, key('bob'), testSession('bob', 'ks-2'), 60_000)).toBe(true);
      t += 1_999;
      expect(await read(fresh, alice)).toBeUndefined();
      t += 1;
      expect((await read(fresh, alice))?.ks).toBe('ks-1');
      expect((await fresh.waitFor(alice, accept, 60_000, never))?.ks).toBe('ks-1');

      // The subscription is lost and comes back: whatever was announced meanwhile was missed.
      const heard: (string | null)[] = [];
      fresh.onRevoke(1, (userId) => heard.push(userId));
      await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
      await vi.waitFor(() => expect(heard).toEqual([null]), poll);
      expect(await read(fresh, alice)).toBeUndefined();
      t += 2_000;
      expect((await read(fresh, alice))?.ks).toBe('ks-1');
    } finally {
      await release?.();
      await Promise.all([fresh.close(), writer!.close()]);
    }
  });

  it('announces revocations without writing anything, and tells the other stores when and by whom (a confirmation too)', async () => {
    const prefix = uniquePrefix();
    const [a, b] = await fleetOf(2, prefix);
    const heard: Array<[string | null, KsHeardRevocation | undefined]> = [];
    const own: unknown[] = [];
    b!.onRevoke(1, (userId, told) => heard.push([userId, told]));
    a!.onRevoke(1, (userId) => own.push(userId));
    await a!.announce(1, [
      { userId: 'alice', at: 5 },
      { userId: null, at: 6 },
    ]);
    expect(await keysUnder(prefix)).toEqual([]);
    await a!.revoke(1, 'alice', 7);
    await vi.waitFor(() => expect(heard).toHaveLength(3), poll);
    const from = heard[0]?.[1]?.from;
    expect(from).toEqual(expect.any(String));
    expect(heard).toEqual([
      ['alice', { at: 5, confirmed: false, from }],
      [null, { at: 6, confirmed: false, from }],
      ['alice', { at: 7, confirmed: true, from }],
    ]);
    // A store never hears its own.
    expect(own).toEqual([]);
    await Promise.all([a!.close(), b!.close()]);
  });

  it('rejects a revocation Redis could not confirm, and keeps nothing pending itself (the issuer retries)', async () => {
    const proxy = await startTcpProxy(server.port);
    const prefix = uniquePrefix();
    const cutOff = createRedisStore({
      revocationCatchUpMs: 0,
      url: proxy.url,
      keyPrefix: prefix,
      reconnectMaxDelayMs: 50,
    });
    const [peer] = await fleetOf(1, prefix);
    await cutOff.ready;
    const heard: (string | null)[] = [];
    peer!.onRevoke(1, (u) => heard.push(u));
    await put(peer!, key('alice'), testSession('alice', 'ks-1'), 60_000);

    proxy.cut();
    await expect(cutOff.revoke(1, 'alice')).rejects.toThrow();
    proxy.heal();
    await cutOff.ready;
    await vi.waitFor(async () => expect(await read(cutOff, key('nobody'))).toBeUndefined(), poll);
    expect((await read(peer!, key('alice')))?.ks).toBe('ks-1');
    expect(heard).toEqual([]);
    await Promise.all([cutOff.close(), peer!.close()]);
    await proxy.close();
  });

  it('validates its options when created', () => {
    expect(() => createRedisStore()).toThrow(/exactly one of url or client/);
    expect(() => createRedisStore({ url: 'http://x' })).toThrow(/redis:\/\//);
    expect(() => createRedisStore({ url: server.url, keyPrefix: '' })).toThrow(/keyPrefix/);
    // The store puts its own hash tag in every key.
    expect(() => createRedisStore({ url: server.url, keyPrefix: 'app:{x}:' })).toThrow(/keyPrefix/);
    expect(() =>
      createRedisStore({
        url: server.url,
        upgradeFromV1: 'yes' as unknown as boolean,
      }),
    ).toThrow(/upgradeFromV1/);
    expect(() => createRedisStore({ url: server.url, pollIntervalMs: 0 })).toThrow(
      /pollIntervalMs/,
    );
    expect(() => createRedisStore({ url: server.url, failFastAfterMs: -1 })).toThrow(
      /failFastAfterMs/,
    );
    expect(() => createRedisStore({ url: server.url, revocationTtlMs: 0 })).toThrow(
      /revocationTtlMs/,
    );
    expect(() => createRedisStore({ url: server.url, reconnectAfterMs: 0 })).toThrow(
      /reconnectAfterMs/,
    );
    expect(() =>
      createRedisStore({
        url: server.url,
        reconnectAfterMs: true as unknown as false,
      }),
    ).toThrow(/reconnectAfterMs/);
    expect(() => createRedisStore({ url: server.url, revocationCatchUpMs: -1 })).toThrow(
      /revocationCatchUpMs/,
    );
    expect(() =>
      createRedisStore({ url: server.url, now: 'now' as unknown as () => number }),
    ).toThrow(/now/);
  });
});

describe('a rolling upgrade from 0.1 (key layout 1), with upgradeFromV1', () => {
  /** What an instance of 0.1 kept under a prefix: no version, no partner in the keys. */
  const v1 = (prefix: string) => ({
    session: (hash: string) => `${prefix}ks:${hash}`,
    user: (userId: string) => `${prefix}user:${sha256(userId)}`,
    revoked: (userId: string) => `${prefix}revoked:${sha256(userId)}`,
    revocations: `${prefix}revocations`,
    cleared: `${prefix}cleared`,
    channel: `${prefix}revoke`,
  });

  it('revokes in layout 1 too, so instances still on 0.1 drop the user, and their writes are fenced', async () => {
    const prefix = uniquePrefix();
    const old = v1(prefix);
    const store = createRedisStore({
      revocationCatchUpMs: 0,
      url: server.url,
      keyPrefix: prefix,
      upgradeFromV1: true,
    });
    await store.ready;
    // An old instance's session of alice, its index, and its revocation count.
    await admin.set(old.session('h1'), encodeSession(testSession('alice', 'ks-old')));
    await admin.sAdd(old.user('alice'), 'h1');
    await admin.set(old.revocations, '4');
    const heard: string[] = [];
    const listener = createClient({ url: server.url });
    listener.on('error', () => {});
    await listener.connect();
    await listener.subscribe(old.channel, (message) => heard.push(message));
    try {
      await store.revoke(1, 'alice');
      expect(await admin.exists([old.session('h1'), old.user('alice')])).toBe(0);
      expect(await admin.get(old.revocations)).toBe('5');
      expect(await admin.get(old.revoked('alice'))).toBe('5');
      // What 0.1 reads from a revocation message: `from` and `userId`.
      await vi.waitFor(() => expect(heard).toHaveLength(1), poll);
      expect(JSON.parse(heard[0]!)).toMatchObject({ from: expect.any(String), userId: 'alice' });
      await store.revoke(1, null);
      expect(await admin.get(old.cleared)).toBe('6');
    } finally {
      listener.destroy();
      await store.close();
    }
  });

  it("applies a revocation heard from an instance still on 0.1 to layout 2's keys and to its issuers", async () => {
    const prefix = uniquePrefix();
    const upgraded = createRedisStore({
      revocationCatchUpMs: 0,
      url: server.url,
      keyPrefix: prefix,
      upgradeFromV1: true,
    });
    const [peer] = await fleetOf(1, prefix);
    await upgraded.ready;
    const heard: (string | null)[] = [];
    const unsubscribe = upgraded.onRevoke(1, (u) => heard.push(u));
    await put(peer!, key('alice'), testSession('alice', 'ks-1'), 60_000);
    await admin.publish(
      v1(prefix).channel,
      JSON.stringify({ from: 'an-old-instance', userId: 'alice' }),
    );
    await vi.waitFor(() => expect(heard).toEqual(['alice']), poll);
    await vi.waitFor(async () => expect(await read(peer!, key('alice'))).toBeUndefined(), poll);
    // Its own messages in layout 1 (and other upgraded stores') are not applied twice: once it
    // has heard a later one from 0.1, it has seen (and ignored) its own.
    await upgraded.revoke(1, 'bob');
    await admin.publish(
      v1(prefix).channel,
      JSON.stringify({ from: 'an-old-instance', userId: 'carol' }),
    );
    await vi.waitFor(() => expect(heard).toEqual(['alice', 'carol']), poll);
    unsubscribe();
    await Promise.all([upgraded.close(), peer!.close()]);
  });

  it('is refused with a cluster client (0.1 never ran on a cluster)', () => {
    const cluster = { sendCommand: async () => null, nodeClient: () => null } as never;
    expect(() =>
      createRedisStore({ revocationCatchUpMs: 0, client: cluster, upgradeFromV1: true }),
    ).toThrow(/upgradeFromV1/);
  });
});

describe('helpers', () => {
  it('rate-limits error reports per connection, counting what it held back', () => {
    let t = 1_000;
    const seen: [string, number][] = [];
    const report = rateLimitedReporter(
      (_e, info) => seen.push([info.connection, info.suppressed]),
      10_000,
      () => t,
    );
    report('commands', new Error('x'));
    report('commands', new Error('x'));
    report('subscriber', 'not an error');
    t += 9_999;
    report('commands', new Error('x'));
    t += 1;
    report('commands', new Error('x'));
    expect(seen).toEqual([
      ['commands', 0],
      ['subscriber', 0],
      ['commands', 2],
    ]);
  });

  it('decodes only well-formed sessions and encodes only their fields', () => {
    const session = testSession('alice', 'ks-1');
    expect(decodeSession(encodeSession(session))).toEqual(session);
    expect(decodeSession(Buffer.from(encodeSession(session)))).toEqual(session);
    expect(decodeSession(null)).toBeUndefined();
    expect(decodeSession('{')).toBeUndefined();
    expect(
      JSON.parse(encodeSession({ ...session, extra: 1 } as typeof session)),
    ).not.toHaveProperty('extra');
  });
});

/** Keeps the event loop busy for `ms`, as a CPU-bound burst of requests would. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

describe('what Redis answers is input', () => {
  /** Your own client, whose answers to the commands `tamper` picks are replaced by `reply`. */
  async function tamperedClient(tamper: (args: readonly string[]) => boolean, reply: unknown) {
    const real = createClient({ url: server.url, disableOfflineQueue: true });
    real.on('error', () => {});
    await real.connect();
    const client: RedisStoreClient = {
      get isReady() {
        return real.isReady;
      },
      sendCommand: async (args) => (tamper(args) ? reply : real.sendCommand(args as string[])),
      duplicate: () => real.duplicate(),
      on: (event: 'error' | 'ready', listener: never) => real.on(event, listener),
      off: (event: 'error' | 'ready', listener: never) => real.off(event, listener),
    };
    return { client, close: () => real.destroy() };
  }
  const script = (args: readonly string[]) => args[0] === 'EVALSHA' || args[0] === 'EVAL';

  it.each([
    ['a read', (store: RedisStore) => store.get(key('alice'))],
    ['a revocation of a user', (store: RedisStore) => store.revoke(1, 'alice')],
  ])('an unexpected reply to %s is a KsError (ERR_KS_RESPONSE)', async (_, call) => {
    const { client, close } = await tamperedClient(script, 'OK');
    const store = createRedisStore({ revocationCatchUpMs: 0, client, keyPrefix: uniquePrefix() });
    try {
      await store.ready;
      await expect(call(store)).rejects.toMatchObject({
        name: 'KsError',
        code: 'ERR_KS_RESPONSE',
      });
    } finally {
      await store.close();
      close();
    }
  });

  it('an unexpected reply to SCAN, revoking everything, is a KsError (ERR_KS_RESPONSE)', async () => {
    const { client, close } = await tamperedClient((args) => args[0] === 'SCAN', ['0']);
    const store = createRedisStore({ revocationCatchUpMs: 0, client, keyPrefix: uniquePrefix() });
    try {
      await store.ready;
      await expect(store.revoke(1, null)).rejects.toMatchObject({ code: 'ERR_KS_RESPONSE' });
    } finally {
      await store.close();
      close();
    }
  });
});
