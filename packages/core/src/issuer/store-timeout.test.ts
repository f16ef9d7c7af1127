// storeTimeoutMs bounds the store, not this process: a long turn of the event loop is not a slow store.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKsIssuer } from './issuer.js';
import { createMemoryStoreHub } from './memory-store.js';
import type { KsSharedStore } from './store.js';
import type { KsIssuerEvent } from './types.js';

const START = 1_700_000_000_000;
const SECRET = 'store-timeout-test-admin-secret0';

afterEach(() => {
  vi.useRealTimers();
});

/** The next turns of the event loop: Redis answers a command once it is written (setImmediate). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** An issuer on `store` with a 100 ms storeTimeoutMs, every event recorded. */
function issuerOn(store: KsSharedStore) {
  const events: KsIssuerEvent[] = [];
  const issuer = createKsIssuer({
    partnerId: 1,
    adminSecret: SECRET,
    store,
    storeTimeoutMs: 100,
    now: () => START,
    onEvent: (event) => events.push(event),
  });
  return { issuer, events };
}

describe('storeTimeoutMs', () => {
  it('starts once the turn of the event loop that called the store is over', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const inner = createMemoryStoreHub(() => START).store();
    const store: KsSharedStore = {
      ...inner,
      // As a network store: the command is written when this turn is over and answered in a
      // later one. Meanwhile this turn goes on past the bound (a burst of a cold storm's
      // requests, each asking the store): the store has not even been asked yet.
      get(key) {
        queueMicrotask(() => vi.advanceTimersByTime(500));
        return turn()
          .then(turn)
          .then(() => inner.get(key));
      },
    };
    const { issuer, events } = issuerOn(store);
    await issuer.getKs({ userId: 'alice' });
    expect(events.filter((event) => event.type === 'store-error')).toEqual([]);
    // The issuer did not go on alone: it took the lock, and wrote the KS it minted to the store.
    const calls = events.flatMap((event) => (event.type === 'store-call' ? [event.operation] : []));
    expect(calls).toEqual(expect.arrayContaining(['get', 'lock', 'set']));
    await issuer.close();
  });

  it('still gives up on a store that does not answer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const inner = createMemoryStoreHub(() => START).store();
    const store: KsSharedStore = { ...inner, get: () => new Promise(() => {}) };
    const { issuer, events } = issuerOn(store);
    const pending = issuer.getKs({ userId: 'alice' });
    await turn();
    await vi.advanceTimersByTimeAsync(99);
    expect(events.filter((event) => event.type === 'store-error')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await turn();
    expect((await pending).userId).toBe('alice');
    const errors = events.filter((event) => event.type === 'store-error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ operation: 'get', error: { code: 'ERR_KS_TIMEOUT' } });
    await issuer.close();
  });
});
