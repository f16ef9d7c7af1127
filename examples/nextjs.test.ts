import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExampleKaltura, startKaltura } from './kaltura.js';

/**
 * The Next.js recipe without a Next.js server: the route's exported handlers called with
 * `Request` objects, and the server components' `getKs(headers)`, on the emulator.
 */
describe('examples/nextjs: app/kaltura/ks/route.ts and lib/kaltura.ts', () => {
  let kaltura: ExampleKaltura;
  let route: typeof import('./nextjs/app/kaltura/ks/route.js');
  let lib: typeof import('./nextjs/lib/kaltura.js');
  let cookie: string;
  const url = 'https://app.example.com/kaltura/ks';

  beforeAll(async () => {
    kaltura = await startKaltura();
    const { setEnvironment } = await import('./nextjs/app.js');
    setEnvironment(kaltura);
    route = await import('./nextjs/app/kaltura/ks/route.js');
    lib = await import('./nextjs/lib/kaltura.js');
    cookie = `session=${await kaltura.signIn('alice')}`;
  });
  afterAll(async () => {
    await lib?.kaltura.engine.close();
    await kaltura?.close();
  });

  it('GET answers the signed-in user’s KS, and 401 without one', async () => {
    const res = await route.GET(new Request(url, { headers: { cookie } }));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { ks } = (await res.json()) as { ks: string };
    expect(kaltura.verify(ks).userId).toBe('alice');
    const anonymous = await route.GET(new Request(url));
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { code: 'ERR_KS_NO_USER' } });
  });

  it('a server component gets the same KS from the headers; DELETE drops it', async () => {
    const fromRoute = (await (
      await route.GET(new Request(url, { headers: { cookie } }))
    ).json()) as {
      ks: string;
    };
    const inPage = await lib.getKs(new Headers({ cookie }));
    expect(inPage.ks).toBe(fromRoute.ks);
    const signOut = await route.DELETE(new Request(url, { method: 'DELETE', headers: { cookie } }));
    expect(signOut.status).toBe(204);
    expect((await lib.getKs(new Headers({ cookie }))).ks).not.toBe(fromRoute.ks);
    await expect(lib.getKs(new Headers())).rejects.toMatchObject({ code: 'ERR_KS_NO_USER' });
  });

  it('runs on Node, never cached', () => {
    expect(route.runtime).toBe('nodejs');
    expect(route.dynamic).toBe('force-dynamic');
  });
});
