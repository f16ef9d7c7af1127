import { type AdapterHarness, adapterContract } from '@kaltura-ks/testing';
import Koa from 'koa';
import { kalturaKs } from './index.js';

const harness: AdapterHarness = {
  name: 'koa',
  kalturaKs: (options) => kalturaKs(options as never),
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
    app.use(kalturaKs(options as never));
    app.use(async (ctx) => {
      if (ctx.path === '/api/ks') {
        const session = await ctx.state.kaltura!.getKs();
        ctx.body = { ks: session.ks, userId: session.userId };
      } else if (ctx.path === '/api/user') {
        ctx.body = { user: ctx.state.kaltura!.user };
      }
    });
    return { target: app.callback() as never };
  },
};

adapterContract(harness);
