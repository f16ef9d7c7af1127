import { afterEach, describe, expect, it, vi } from 'vitest';
import { KsError } from '../errors.js';
import { createKsIssuer, type KsIssuer } from './issuer.js';
import { createMemoryStoreHub } from './memory-store.js';
import type { KsMinter } from './minter.js';
import type { KsSharedStore } from './store.js';
import type { KsIssuerEvent, KsSession } from './types.js';

const START = 1_700_000_000_000;

/** A fleet of issuers sharing one store hub, each counting its own mints. */
function fleet(
  size: number,
  options: {
    hold?: boolean;
    /** What issuer `i` is given instead of its store (to hold calls back at chosen points). */
    wrap?: (store: KsSharedStore, i: number) => KsSharedStore;
  } = {},
) {
  let t = START;
  const now = () => t;
  const hub = createMemoryStoreHub(now);
  let n = 0;
  let release: () => void = () => {};
  let gate = options.hold ? new Promise<void>((r) => (release = r)) : undefined;
  let hang = false;
  const mints: number[] = Array(size).fill(0);
  const events: KsIssuerEvent[][] = [];
  const issuers: KsIssuer[] = [];
  for (let i = 0; i < size; i++) {
    const minter: KsMinter = {
      kind: 'counted',
      async mint(request) {
        mints[i]!++;
        if (gate) await gate;
        if (hang) return new Promise<KsSession>(() => {});
        n++;
        return {
          ks: `ks-${n}`,
          partnerId: 1,
          userId: request.userId,
          type: request.type,
          privileges: request.privileges,
          issuedAt: now(),
          expiresAt: now() + 3_600_000,
        };
      },
    };
    const log: KsIssuerEvent[] = [];
    events.push(log);
    issuers.push(
      createKsIssuer({
        partnerId: 1,
        minter,
        store: options.wrap?.(hub.store(), i) ?? hub.store(),
        now,
        onEvent: (e) => log.push(e),
        lockWaitMs: 1_000,
        storeTimeoutMs: 100,
      }),
    );
  }
  return {
    hub,
    issuers,
    events,
    mints,
    total: () => mints.reduce((a, b) => a + b, 0),
    advance: (ms: number) => {
      t += ms;
    },
    release: () => {
      gate = undefined;
      release();
    },
    hang: (value: boolean) => {
      hang = value;
    },
  };
}

