import { describe, expect, it } from 'vitest';
import { isKsError } from '../errors.js';
import { createMemoryStoreHub } from './memory-store.js';

const KEY = { partnerId: 1, userId: 'u', id: 'k' };

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
