import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKsIssuer } from '../issuer/issuer.js';
import { createMemoryStoreHub } from '../issuer/memory-store.js';
import { createKsEngine } from './engine.js';
import type { KalturaKsOptions } from './types.js';

/**
 * What createKsEngine takes and refuses when it is made, where its warnings go by default,
 * and what closing it asks of the store it was given.
 */

const PARTNER = 4646;
const SECRET = 'engine-creation-admin-secret-0123456789';
const GET = { method: 'GET', headers: {} };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('createKsEngine options that are not an object', () => {
  it.each([
    ['a string', 'getUser'],
    ['a number', 42],
    ['a function', () => ({ id: 'alice' })],
  ])('refuses %s as its options, with ERR_KS_INVALID_OPTION', (_, options) => {
    expect(() => createKsEngine<object>(options as never)).toThrow(
      expect.objectContaining({
        code: 'ERR_KS_INVALID_OPTION',
        message: 'kalturaKs needs options',
      }),
    );
  });
});

describe('the partnerId next to an issuer', () => {
  const issuerOf = () => createKsIssuer({ partnerId: PARTNER, adminSecret: SECRET });

  it("may be left out: the KS is the issuer's partner's", async () => {
    const issuer = issuerOf();
    const engine = createKsEngine<object>({
      issuer,
      getUser: () => ({ id: 'alice' }),
    } as unknown as KalturaKsOptions<object>);
    const answer = await engine.respond({}, await engine.context({}), GET);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ partnerId: PARTNER, userId: 'alice' });
    await issuer.close();
  });

  it("is taken when it is the issuer's, and refused, naming it, when it differs", async () => {
    const issuer = issuerOf();
    expect(createKsEngine<object>({ partnerId: PARTNER, issuer, getUser: () => null }).issuer).toBe(
      issuer,
    );
    expect(() =>
      createKsEngine<object>({ partnerId: PARTNER + 1, issuer, getUser: () => null }),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_KS_INVALID_OPTION',
        message: "partnerId differs from the issuer's partnerId",
      }),
    );
    await issuer.close();
  });
});

describe('warnings without onWarning', () => {
  it('go to process.emitWarning with the code KALTURA_KS', () => {
    const emitted = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    createKsEngine<object>({
      partnerId: PARTNER,
      adminSecret: SECRET,
      getUser: () => null,
      allowAdminKs: true,
    });
    expect(emitted).toHaveBeenCalledWith(expect.stringContaining('allowAdminKs is on'), {
      code: 'KALTURA_KS',
    });
  });
});

describe('closing an engine whose store has no close()', () => {
  it('closes the issuer and resolves: close() is optional on a store', async () => {
    const store = createMemoryStoreHub().store();
    expect('close' in store).toBe(false);
    const engine = createKsEngine<object>({
      partnerId: PARTNER,
      adminSecret: SECRET,
      store,
      getUser: () => ({ id: 'alice' }),
    });
    await engine.respond({}, await engine.context({}), GET);
    expect(engine.issuer.size).toBe(1);
    await expect(engine.close()).resolves.toBeUndefined();
    expect(engine.issuer.size).toBe(0);
  });
});
