import type { RouteRequest } from './engine.js';
import type { HasHeaders } from './types.js';

/**
 * What the engine needs from a request to answer the KS route, from what every framework
 * has: its method, headers and URL as sent (a path with its query, or an absolute URL). One
 * rule for `renew` in every adapter: the query's first `renew` reads `1` (as
 * `URLSearchParams.get` reads it); the query is parsed only when there is one — the hot path
 * has none.
 */
export function routeRequest(
  method: string,
  headers: HasHeaders['headers'],
  url: string,
): RouteRequest {
  const query = url.indexOf('?');
  return {
    method,
    headers,
    renew: query >= 0 && new URLSearchParams(url.slice(query + 1)).get('renew') === '1',
  };
}
