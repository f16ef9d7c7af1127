import type { IncomingMessage, ServerResponse } from 'node:http';
import { isKsError } from '@kaltura-ks/core';
import type { Stats } from './api.js';
import { checkFaultRule, type Faults } from './faults.js';

/**
 * The control path, `/__emulator/…`, for tests that cannot call the emulator's object
 * (browser tests): loopback clients only, and from a browser only for loopback pages.
 *
 *   GET    /__emulator/stats    the counts          DELETE /__emulator/stats    reset them
 *   GET    /__emulator/faults   the rules           DELETE /__emulator/faults   remove them all
 *   POST   /__emulator/faults   add a rule (a JSON object, or an array of them)
 */
export interface AdminControls {
  faults: Faults;
  stats: Stats;
}

function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const ip = address.startsWith('::ffff:') ? address.slice(7) : address;
  return ip === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip);
}

/** `localhost`, `127.x.x.x` or `[::1]`, any port: a name that cannot be rebound to this server from outside. */
function isLoopbackHost(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
  return name === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

function loopbackOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && isLoopbackHost(url.host);
  } catch {
    return false;
  }
}

function reply(response: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    response.writeHead(status);
    response.end();
    return;
  }
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  response.end(text);
}

function fail(response: ServerResponse, status: number, code: string, message: string): void {
  reply(response, status, { error: { code, message } });
}

export function handleAdmin(
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
  body: Buffer | 'too-large' | 'dropped',
  controls: AdminControls,
): void {
  if (body === 'dropped') return;
  // Loopback peers only, addressed by a loopback name (no DNS rebinding), and for browsers
  // only pages served from loopback (no cross-site requests from the open web).
  const origin = request.headers.origin;
  if (
    !isLoopbackAddress(request.socket.remoteAddress) ||
    !isLoopbackHost(request.headers.host ?? '') ||
    (origin !== undefined && origin !== 'null' && !loopbackOrigin(origin))
  ) {
    fail(response, 403, 'FORBIDDEN', 'The emulator control path answers loopback clients only');
    return;
  }
  if (origin !== undefined && origin !== 'null') {
    response.setHeader('Access-Control-Allow-Origin', origin);
    response.setHeader('Vary', 'Origin');
  }
  const method = request.method ?? 'GET';
  if (method === 'OPTIONS') {
    response.writeHead(204, {
      'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
      'Access-Control-Allow-Headers': 'Content-Type',
      'Access-Control-Max-Age': '600',
    });
    response.end();
    return;
  }
  const route = `${method} ${path.replace(/\/$/, '')}`;
  switch (route) {
    case 'GET /__emulator/stats':
      reply(response, 200, controls.stats.snapshot());
      return;
    case 'DELETE /__emulator/stats':
      controls.stats.reset();
      reply(response, 204);
      return;
    case 'GET /__emulator/faults':
      reply(response, 200, controls.faults.list());
      return;
    case 'DELETE /__emulator/faults':
      controls.faults.clear();
      reply(response, 204);
      return;
    case 'POST /__emulator/faults':
      addFaults(request, response, body, controls.faults);
      return;
    default:
      fail(
        response,
        404,
        'NOT_FOUND',
        'Unknown control path: see GET/POST/DELETE /__emulator/faults and /__emulator/stats',
      );
  }
}

function addFaults(
  request: IncomingMessage,
  response: ServerResponse,
  body: Buffer | 'too-large',
  faults: Faults,
): void {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  // Requiring JSON also makes browsers send a CORS preflight first.
  if (type !== 'application/json') {
    fail(
      response,
      415,
      'UNSUPPORTED_CONTENT_TYPE',
      'POST a JSON fault rule (Content-Type: application/json)',
    );
    return;
  }
  if (body === 'too-large') {
    fail(response, 413, 'REQUEST_TOO_LARGE', 'The fault rule is too large');
    return;
  }
  let input: unknown;
  try {
    input = JSON.parse(body.toString('utf8'));
  } catch {
    fail(response, 400, 'INVALID_JSON', 'The body is not JSON');
    return;
  }
  const rules = Array.isArray(input) ? input : [input];
  try {
    // All or nothing: check every rule before adding any.
    for (const rule of rules.map(checkFaultRule)) faults.set(rule);
  } catch (error) {
    if (!isKsError(error)) throw error;
    fail(response, 400, error.code, error.message);
    return;
  }
  reply(response, 200, faults.list());
}
