import { verifyKs } from '@kaltura-ks/core';
import { Hono } from 'hono';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { jwtUser, type KalturaVariables, kalturaKs } from './index.js';

const SECRET = 'hono-adapter-admin-secret-0123456789';
const JWT_SECRET = 'hono-adapter-jwt-secret-of-32-bytes!!';

describe('kalturaKs for Hono', () => {
  it('reads the user with the Hono-shaped jwtUser, and answers the route', async () => {
    const app = new Hono<{ Variables: KalturaVariables }>();
    app.use(
      kalturaKs({
        partnerId: 4242,
        adminSecret: SECRET,
        getUser: jwtUser({ secret: JWT_SECRET, issuer: 'app', audience: 'web', cookie: 'sid' }),
      }),
    );
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setIssuer('app')
      .setAudience('web')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JWT_SECRET));
    const res = await app.request('/kaltura/ks', { headers: { cookie: `sid=${jwt}` } });
    expect(res.status).toBe(200);
    const { ks } = (await res.json()) as { ks: string };
    expect(verifyKs(ks, { secrets: SECRET }).userId).toBe('alice');
    expect((await app.request('/kaltura/ks')).status).toBe(401);
  });

  it('gives getUser the Hono context: a user set by earlier middleware, and c.get in handlers', async () => {
    const app = new Hono<{ Variables: KalturaVariables & { session: string } }>();
    app.use(async (c, next) => {
      c.set('session', c.req.header('x-session') ?? '');
      await next();
    });
    const middleware = kalturaKs({
      partnerId: 4242,
      adminSecret: SECRET,
      getUser: (c) => (c.get('session') ? { id: c.get('session') } : null),
    });
    app.use(middleware);
    app.get('/me', (c) => c.json({ user: c.get('kaltura').user }));
    const res = await app.request('/me', { headers: { 'x-session': 'bob' } });
    expect(await res.json()).toEqual({ user: { id: 'bob' } });
    expect(middleware.engine.route).toBe('/kaltura/ks');
  });

  it('matches the route against the full path, also under app.route', async () => {
    const api = new Hono();
    api.use(
      kalturaKs({
        partnerId: 4242,
        adminSecret: SECRET,
        route: '/api/kaltura/ks',
        getUser: () => ({ id: 'carol' }),
      }),
    );
    api.get('/kaltura/other', (c) => c.text('next handler'));
    const app = new Hono().route('/api', api);
    expect((await app.request('/api/kaltura/ks')).status).toBe(200);
    expect(await (await app.request('/api/kaltura/other')).text()).toBe('next handler');
  });

  it('throws what getUser throws to app.onError', async () => {
    const app = new Hono();
    app.onError((error, c) => c.text(`caught: ${error.message}`, 502));
    app.use(
      kalturaKs({
        partnerId: 4242,
        adminSecret: SECRET,
        getUser: () => {
          throw new Error('session store down');
        },
      }),
    );
    const res = await app.request('/kaltura/ks');
    expect(res.status).toBe(502);
    expect(await res.text()).toBe('caught: session store down');
  });
});
