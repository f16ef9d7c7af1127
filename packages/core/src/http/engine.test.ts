import { describe, expect, it, vi } from 'vitest';
import { createKsIssuer } from '../issuer/issuer.js';
import { createMemoryStoreHub } from '../issuer/memory-store.js';
import { createKsEngine } from './engine.js';
import type { KsRouteBody, KsUser } from './types.js';

const START = 1_700_000_000_000;

function setup(getUser: () => KsUser | null) {
  let time = START;
  const engine = createKsEngine<object>({
    partnerId: 4242,
    adminSecret: 'engine-test-admin-secret-0123456789',
    privileges: 'sview:*',
    appId: 'app.example.com',
    getUser,
    now: () => time,
  });
  const get = async () => {
    const context = await engine.context({});
    const answer = await engine.respond({}, context, { method: 'GET', headers: {} });
    return { answer, body: JSON.parse(answer.body) as KsRouteBody };
  };
  return { get, tick: (ms: number) => (time += ms) };
}

describe('the route body, serialized once per cached session', () => {
  it('answers the same session with the current serverTime, in the documented field order', async () => {
    const { get, tick } = setup(() => ({ id: 'alice' }));
    const first = await get();
    tick(1_234);
    const second = await get();
    expect(second.body.ks).toBe(first.body.ks);
    expect(first.body.serverTime).toBe(START);
    expect(second.body.serverTime).toBe(START + 1_234);
    const { serverTime: _, ...rest } = second.body;
    expect(second.answer.body).toBe(JSON.stringify({ ...rest, serverTime: START + 1_234 }));
    expect(Object.keys(second.body)).toEqual([
      'ks',
      'partnerId',
      'userId',
      'type',
      'privileges',
      'expiresAt',
      'renewableAt',
      'serverTime',
    ]);
  });

  it('says from when ?renew=1 gives a new KS (minForcedRefreshIntervalMs after the mint)', async () => {
    let time = START;
    const engine = createKsEngine<object>({
      partnerId: 4242,
      adminSecret: 'engine-test-admin-secret-0123456789',
      getUser: () => ({ id: 'alice' }),
      minForcedRefreshIntervalMs: 5_000,
      now: () => time,
    });
    const renew = async () => {
      const answer = await engine.respond({}, await engine.context({}), {
        method: 'GET',
        headers: {},
        renew: true,
      });
      return JSON.parse(answer.body) as KsRouteBody;
    };
    const first = await renew();
    expect(first.renewableAt).toBe(START + 5_000);
    time += 4_999;
    expect(await renew()).toMatchObject({ ks: first.ks, renewableAt: START + 5_000 });
    time += 1;
    const second = await renew();
    expect(second.ks).not.toBe(first.ks);
    expect(second.renewableAt).toBe(time + 5_000);
    await engine.close();
  });

  it('escapes what the user id holds, as JSON.stringify does', async () => {
    const { get } = setup(() => ({ id: 'a"b\\c</script>é' }));
    const { body } = await get();
    expect(body.userId).toBe('a"b\\c</script>é');
  });

  it('adds the user’s own privileges to the static ones and the appid', async () => {
    const { get } = setup(() => ({ id: 'bob', privileges: { edit: 'entry-1' } }));
    const { body } = await get();
    expect(body.privileges).toBe('sview:*,edit:entry-1,appid:app.example.com');
  });
});

