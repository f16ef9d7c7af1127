import {
  createKsEngine,
  type KalturaContext,
  type KalturaKsOptions,
  type KsEngine,
  type KsHttpResponse,
  type RouteRequest,
  routeRequest,
} from '@kaltura-ks/core/http';

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

export type FetchKalturaKsOptions = KalturaKsOptions<Request>;

/** The route as a web-standard handler, with its engine (issuer, route) for tests and shutdown. */
export interface KsHandler {
  /** Answers the KS route; any other path gets a bare 404. */
  (request: Request): Promise<Response>;
  /** The signed-in user and a lazy `getKs()` for any request (a page, an action, an API). */
  context(request: Request): Promise<KalturaContext>;
  readonly engine: KsEngine<Request>;
}

/** The path of a `Request`'s URL (always absolute, never with a fragment), without parsing it. */
function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start < 0) return '/';
  const query = url.indexOf('?', start);
  return query < 0 ? url.slice(start) : url.slice(start, query);
}

/** What the engine needs from a `Request` to answer the route. */
export function toRouteRequest(request: Request): RouteRequest {
  return routeRequest(request.method, request.headers, request.url);
}

/** The engine's answer as a `Response`. */
export function toResponse(answer: KsHttpResponse): Response {
  return new Response(answer.status === 204 ? null : answer.body, {
    status: answer.status,
    headers: answer.headers,
  });
}

/**
 * `createKsHandler(options)`: the KS route (`GET`/`DELETE /kaltura/ks` by default) as a
 * `(request: Request) => Promise<Response>`, for Next.js route handlers and any server
 * built on the Fetch API; `handler.context(request)` gives any other request the user and
 * a lazy `getKs()`. Options are validated here, once; unexpected errors reject.
 */
export function createKsHandler(options: FetchKalturaKsOptions): KsHandler {
  const engine = createKsEngine(options);
  const handler = async (request: Request): Promise<Response> => {
    if (engine.route === false || pathOf(request.url) !== engine.route) {
      return new Response(null, { status: 404 });
    }
    return engine.handle(request, toRouteRequest(request), (_, answer) => toResponse(answer!));
  };
  const context = async (request: Request) => engine.context(request);
  return Object.assign(handler, { context, engine });
}
