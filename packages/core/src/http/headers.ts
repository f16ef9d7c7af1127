import type { HasHeaders } from './types.js';

/**
 * A request header as it came, from Node's headers (Express's `req`, Koa's `ctx`: a record,
 * where a repeated header may be a list) or the Fetch API's (`Request`, Hono, Next.js: a
 * `Headers`, which joins repeated ones with ", "). `name` is lower case.
 */
export function headerOf(req: HasHeaders, name: string): string | string[] | undefined {
  const { headers } = req;
  // A Node record's `get` would be a header named "get": a string, never a function.
  if (typeof headers.get === 'function') return (headers as Headers).get(name) ?? undefined;
  return (headers as Record<string, string | string[] | undefined>)[name];
}

/** A request header's value; the first, when Node gives a list. */
export function headerValue(req: HasHeaders, name: string): string | undefined {
  const value = headerOf(req, name);
  return Array.isArray(value) ? value[0] : value;
}
