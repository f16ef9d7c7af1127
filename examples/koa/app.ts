import { jwtUser, kalturaKs } from '@kaltura-ks/koa';
import Koa from 'koa';
import type { ExampleKaltura, RunningExample } from '../kaltura.js';
import { listen } from '../listen.js';

export async function start(kaltura: ExampleKaltura, port = 0): Promise<RunningExample> {
  const app = new Koa();
  const ks = kalturaKs({
    ...kaltura.options,
    getUser: jwtUser(kaltura.session),
    privileges: { sview: '*' },
  });
  app.use(ks); // GET/DELETE /kaltura/ks, and ctx.state.kaltura in every later middleware

  app.use(async (ctx) => {
    if (ctx.path !== '/') return;
    const user = ctx.state.kaltura?.user;
    if (!user) return ctx.throw(401, 'Sign in first');
    const { ks: userKs, expiresAt } = await ctx.state.kaltura!.getKs();
    ctx.body = { user: user.id, ksLength: userKs.length, expiresAt };
  });

  return listen(app.callback(), port, () => ks.engine.close());
}
