import {
  createKsEngine,
  type KalturaContext,
  type KalturaKsOptions,
  type KsEngine,
  type KsHttpResponse,
  routeRequest,
} from '@kaltura-ks/core/http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

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

declare global {
  namespace Express {
    interface Request {
      /** Set by `kalturaKs()`: the signed-in user and a lazy `getKs()`. */
      kaltura?: KalturaContext;
    }
  }
}

export type ExpressKalturaKsOptions = KalturaKsOptions<Request>;

/** The middleware, with its engine (issuer, route) for tests and shutdown. */
export interface KalturaKsMiddleware extends RequestHandler {
  readonly engine: KsEngine<Request>;
}

/**
 * `app.use(kalturaKs(options))`: gives every request `req.kaltura` (the user
 * and a lazy `getKs()`), and answers the browser route (`GET /kaltura/ks` by
 * default). Options are validated here, once; errors go to `next(err)`.
 */
export function kalturaKs(options: ExpressKalturaKsOptions): KalturaKsMiddleware {
  const engine = createKsEngine(options);
  // No async function on purpose: a warm cache answers without a single promise.
  const send = (res: Response, answer: KsHttpResponse) => {
    // end(), not send(): no ETag or 304 handling for a response that must never be cached.
    res.status(answer.status).set(answer.headers).end(answer.body);
  };
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    const done = engine.handle(
      req,
      req.path === engine.route ? routeRequest(req.method, req.headers, req.url) : undefined,
      (context, answer) => {
        req.kaltura = context;
        if (answer) send(res, answer);
        else next();
      },
    );
    if (done instanceof Promise) done.catch(next);
  };
  return Object.assign(middleware, { engine });
}
