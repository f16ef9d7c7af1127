import type { ServerResponse } from 'node:http';

/**
 * JSON as PHP's `json_encode` writes it (Kaltura's `format=1`, spec §7): `/` escaped as
 * `\/`, every non-ASCII character as `\uXXXX`. Any JSON parser reads it back unchanged.
 */
const NON_ASCII = /[\u0080-\uffff]/;
const NON_ASCII_ALL = /[\u0080-\uffff]/g;

export function phpJson(value: unknown): string {
  const json = JSON.stringify(value === undefined ? null : value);
  // Outside strings JSON has neither "/" nor non-ASCII, so these only touch string contents.
  const escaped = json.replaceAll('/', '\\/');
  return NON_ASCII.test(escaped)
    ? escaped.replace(NON_ASCII_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : escaped;
}

/** Kaltura answers API errors with HTTP 200 too; only the emulator's own transport limits use other statuses. */
export function send(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = phpJson(body);
  response.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  response.end(text);
}