/** A store whose revocation broadcasts reach its issuer only once `deliver()` is called. */
function lateBroadcasts() {
  const held: (() => void)[] = [];
  let holding = true;
  return {
    wrap: (store: KsSharedStore): KsSharedStore => ({
      ...store,
      onRevoke: (listener) =>
        store.onRevoke((userId) => {
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

afterEach(() => {
  vi.useRealTimers();
});

describe('a fleet of issuers sharing a store', () => {
  it('serves a KS minted by one instance from every other (no second mint)', async () => {
    const f = fleet(3);
    const a = await f.issuers[0]!.getKs({ userId: 'u' });
    const b = await f.issuers[1]!.getKs({ userId: 'u' });
    const c = await f.issuers[2]!.getKs({ userId: 'u' });
    expect(b.ks).toBe(a.ks);
    expect(c.ks).toBe(a.ks);
    expect(f.total()).toBe(1);
    expect(f.events[1]!.some((e) => e.type === 'shared-hit')).toBe(true);
  });

  it('concurrent misses across instances cause one mint (fleet-wide single flight)', async () => {
    const f = fleet(4, { hold: true });
    const all = f.issuers.flatMap((issuer) =>
      Array.from({ length: 25 }, () => issuer.getKs({ userId: 'cold' })),
    );
    await vi.waitFor(() => expect(f.total()).toBe(1));
    f.release();
    const sessions = await Promise.all(all);
    expect(new Set(sessions.map((s) => s.ks)).size).toBe(1);
    expect(f.total()).toBe(1);
  });

  it('renews once for the whole fleet when the KS reaches its renewal point', async () => {
    const f = fleet(3);
    for (const issuer of f.issuers) await issuer.getKs({ userId: 'u' });
    f.advance(2_900_000);
    const renewed = await Promise.all(
      f.issuers.map((issuer) => issuer.getKs({ userId: 'u' }, { fresh: true })),
    );
    expect(new Set(renewed.map((s) => s.ks))).toEqual(new Set(['ks-2']));
    expect(f.total()).toBe(2);
  });

  it('revoking on one instance evicts the user on every instance', async () => {
    const f = fleet(3);
    for (const issuer of f.issuers) await issuer.getKs({ userId: 'alice' });
    await f.issuers[0]!.getKs({ userId: 'bob' });
    await f.issuers[1]!.revoke('alice');
    for (const issuer of f.issuers) expect(issuer.peek({ userId: 'alice' })).toBeUndefined();
    expect(f.issuers[0]!.peek({ userId: 'bob' })).toBeDefined();
    const again = await f.issuers[2]!.getKs({ userId: 'alice' });
    expect(again.ks).not.toBe('ks-1');
    await f.issuers[0]!.clear();
    for (const issuer of f.issuers) expect(issuer.size).toBe(0);
  });

  it('a mint in flight when another instance revoked the user is neither written nor kept, even if the broadcast comes late', async () => {
    const late = lateBroadcasts();
    const f = fleet(3, { hold: true, wrap: (store, i) => (i === 0 ? late.wrap(store) : store) });
    const pending = f.issuers[0]!.getKs({ userId: 'alice' });
    await vi.waitFor(() => expect(f.mints[0]).toBe(1)); // A is minting
    await f.issuers[1]!.revoke('alice'); // the store has it; A has not heard yet
    f.release(); // A's mint ends and A writes it: after the revocation
    expect((await pending).ks).toBe('ks-1'); // to the callers that were already waiting only
    expect(f.hub.size).toBe(0);
    expect(f.issuers[0]!.peek({ userId: 'alice' })).toBeUndefined();
    expect((await f.issuers[2]!.getKs({ userId: 'alice' })).ks).toBe('ks-2');
    late.deliver();
    expect((await f.issuers[1]!.getKs({ userId: 'alice' })).ks).toBe('ks-2');
    expect(f.total()).toBe(2);
  });

  it('a mint in flight when another instance cleared everything is neither written nor kept', async () => {
    const late = lateBroadcasts();
    const f = fleet(3, { hold: true, wrap: (store, i) => (i === 0 ? late.wrap(store) : store) });
    const pending = f.issuers[0]!.getKs({ userId: 'alice' });
    await vi.waitFor(() => expect(f.mints[0]).toBe(1));
    await f.issuers[1]!.clear();
    f.release();
    expect((await pending).ks).toBe('ks-1');
    expect(f.hub.size).toBe(0);
    expect(f.issuers[0]!.peek({ userId: 'alice' })).toBeUndefined();
    expect((await f.issuers[2]!.getKs({ userId: 'alice' })).ks).toBe('ks-2');
    late.deliver();
    expect((await f.issuers[1]!.getKs({ userId: 'alice' })).ks).toBe('ks-2');
    expect(f.total()).toBe(2);
  });

  it('treats a store whose get gives no fence as failing: reports it and mints alone', async () => {
    const events: KsIssuerEvent[] = [];
    const base = createMemoryStoreHub(() => START).store();
    let writes = 0;
    const issuer = createKsIssuer({
      partnerId: 1,
      adminSecret: 'secret',
      now: () => START,
      onEvent: (e) => events.push(e),
      store: {
        ...base,
        // An implementation written against the old interface.
        get: async (key) => (await base.get(key)).session as never,
        set: async (...args) => {
          writes++;
          return base.set(...args);
        },
      },
    });
    await issuer.getKs({ userId: 'u' });
    expect(writes).toBe(0);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'store-error',
        operation: 'get',
        error: expect.objectContaining({ code: 'ERR_KS_INVALID_OPTION' }),
      }),
    );
  });

  it('takes over when the lock holder crashed: waits lockWaitMs, then mints itself', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const f = fleet(2);
    f.hang(true);
    const crashed = f.issuers[0]!.getKs({ userId: 'u' }).catch((e: unknown) => e); // holds the lock, never answers
    await vi.advanceTimersByTimeAsync(0);
    f.hang(false);
    const waiting = f.issuers[1]!.getKs({ userId: 'u' });
    await vi.advanceTimersByTimeAsync(1_000 + 100);
    expect((await waiting).ks).toBe('ks-1');
    expect(f.mints).toEqual([1, 1]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await crashed).toBeInstanceOf(KsError);
  });

  it('reports each store call that succeeded (store-call), and each that failed (store-error)', async () => {
    const f = fleet(1);
    await f.issuers[0]!.getKs({ userId: 'u' });
    const calls = () => f.events[0]!.flatMap((e) => (e.type === 'store-call' ? [e.operation] : []));
    // get, lock, get again under the lock, set; unlock runs after the mint resolves.
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls()).toEqual(['get', 'lock', 'get', 'set', 'unlock']);
    expect(f.events[0]!.find((e) => e.type === 'store-call')).toEqual({
      type: 'store-call',
      operation: 'get',
      durationMs: 0,
    });
    f.hub.setFailing(true);
    await f.issuers[0]!.getKs({ userId: 'v' });
    expect(calls()).toHaveLength(5);
    expect(f.events[0]!.filter((e) => e.type === 'store-error').map((e) => e.type)).toEqual([
      'store-error',
    ]);
  });

  it('goes on alone when the store is down, reporting it, and uses the store again once it is back', async () => {
    const f = fleet(2);
    f.hub.setFailing(true);
    const a = await f.issuers[0]!.getKs({ userId: 'u' });
    const b = await f.issuers[1]!.getKs({ userId: 'u' });
    expect(a.ks).not.toBe(b.ks); // each minted its own
    expect(f.events[0]!.some((e) => e.type === 'store-error' && e.operation === 'get')).toBe(true);
    f.hub.setFailing(false);
    const c = await f.issuers[0]!.getKs({ userId: 'v' });
    expect((await f.issuers[1]!.getKs({ userId: 'v' })).ks).toBe(c.ks);
  });

  it('a store that hangs costs at most storeTimeoutMs per call, never the request', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const f = fleet(1);
    const store = f.hub.store();
    const stuck = { ...store, get: () => new Promise<never>(() => {}) };
    const issuer = createKsIssuer({
      partnerId: 1,
      store: stuck,
      storeTimeoutMs: 100,
      minter: {
        kind: 'x',
        mint: async (r) => ({
          ks: 'solo',
          partnerId: 1,
          userId: r.userId,
          type: 0,
          privileges: '',
          issuedAt: START,
          expiresAt: START + 3_600_000,
        }),
      },
      now: () => START,
    });
    const pending = issuer.getKs({ userId: 'u' });
    await vi.advanceTimersByTimeAsync(100);
    expect((await pending).ks).toBe('solo');
  });
});

