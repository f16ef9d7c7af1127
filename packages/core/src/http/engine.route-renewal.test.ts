import { describe, expect, it } from 'vitest';
import { createKsIssuer, type KsIssuer } from '../issuer/issuer.js';
import { createKsEngine } from './engine.js';
import type { KalturaKsOptions } from './types.js';

/**
 * When the route mints a new KS (a page keeps what it gets for most of a lifetime, so it is
 * given one outside its renewal window; `renew=1` forces one), what shape of user it takes
 * from getUser, and that it answers a failure it has no status for by rejecting.
 */

const PARTNER = 4747;
const SECRET = 'engine-renewal-admin-secret-0123456789';
const GET = { method: 'GET', headers: {} };
const START = 1_700_000_000_000;
const HOUR = 3_600_000;

function setup(options: Partial<KalturaKsOptions<object>> = {}) {
  const clock = { t: START };
  const engine = createKsEngine<object>({
    partnerId: PARTNER,
    adminSecret: SECRET,
    getUser: () => ({ id: 'alice' }),
    now: () => clock.t,
    minForcedRefreshIntervalMs: 1_000,
    ...options,
  } as KalturaKsOptions<object>);
  const route = async (request: { method: string; headers: object; renew?: boolean } = GET) => {
    const answer = await engine.respond({}, await engine.context({}), request as never);
    expect(answer.status).toBe(200);
    return JSON.parse(answer.body).ks as string;
  };
  const serverKs = async () => (await (await engine.context({})).getKs()).ks;
  return { clock, engine, route, serverKs };
}

describe('the route gives a page a KS outside its renewal window', () => {
  it('at 75 % of a lifetime, server code is still served the cached KS, the route a new one', async () => {
    const { clock, engine, route, serverKs } = setup();
    const first = await route();
    clock.t += 0.75 * HOUR;
    expect(await serverKs()).toBe(first);
    const renewed = await route();
    expect(renewed).not.toBe(first);
    expect(await serverKs()).toBe(renewed);
    await engine.close();
  });

  it('before that window, the route serves the cached KS', async () => {
    const { clock, engine, route } = setup();
    const first = await route();
    clock.t += 0.5 * HOUR;
    expect(await route()).toBe(first);
    await engine.close();
  });
});

describe('only renew=1 forces a new KS', () => {
  it('a plain GET long past minForcedRefreshIntervalMs serves the cached KS; renew=1 mints', async () => {
    const { clock, engine, route } = setup();
    const first = await route();
    clock.t += 60_000;
    expect(await route()).toBe(first);
    expect(await route({ ...GET, renew: false })).toBe(first);
    const renewed = await route({ ...GET, renew: true });
    expect(renewed).not.toBe(first);
    await engine.close();
  });
});

describe('what getUser returns', () => {
  it('refuses a function, even one with a string id: ERR_KS_INVALID_OPTION', async () => {
    const found = Object.assign(() => null, { id: 'alice' });
    const { engine } = setup({ getUser: () => found as never });
    await expect(engine.context({})).rejects.toMatchObject({
      code: 'ERR_KS_INVALID_OPTION',
      message: 'getUser must return { id: string, … } or null',
    });
    await engine.close();
  });
});

describe('a failure the route has no answer for', () => {
  it('is a rejected promise, never a throw nor no answer, even when the issuer throws at once', async () => {
    const real = createKsIssuer({ partnerId: PARTNER, adminSecret: SECRET });
    const bug = new TypeError('a bug in the cache');
    const issuer: KsIssuer = {
      partnerId: real.partnerId,
      kind: 'throwing',
      minForcedRefreshIntervalMs: real.minForcedRefreshIntervalMs,
      clockOffsetMs: real.clockOffsetMs,
      getKs: (request, options) => real.getKs(request, options),
      getCachedKs: () => {
        throw bug;
      },
      peek: () => undefined,
      revoke: (userId, options) => real.revoke(userId, options),
      clear: () => real.clear(),
      size: 0,
      close: () => real.close(),
    };
    const engine = createKsEngine<object>({
      partnerId: PARTNER,
      issuer,
      getUser: () => ({ id: 'alice' }),
    });
    const context = await engine.context({});
    let answer: unknown;
    expect(() => {
      answer = engine.respond({}, context, GET);
    }).not.toThrow();
    expect(answer).toBeInstanceOf(Promise);
    await expect(answer).rejects.toBe(bug);
    await real.close();
  });
});
