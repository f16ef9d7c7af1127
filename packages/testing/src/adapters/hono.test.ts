import { getRequestListener } from '@hono/node-server';
import { type KalturaVariables, kalturaKs } from '@kaltura-ks/hono';
import { type Context, Hono } from 'hono';
import { type AdapterHarness, adapterContract } from '../index.js';

type GetUser = (request: Request) => ReturnType<Parameters<typeof kalturaKs>[0]['getUser']>;

const harness: AdapterHarness = {
  name: 'hono',
  kalturaKs: (options) => kalturaKs(options as never),
  createApp(options) {
    const app = new Hono<{ Variables: KalturaVariables }>();
    app.onError((error, c) =>
      c.json({ error: (error as { code?: string }).code ?? 'unknown' }, 500),
    );
    app.get('/static', (c) => c.text('static'));
    // Hono hands getUser its context; the contract's getUser reads a request's headers.
    const getUser = options.getUser as unknown as GetUser;
    const middleware = kalturaKs({
      ...(options as never as Parameters<typeof kalturaKs>[0]),
      getUser: (c: Context) => getUser(c.req.raw),
    });
    app.use(middleware);
    app.get('/api/ks', async (c) => c.json(await c.get('kaltura').getKs()));
    app.get('/api/user', (c) => c.json({ user: c.get('kaltura').user }));
    return {
      target: getRequestListener(app.fetch) as never,
      close: () => middleware.engine.close(),
    };
  },
};

adapterContract(harness);