describe('a fleet sharing a store: races and events', () => {
  it('reports a KS taken from the store as a shared-hit, never as a mint', async () => {
    const f = fleet(2);
    await f.issuers[0]!.getKs({ userId: 'u' });
    await f.issuers[1]!.getKs({ userId: 'u' });
    const types = (i: number) => f.events[i]!.map((e) => e.type);
    expect(types(0).filter((t) => t === 'mint')).toHaveLength(1);
    expect(types(1)).toContain('shared-hit');
    expect(types(1)).not.toContain('mint');
  });

  it.each([
    [
      'revoke(userId) on the minting instance',
      (f: ReturnType<typeof fleet>) => f.issuers[0]!.revoke('u'),
    ],
    [
      'revoke(userId) on another instance',
      (f: ReturnType<typeof fleet>) => f.issuers[1]!.revoke('u'),
    ],
    ['clear() on another instance', (f: ReturnType<typeof fleet>) => f.issuers[1]!.clear()],
  ])(
    'a mint in flight during %s is written neither to the store nor to the cache',
    async (_, revoke) => {
      const f = fleet(2, { hold: true });
      const inFlight = f.issuers[0]!.getKs({ userId: 'u' });
      await vi.waitFor(() => expect(f.total()).toBe(1));
      await revoke(f);
      f.release();
      await inFlight;
      expect(f.hub.size).toBe(0);
      expect(f.issuers[0]!.peek({ userId: 'u' })).toBeUndefined();
      // The next request mints anew instead of taking the revoked one (from the flight or the store).
      const again = await f.issuers[1]!.getKs({ userId: 'u' });
      expect(again.ks).not.toBe((await inFlight).ks);
      expect(f.total()).toBe(2);
    },
  );

  it('after a crashed holder lets go, one waiter takes the lock over and the others wait for it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const f = fleet(4);
    f.hang(true);
    const crashed = f.issuers[0]!.getKs({ userId: 'u' }).catch((e: unknown) => e); // holds the lock
    await vi.advanceTimersByTimeAsync(0);
    f.hang(false);
    const waiting = f.issuers.slice(1).map((issuer) => issuer.getKs({ userId: 'u' }));
    await vi.advanceTimersByTimeAsync(0); // every other instance is waiting for the holder
    expect(f.total()).toBe(1);
    f.hub.expireLocks(); // the holder's lock lapses
    await vi.advanceTimersByTimeAsync(0);
    const sessions = await Promise.all(waiting);
    expect(new Set(sessions.map((s) => s.ks))).toEqual(new Set(['ks-1']));
    expect(f.total()).toBe(2); // the crashed mint and one more, not one per waiter
    const events = f.events.slice(1).flat();
    expect(events.filter((e) => e.type === 'mint')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'shared-hit')).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await crashed).toBeInstanceOf(KsError);
  });

  it('keeps a KS in the store only while the issuer would hand it out (expiry − minRemainingMs)', async () => {
    const hub = createMemoryStoreHub(() => START);
    const ttls: number[] = [];
    const base = hub.store();
    const store: KsSharedStore = {
      ...base,
      set: (key, session, ttlMs, userId, fence) => {
        ttls.push(ttlMs);
        return base.set(key, session, ttlMs, userId, fence);
      },
    };
    const issuer = createKsIssuer({
      partnerId: 1,
      store,
      now: () => START,
      minRemainingMs: 30_000,
      minter: {
        kind: 'x',
        mint: async (r) => ({
          ks: 'k',
          partnerId: 1,
          userId: r.userId,
          type: 0,
          privileges: '',
          issuedAt: START,
          expiresAt: START + 3_600_000,
        }),
      },
    });
    await issuer.getKs({ userId: 'u' });
    expect(ttls).toEqual([3_600_000 - 30_000]);
  });
});

