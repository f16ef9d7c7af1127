import { serve } from '@hono/node-server';
import { jwtUser, type KalturaVariables, kalturaKs } from '@kaltura-ks/hono';
import { Hono } from 'hono';
import type { ExampleKaltura, RunningExample } from '../kaltura.js';

export async function start(kaltura: ExampleKaltura, port = 0): Promise<RunningExample> {
  const app = new Hono<{ Variables: KalturaVariables }>();
  const ks = kalturaKs({
    ...kaltura.options,
    getUser: jwtUser(kaltura.session),
    privileges: { sview: '*' },
  });
  app.use(ks); // GET/DELETE /kaltura/ks, and c.get('kaltura') in every later handler

  app.get('/', async (c) => {
    const { user } = c.get('kaltura');
    if (!user) return c.text('Sign in first', 401);
    const { ks: userKs, expiresAt } = await c.get('kaltura').getKs();
    return c.json({ user: user.id, ksLength: userKs.length, expiresAt });
  });

  // On Node through @hono/node-server; on Bun or Deno, export app.fetch instead (untested here).
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const { port: bound } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${bound}`,
    close: async () => {
      await new Promise((resolve) => server.close(resolve));
      await ks.engine.close();
    },
  };
}
