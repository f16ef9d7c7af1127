import { kalturaKs } from '@kaltura-ks/koa';
import Koa, { type Context } from 'koa';
import { type AdapterHarness, adapterContract } from '../index.js';

const harness: AdapterHarness<Context> = {
  name: 'koa',
  kalturaKs: (options) => kalturaKs(options),
  createApp(options) {
    const app = new Koa();
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        ctx.status = 500;
        ctx.body = { error: (error as { code?: string }).code ?? 'unknown' };
      }
    });
    app.use(async (ctx, next) => {
      if (ctx.path === '/static') ctx.body = 'static';
      else await next();
    });
    const middleware = kalturaKs(options);
    app.use(middleware);
    app.use(async (ctx) => {
      if (ctx.path === '/api/ks') {
        ctx.body = await ctx.state.kaltura!.getKs();
      } else if (ctx.path === '/api/user') {
        ctx.body = { user: ctx.state.kaltura!.user };
      }
    });
    return { target: app.callback(), close: () => middleware.engine.close() };
  },
};

adapterContract(harness);
