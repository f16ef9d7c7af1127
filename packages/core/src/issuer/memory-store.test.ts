// The contract every store meets runs against this hub (and Redis) in
// packages/testing/src/shared-store; these are the hub's own timing cases.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isKsError } from '../errors.js';
import { createMemoryStoreHub } from './memory-store.js';
import type { KsStoreKey } from './store.js';
import type { KsSession } from './types.js';

const START = 1_700_000_000_000;
const PARTNER = 1;
const KEY = { partnerId: PARTNER, userId: 'u', id: 'k' };

afterEach(() => {
  vi.useRealTimers();
});

describe('the in-memory store', () => {
  const key: KsStoreKey = { partnerId: PARTNER, userId: 'u', id: 'k' };
  const session = (ks: string): KsSession => ({
    ks,
    partnerId: PARTNER,
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
    await a.lock(key, 60_000);
    const { fence } = await a.get(key);
    const waiting = b.waitFor(key, () => true, 1_000, new AbortController().signal);
    await a.set(key, session('ks-new'), 60_000, fence);
    await vi.advanceTimersByTimeAsync(1_000);
    expect((await waiting)?.ks).toBe('ks-new');
  });

  it('waitFor returns at once when the signal has already aborted', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const hub = createMemoryStoreHub(() => START);
    const [a, b] = [hub.store(), hub.store()];
    await a.lock(key, 60_000);
    const controller = new AbortController();
    controller.abort();
    let settled = false;
    const waiting = b
      .waitFor(key, () => true, 60_000, controller.signal)
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
    const release = await a.lock(key, 60_000);
    let settled = false;
    const waiting = b
      .waitFor(key, () => true, 60_000, new AbortController().signal)
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

describe('the memory store', () => {
  it('fails as a store does: a KsError ERR_KS_UNAVAILABLE, not a plain Error', async () => {
    const hub = createMemoryStoreHub(() => 1_800_000_000_000);
    const store = hub.store();
    hub.setFailing(true);
    const error = await store.get(KEY).catch((e: unknown) => e);
    expect(isKsError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'ERR_KS_UNAVAILABLE' });
    hub.setFailing(false);
    await expect(store.get(KEY)).resolves.toBeDefined();
  });
});
