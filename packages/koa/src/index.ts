import {
  createKsEngine,
  type KalturaContext,
  type KalturaKsOptions,
  type KsEngine,
  type KsHttpResponse,
  routeRequest,
} from '@kaltura-ks/core/http';
import type { Context, Middleware, Next } from 'koa';

export { isKsError, KalturaApiError, KsError, type KsErrorCode, KsType } from '@kaltura-ks/core';
export {
  type JwtUserOptions,
  jwtUser,
  type KalturaContext,
  type KsRouteBody,
  type KsUser,
} from '@kaltura-ks/core/http';
export {
  createKsIssuer,
  type GetKsOptions,
  type KsIssuer,
  type KsIssuerEvent,
  type KsSession,
} from '@kaltura-ks/core/issuer';

declare module 'koa' {
  interface DefaultState {
    /** Set by `kalturaKs()`: the signed-in user and a lazy `getKs()`. */
    kaltura?: KalturaContext;
  }
}

export type KoaKalturaKsOptions = KalturaKsOptions<Context>;

/** The middleware, with its engine (issuer, route) for tests and shutdown. */
export interface KalturaKsMiddleware extends Middleware {
  readonly engine: KsEngine<Context>;
}

/**
 * `app.use(kalturaKs(options))`: gives every request `ctx.state.kaltura` (the
 * user and a lazy `getKs()`), and answers the browser route (`GET /kaltura/ks`
 * by default). Options are validated here, once; errors are thrown.
 */
export function kalturaKs(options: KoaKalturaKsOptions): KalturaKsMiddleware {
  const engine = createKsEngine(options);
  // No async function on purpose: a warm cache answers without a single promise
  // (koa-compose takes a plain return value, and turns a throw into a rejection).
  const send = (ctx: Context, answer: KsHttpResponse) => {
    ctx.status = answer.status;
    // Content-Type is among these headers, so the body setter keeps it.
    ctx.set(answer.headers);
    ctx.body = answer.status === 204 ? null : answer.body;
  };
  const middleware = (ctx: Context, next: Next): Promise<void> | undefined =>
    engine.handle(
      ctx,
      ctx.path === engine.route ? routeRequest(ctx.method, ctx.headers, ctx.url) : undefined,
      (context, answer) => {
        ctx.state.kaltura = context;
        if (!answer) return next();
        send(ctx, answer);
        return undefined;
      },
    );
  return Object.assign(middleware, { engine });
}
