import { verifyKs } from '@kaltura-ks/core';
import { describe, expect, it } from 'vitest';
import { createKsHandler, isKsError, toResponse } from './index.js';

const SECRET = 'fetch-adapter-admin-secret-0123456789';
const START = 1_800_000_000_000;

function setup(route?: string | false) {
  const seen: string[] = [];
  const kaltura = createKsHandler({
    partnerId: 4242,
    adminSecret: SECRET,
    route,
    now: () => START,
    getUser: (request) => {
      seen.push(new URL(request.url).pathname);
      const id = request.headers.get('x-user');
      return id === null ? null : { id };
    },
  });
  return { kaltura, seen };
}

const get = (path: string, init: RequestInit = {}) =>
  new Request(`https://app.example.com${path}`, init);

describe('createKsHandler', () => {
  it('answers the route with a KS for the user of the Request', async () => {
    const { kaltura } = setup();
    const res = await kaltura(get('/kaltura/ks', { headers: { 'x-user': 'alice' } }));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as { ks: string };
    expect(verifyKs(body.ks, { secrets: SECRET, now: () => START }).userId).toBe('alice');
    await kaltura.engine.close();
  });

  it('answers any other path with a bare 404, without asking who the user is', async () => {
    const { kaltura, seen } = setup();
    for (const path of ['/', '/kaltura/ks/', '/kaltura/ksx', '/other?x=/kaltura/ks']) {
      const res = await kaltura(get(path, { headers: { 'x-user': 'alice' } }));
      expect(res.status).toBe(404);
      expect(await res.text()).toBe('');
    }
    expect(seen).toEqual([]);
    const none = setup(false);
    expect((await none.kaltura(get('/kaltura/ks'))).status).toBe(404);
  });

  it('reads renew=1 from the query, wherever it stands', async () => {
    let t = START;
    const kaltura = createKsHandler({
      partnerId: 4242,
      adminSecret: SECRET,
      now: () => t,
      getUser: () => ({ id: 'bob' }),
    });
    const ks = async (path: string) =>
      ((await (await kaltura(get(path))).json()) as { ks: string }).ks;
    const first = await ks('/kaltura/ks');
    t += 10_000;
    expect(await ks('/kaltura/ks?renew=0')).toBe(first);
    expect(await ks('/kaltura/ks?x=1&renew=1')).not.toBe(first);
  });

  it('gives any Request the user and a lazy getKs(), sharing the route’s cache', async () => {
    const { kaltura } = setup();
    const page = await kaltura.context(get('/dashboard', { headers: { 'x-user': 'carol' } }));
    expect(page.user).toEqual({ id: 'carol' });
    const { ks } = await page.getKs();
    const route = await kaltura(get('/kaltura/ks', { headers: { 'x-user': 'carol' } }));
    expect(((await route.json()) as { ks: string }).ks).toBe(ks);
    const nobody = await kaltura.context(get('/dashboard'));
    await expect(nobody.getKs()).rejects.toSatisfy(
      (e) => isKsError(e) && e.code === 'ERR_KS_NO_USER',
    );
  });

  it('writes a 204 without a body, and rejects on what getUser throws', async () => {
    expect(await toResponse({ status: 204, headers: {}, body: '' }).text()).toBe('');
    const kaltura = createKsHandler({
      partnerId: 4242,
      adminSecret: SECRET,
      getUser: () => {
        throw new Error('session store down');
      },
    });
    await expect(kaltura(get('/kaltura/ks'))).rejects.toThrow('session store down');
  });

  it('validates options when created', () => {
    expect(() => createKsHandler({ partnerId: 4242, adminSecret: SECRET } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_KS_INVALID_OPTION' }),
    );
  });
});