describe('an engine given an issuer of its own', () => {
  const make = () =>
    createKsIssuer({ partnerId: 4242, adminSecret: 'engine-test-admin-secret-0123456789' });

  it('serves from that issuer, and leaves it open when the engine closes', async () => {
    const issuer = make();
    const engine = createKsEngine<object>({
      partnerId: 4242,
      issuer,
      getUser: () => ({ id: 'alice' }),
    });
    const answer = await engine.respond({}, await engine.context({}), {
      method: 'GET',
      headers: {},
    });
    expect(answer.status).toBe(200);
    expect(issuer.size).toBe(1);
    await engine.close();
    expect((await issuer.getKs({ userId: 'bob' })).userId).toBe('bob');
    await issuer.close();
  });

  it.each([
    ['max', { max: 10 }],
    ['expiresInSeconds', { expiresInSeconds: 60 }],
    ['onEvent', { onEvent: () => {} }],
    ['store', { store: {} }],
  ])('refuses %s next to it, instead of ignoring it', (name, extra) => {
    const issuer = make();
    expect(() =>
      createKsEngine<object>({
        partnerId: 4242,
        issuer,
        getUser: () => null,
        ...(extra as object),
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_KS_INVALID_OPTION',
        message: expect.stringContaining(name),
      }),
    );
  });

  it("refuses a partnerId other than the issuer's", () => {
    expect(() =>
      createKsEngine<object>({ partnerId: 1, issuer: make(), getUser: () => null }),
    ).toThrow(expect.objectContaining({ code: 'ERR_KS_INVALID_OPTION' }));
  });
});

describe('closing the engine', () => {
  it('closes the issuer it made and then the store given in its options; a mint in flight is answered at once', async () => {
    const order: string[] = [];
    const hub = createMemoryStoreHub();
    const store = { ...hub.store(), close: async () => void order.push('store') };
    let minting: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      minting = resolve;
    });
    const engine = createKsEngine<object>({
      partnerId: 4242,
      store,
      mintTimeoutMs: 600_000,
      // Never answers, and ignores its abort signal: the worst a minter can do.
      minter: {
        kind: 'stuck',
        mint: () => {
          minting();
          return new Promise(() => {});
        },
        close: async () => void order.push('minter'),
      },
      getUser: () => ({ id: 'alice' }),
    });
    const answer = engine.respond({}, await engine.context({}), { method: 'GET', headers: {} });
    await started;
    await engine.close();
    expect(await answer).toMatchObject({ status: 503 });
    expect(order).toEqual(['minter', 'store']);
  });

  it('leaves the store of an issuer it was given to whoever made it', async () => {
    let closed = 0;
    const store = { ...createMemoryStoreHub().store(), close: async () => void closed++ };
    const issuer = createKsIssuer({
      partnerId: 4242,
      adminSecret: 'engine-test-admin-secret-0123456789',
      store,
    });
    const engine = createKsEngine<object>({ partnerId: 4242, issuer, getUser: () => null });
    await engine.close();
    await issuer.close();
    expect(closed).toBe(0);
  });

  it("context.revoke returns the issuer's answer; with nobody signed in, nothing was to do", async () => {
    const engine = createKsEngine<object>({
      partnerId: 4242,
      adminSecret: 'engine-test-admin-secret-0123456789',
      getUser: (req: { user?: string }) => (req.user ? { id: req.user } : null),
    });
    const alice = await engine.context({ user: 'alice' });
    await alice.getKs();
    expect(await alice.revoke()).toEqual({ revoked: 1, ended: 0, reach: 'fleet' });
    expect(await (await engine.context({})).revoke()).toEqual({
      revoked: 0,
      ended: 0,
      reach: 'fleet',
    });
    await engine.close();
  });
});

