import {
  createKsEngine,
  type JwtUserOptions,
  jwtUser as jwtRequestUser,
  type KalturaContext,
  type KalturaKsOptions,
  type KsEngine,
  type KsUser,
  type MaybePromise,
} from '@kaltura-ks/core/http';
import { toResponse, toRouteRequest } from '@kaltura-ks/fetch';
import type { Context, MiddlewareHandler, Next } from 'hono';

export { isKsError, KalturaApiError, KsError, type KsErrorCode, KsType } from '@kaltura-ks/core';
export type {
  JwtUserOptions,
  KalturaContext,
  KsRouteBody,
  KsUser,
} from '@kaltura-ks/core/http';
export {
  createKsIssuer,
  type GetKsOptions,
  type KsIssuer,
  type KsIssuerEvent,
  type KsSession,
} from '@kaltura-ks/core/issuer';

declare module 'hono' {
  interface ContextVariableMap {
    /** Set by `kalturaKs()`: the signed-in user and a lazy `getKs()`. */
    kaltura?: KalturaContext;
  }
}

/** `new Hono<{ Variables: KalturaVariables }>()`: `c.get('kaltura')` without `undefined`. */
export interface KalturaVariables {
  kaltura: KalturaContext;
}

export type HonoKalturaKsOptions = KalturaKsOptions<Context>;

/** The middleware, with its engine (issuer, route) for tests and shutdown. */
export interface KalturaKsMiddleware extends MiddlewareHandler<{ Variables: KalturaVariables }> {
  readonly engine: KsEngine<Context>;
}

/** `jwtUser` from `@kaltura-ks/core`, reading the request of a Hono context. */
export function jwtUser(options: JwtUserOptions): (c: Context) => MaybePromise<KsUser | null> {
  const fromRequest = jwtRequestUser(options);
  return (c) => fromRequest(c.req.raw);
}

/**
 * `app.use(kalturaKs(options))`: gives every request `c.get('kaltura')` (the user and a lazy
 * `getKs()`), and answers the browser route (`GET /kaltura/ks` by default, matched against
 * `c.req.path`) through the web-standard handler's converters. Options are validated here,
 * once; errors are thrown, to `app.onError`.
 */
export function kalturaKs(options: HonoKalturaKsOptions): KalturaKsMiddleware {
  const engine = createKsEngine(options);
  // No async function on purpose: a warm cache answers without a single promise (Hono
  // awaits what a middleware returns, and answers a lone handler's Response at once).
  const middleware = (c: Context, next: Next): Response | Promise<unknown> =>
    engine.handle(
      c,
      c.req.path === engine.route ? toRouteRequest(c.req.raw) : undefined,
      (context, answer): Response | Promise<void> => {
        c.set('kaltura', context);
        return answer ? toResponse(answer) : next();
      },
    );
  return Object.assign(middleware as KalturaKsMiddleware, { engine });
}
