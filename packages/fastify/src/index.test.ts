import Fastify from 'fastify';
import { describe, expect, it, vi } from 'vitest';
import { type FastifyKalturaKsOptions, kalturaKs } from './index.js';

const SECRET = 'fastify-adapter-admin-secret-0123456789';

function options(extra: Partial<FastifyKalturaKsOptions> = {}): FastifyKalturaKsOptions {
  return {
    partnerId: 4242,
    adminSecret: SECRET,
    getUser: (request) => {
      const id = request.headers['x-user'];
      return typeof id === 'string' ? { id } : null;
    },
    ...extra,
  };
}

describe('the kalturaKs plugin', () => {
  it('honours encapsulation: request.kaltura only in the scope it is registered in', async () => {
    const app = Fastify();
    app.register(async (scope) => {
      scope.register(kalturaKs, options());
      scope.get('/inside', async (request) => ({ user: request.kaltura?.user ?? null }));
    });
    app.get('/outside', async (request) => ({ kaltura: request.kaltura === undefined }));
    const headers = { 'x-user': 'alice' };
    expect((await app.inject({ url: '/inside', headers })).json()).toEqual({
      user: { id: 'alice' },
    });
    expect((await app.inject({ url: '/outside', headers })).json()).toEqual({ kaltura: true });
    expect((await app.inject({ url: '/kaltura/ks', headers })).statusCode).toBe(200);
    await app.close();
  });

  it('registers the route as a Fastify route, with its schema, for every method it answers', async () => {
    const app = Fastify();
    const routes: { method: unknown; url: string; schema: unknown }[] = [];
    app.addHook('onRoute', (route) => {
      routes.push({ method: route.method, url: route.url, schema: route.schema });
    });
    app.register(kalturaKs, options({ route: '/auth/ks' }));
    await app.ready();
    expect(routes).toHaveLength(1);
    expect(routes[0]).toMatchObject({
      method: expect.arrayContaining(['GET', 'DELETE', 'HEAD', 'POST']),
      url: '/auth/ks',
      schema: { response: { 200: { properties: { ks: { type: 'string' } } } } },
    });
    // The schema documents renew=1; any other value is ignored, as by every adapter.
    const other = await app.inject({ url: '/auth/ks?renew=yes', headers: { 'x-user': 'al' } });
    expect(other.statusCode).toBe(200);
    const head = await app.inject({ method: 'HEAD', url: '/auth/ks' });
    expect(head.statusCode).toBe(405);
    expect(head.headers.allow).toBe('GET, DELETE');
    await app.close();
  });

  it('closes the engine (and what it minted with) when the app closes', async () => {
    const close = vi.fn(async () => {});
    const app = Fastify();
    app.register(kalturaKs, {
      partnerId: 4242,
      getUser: () => null,
      minter: { kind: 'test', mint: async () => Promise.reject(new Error('unused')), close },
    });
    await app.ready();
    expect(app.kalturaKs.route).toBe('/kaltura/ks');
    expect(close).not.toHaveBeenCalled();
    await app.close();
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('sends what getUser throws to Fastify’s error handler', async () => {
    const app = Fastify();
    app.setErrorHandler((error: Error, _request, reply) => {
      reply.code(502).send({ caught: error.message });
    });
    app.register(kalturaKs, {
      ...options(),
      getUser: async () => {
        throw new Error('session store down');
      },
    });
    app.get('/page', async () => 'never');
    for (const url of ['/kaltura/ks', '/page']) {
      const res = await app.inject({ url });
      expect(res.statusCode).toBe(502);
      expect(res.json()).toEqual({ caught: 'session store down' });
    }
    await app.close();
  });

  it('refuses bad options when the app boots, naming the option', async () => {
    const app = Fastify();
    app.register(kalturaKs, options({ route: 'kaltura' }));
    await expect(app.ready()).rejects.toMatchObject({
      code: 'ERR_KS_INVALID_OPTION',
      message: expect.stringContaining('route'),
    });
  });
});