describe('the route answers a warm cache without a promise', () => {
  it('returns the answer itself from a warm cache, a promise otherwise, the same either way', async () => {
    const engine = createKsEngine<object>({
      partnerId: 4242,
      adminSecret: 'engine-test-admin-secret-0123456789',
      privileges: 'sview:*',
      getUser: () => ({ id: 'alice' }),
    });
    const ctx = engine.context({});
    expect(ctx).not.toBeInstanceOf(Promise);
    const get = { method: 'GET', headers: {} };
    const cold = engine.respond({}, ctx as Exclude<typeof ctx, Promise<unknown>>, get);
    expect(cold).toBeInstanceOf(Promise);
    const first = await cold;
    const warm = engine.respond({}, await ctx, get);
    expect(warm).not.toBeInstanceOf(Promise);
    expect((warm as typeof first).status).toBe(200);
    expect(JSON.parse((warm as typeof first).body).ks).toBe(JSON.parse(first.body).ks);
    // Whatever is not a plain warm GET takes the full path, with its checks.
    const crossSite = await engine.respond({}, await ctx, {
      method: 'GET',
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
    await engine.close();
  });

  it('an async getUser still gets a promise, and a throwing one a rejection', async () => {
    const engine = createKsEngine<object>({
      partnerId: 4242,
      adminSecret: 'engine-test-admin-secret-0123456789',
      getUser: async () => ({ id: 'alice' }),
    });
    expect(engine.context({})).toBeInstanceOf(Promise);
    const throwing = createKsEngine<object>({
      partnerId: 4242,
      adminSecret: 'engine-test-admin-secret-0123456789',
      getUser: () => {
        throw new Error('session store down');
      },
    });
    await expect(throwing.context({})).rejects.toThrow('session store down');
    await Promise.all([engine.close(), throwing.close()]);
  });
});

describe('the route, given Fetch API headers', () => {
  it('reads Sec-Fetch-Site from a Headers object as from a Node record', async () => {
    const engine = createKsEngine<object>({
      partnerId: 4242,
      adminSecret: 'engine-test-admin-secret-0123456789',
      getUser: () => ({ id: 'alice' }),
      now: () => START,
    });
    const context = await engine.context({});
    const cross = new Headers({ 'Sec-Fetch-Site': 'cross-site' });
    expect((await engine.respond({}, context, { method: 'GET', headers: cross })).status).toBe(403);
    const same = new Headers({ 'Sec-Fetch-Site': 'same-origin' });
    expect((await engine.respond({}, context, { method: 'GET', headers: same })).status).toBe(200);
    await engine.close();
  });
});

describe('handle: one request through the engine', () => {
  const options = {
    partnerId: 4242,
    adminSecret: 'engine-test-admin-secret-0123456789',
    privileges: 'sview:*',
  };
  const get = { method: 'GET', headers: {} };

  it('calls then(context) off the route, and then(context, answer) on it; at once from a warm cache', async () => {
    const engine = createKsEngine<{ user?: string }>({
      ...options,
      getUser: (req) => (req.user ? { id: req.user } : null),
    });
    const off = engine.handle({ user: 'alice' }, undefined, (context, answer) => ({
      context,
      answer,
    }));
    expect(off).not.toBeInstanceOf(Promise);
    expect((off as Awaited<typeof off>).context.user).toEqual({ id: 'alice' });
    expect((off as Awaited<typeof off>).answer).toBeUndefined();
    const cold = engine.handle({ user: 'alice' }, get, (_, answer) => answer!);
    expect(cold).toBeInstanceOf(Promise);
    const first = await cold;
    const warm = engine.handle({ user: 'alice' }, get, (_, answer) => answer!);
    expect(warm).not.toBeInstanceOf(Promise);
    expect(JSON.parse((warm as typeof first).body).ks).toBe(JSON.parse(first.body).ks);
    // Nobody signed in: the route's 401, and a context whose getKs() refuses.
    const nobody = await engine.handle({}, get, (context, answer) => ({ context, answer }));
    expect(nobody.answer?.status).toBe(401);
    expect(JSON.parse(nobody.answer!.body).error.code).toBe('ERR_KS_NO_USER');
    await expect(nobody.context.getKs()).rejects.toMatchObject({ code: 'ERR_KS_NO_USER' });
    await engine.close();
  });

  it('never throws: what getUser or then throws rejects', async () => {
    const engine = createKsEngine<object>({
      ...options,
      getUser: () => {
        throw new Error('session store down');
      },
    });
    const then = vi.fn();
    const done = engine.handle({}, get, then);
    await expect(done).rejects.toThrow('session store down');
    expect(then).not.toHaveBeenCalled();
    const other = createKsEngine<object>({ ...options, getUser: () => null });
    await expect(
      other.handle({}, undefined, () => {
        throw new Error('the adapter failed');
      }),
    ).rejects.toThrow('the adapter failed');
    await Promise.all([engine.close(), other.close()]);
  });
});
