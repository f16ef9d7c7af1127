import {
  createKsEngine,
  type KalturaContext,
  type KalturaKsOptions,
  type KsEngine,
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
  const middleware = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const context = await engine.context(req);
      req.kaltura = context;
      if (engine.route === false || req.path !== engine.route) return next();
      const answer = await engine.respond(context, {
        method: req.method,
        headers: req.headers,
        // Parse the query only when there is one: this is the hot path.
        renew: req.url.includes('?') && req.query.renew === '1',
      });
      // end(), not send(): no ETag or 304 handling for a response that must never be cached.
      res.status(answer.status).set(answer.headers).end(answer.body);
    } catch (error) {
      next(error);
    }
  };
  return Object.assign(middleware, { engine });
}
