export { createKsEngine, type KsEngine, type RouteRequest } from './engine.js';
export { type JwtRejectReason, type JwtUserOptions, jwtUser } from './jwt-user.js';
export { REJECTED_KS_HEADER } from './report-rejected.js';
export { routeRequest } from './route-request.js';
export type {
  HasHeaders,
  KalturaContext,
  KalturaKsOptions,
  KsHttpResponse,
  KsRouteBody,
  KsUser,
  MaybePromise,
} from './types.js';