describe('the in-memory store', () => {
  const session = (ks: string): KsSession => ({
    ks,
    partnerId: 1,
    userId: 'u',
    type: 0,
    privileges: '',
    issuedAt: START,
    expiresAt: START + 3_600_000,
  });

  it('waitFor does not miss a write that lands while it starts', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const hub = createMemoryStoreHub(() => START);
    const [a, b] = [hub.store(), hub.store()];
    await a.lock('k', 60_000);
    const { fence } = await a.get('k');
    const waiting = b.waitFor('k', () => true, 1_000, new AbortController().signal);
    await a.set('k', session('ks-new'), 60_000, 'u', fence);
    await vi.advanceTimersByTimeAsync(1_000);
    expect((await waiting)?.ks).toBe('ks-new');
  });

  it('waitFor returns at once when the signal has already aborted', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const hub = createMemoryStoreHub(() => START);
    const [a, b] = [hub.store(), hub.store()];
    await a.lock('k', 60_000);
    const controller = new AbortController();
    controller.abort();
    let settled = false;
    const waiting = b
      .waitFor('k', () => true, 60_000, controller.signal)
      .finally(() => {
        settled = true;
      });
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(true);
    expect(await waiting).toBeUndefined();
  });

  it('waitFor stops, empty-handed, once the lock is released without a session', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const hub = createMemoryStoreHub(() => START);
    const [a, b] = [hub.store(), hub.store()];
    const release = await a.lock('k', 60_000);
    let settled = false;
    const waiting = b
      .waitFor('k', () => true, 60_000, new AbortController().signal)
      .finally(() => {
        settled = true;
      });
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false);
    await release!();
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(true);
    expect(await waiting).toBeUndefined();
  });
});
