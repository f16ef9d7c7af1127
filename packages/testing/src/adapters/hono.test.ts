import { getRequestListener } from '@hono/node-server';
import type { HasHeaders, KalturaKsOptions } from '@kaltura-ks/core/http';
import { type HonoKalturaKsOptions, type KalturaVariables, kalturaKs } from '@kaltura-ks/hono';
import { type Context, Hono } from 'hono';
import { type AdapterHarness, adapterContract } from '../index.js';

/**
 * Hono hands `getUser` and `privileges` its context; the contract's read a request's
 * headers: give them the context's request.
 */
function forHono(options: KalturaKsOptions<HasHeaders>): HonoKalturaKsOptions {
  const { getUser, privileges } = options;
  return {
    ...options,
    // Bad options stay bad: the contract checks that they are refused.
    getUser: typeof getUser === 'function' ? (c: Context) => getUser(c.req.raw) : getUser,
    privileges:
      typeof privileges === 'function' ? (user, c) => privileges(user, c.req.raw) : privileges,
  };
}

const harness: AdapterHarness = {
  name: 'hono',
  kalturaKs: (options) => kalturaKs(forHono(options)),
  createApp(options) {
    const app = new Hono<{ Variables: KalturaVariables }>();
    app.onError((error, c) =>
      c.json({ error: (error as { code?: string }).code ?? 'unknown' }, 500),
    );
    app.get('/static', (c) => c.text('static'));
    const middleware = kalturaKs(forHono(options));
    app.use(middleware);
    app.get('/api/ks', async (c) => c.json(await c.get('kaltura').getKs()));
    app.get('/api/user', (c) => c.json({ user: c.get('kaltura').user }));
    return { target: getRequestListener(app.fetch), close: () => middleware.engine.close() };
  },
};

adapterContract(harness);
