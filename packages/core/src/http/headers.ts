import type { HasHeaders } from './types.js';

/**
 * A request header's value, from Node's headers (Express's `req`, Koa's `ctx`: a record,
 * repeated headers as a list) or the Fetch API's (`Request`, Hono, Next.js: a `Headers`).
 */
export function headerValue(req: HasHeaders, name: string): string | undefined {
  const { headers } = req;
  // A Node record's `get` would be a header named "get": a string, never a function.
  if (typeof headers.get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}
