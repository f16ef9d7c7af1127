import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '@kaltura-ks/core';
import { checkFunction, invalidOption } from '@kaltura-ks/core/internal';
import { handleAdmin } from './admin.js';
import {
  type ApiEnvironment,
  callAction,
  type EmulatorStats,
  MULTIREQUEST,
  multirequest,
  type Resolved,
  resolveAction,
  Stats,
} from './api.js';
import { ApiException, apiError, errorBody } from './errors.js';
import { applyFault, type FaultControls, Faults } from './faults.js';
import { send } from './json.js';
import { serveMedia } from './media.js';
import { type ParamTree, readParams } from './params.js';
import { type RequestOrigin, SessionMemo } from './session.js';
import {
  EmulatorState,
  generatePartner,
  type PartnerOptions,
  type PartnerRecord,
  toPartnerRecord,
  toUserRecord,
  type UserOptions,
} from './state.js';

export interface EmulatorOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default `127.0.0.1`. Binding elsewhere exposes the API (never the admin path) beyond this machine. */
  host?: string;
  /** Default: one partner with a random id and random secrets (see `Emulator.partners`). */
  partners?: readonly PartnerOptions[];
  users?: readonly UserOptions[];
  /** The clock, epoch milliseconds. Default `Date.now`. */
  now?: Clock;
  /**
   * Keep partners, users, app tokens and revocations in this JSON file (mode 0600, written
   * atomically after every change, read at start). It holds secrets: it is a dev tool's file.
   */
  persistPath?: string;
  /** Randomness for fault `rate`s, in [0, 1). Default `Math.random`; a rule's `seed` overrides it. */
  random?: () => number;
  /** Largest request body read, in bytes. Default 1 MiB; larger ones get REQUEST_TOO_LARGE (HTTP 413). */
  maxBodyBytes?: number;
}

export interface Emulator {
  /** The service URL as Kaltura writes it (`KALTURA_SERVICE_URL`): `http://127.0.0.1:PORT/api_v3`. */
  readonly url: string;
  /** `http://127.0.0.1:PORT`: what the official clients call `serviceUrl`. */
  readonly origin: string;
  /** The loopback-only control path: `http://127.0.0.1:PORT/__emulator`. */
  readonly adminUrl: string;
  readonly port: number;
  /** Every partner, secrets included, so a caller learns a generated one. */
  readonly partners: readonly PartnerRecord[];
  /** True when the emulator made up a partner because none was given or persisted. */
  readonly generatedPartner: boolean;
  readonly faults: FaultControls;
  stats(): EmulatorStats;
  resetStats(): void;
  /** Stops listening, drops every connection (hung ones too) and finishes pending writes. */
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Past this much, an over-large body is not even drained: the connection is dropped. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

function checkOptions(
  options: EmulatorOptions,
): Required<Pick<EmulatorOptions, 'port' | 'host' | 'maxBodyBytes'>> {
  if (typeof options !== 'object' || options === null)
    throw invalidOption('startEmulator needs an options object');
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw invalidOption('port must be an integer from 0 to 65535');
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '')
    throw invalidOption('host must be a non-empty string');
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0)
    throw invalidOption('maxBodyBytes must be a positive integer');
  if (options.partners !== undefined && !Array.isArray(options.partners))
    throw invalidOption('partners must be an array');
  if (options.users !== undefined && !Array.isArray(options.users))
    throw invalidOption('users must be an array');
  if (options.now !== undefined) checkFunction(options.now, 'now');
  if (options.random !== undefined) checkFunction(options.random, 'random');
  if (
    options.persistPath !== undefined &&
    (typeof options.persistPath !== 'string' || options.persistPath === '')
  ) {
    throw invalidOption('persistPath must be a non-empty string');
  }
  return { port, host, maxBodyBytes };
}

function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function clientIp(request: IncomingMessage): string {
  const address = request.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * Starts an emulator of Kaltura's `api_v3` on loopback. Options are validated here, once:
 * a bad one throws `KsError` `ERR_KS_INVALID_OPTION` naming it.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const { port, host, maxBodyBytes } = checkOptions(options);
  const clock = options.now ?? Date.now;
  const partnerRecords = (options.partners ?? []).map((p, i) =>
    toPartnerRecord(p, `partners[${i}]`),
  );
  const userRecords = (options.users ?? []).map((u, i) => toUserRecord(u, `users[${i}]`));

  const state = new EmulatorState(options.persistPath, () => Math.floor(clock() / 1000));
  await state.load();
  for (const partner of partnerRecords) state.upsertPartner(partner);
  let generatedPartner = false;
  if (state.partners.size === 0) {
    state.upsertPartner(generatePartner());
    generatedPartner = true;
  }
  for (const user of userRecords) {
    if (!state.partners.has(user.partnerId)) {
      throw invalidOption(
        `users: partner ${user.partnerId} of ${JSON.stringify(user.loginId)} is not among the partners`,
      );
    }
    state.upsertUser(user);
  }
  if (options.persistPath !== undefined) await state.save();

  const stats = new Stats();
  const faults = new Faults(options.random ?? Math.random);
  const memo = new SessionMemo();
  const closing = new AbortController();
  // Every request held by a delay fault listens on this one signal: any number is expected.
  setMaxListeners(0, closing.signal);
  // HTTP keep-alive is Node's default; `keepAlive` adds TCP keep-alive probes on idle sockets.
  const server = createServer({ keepAlive: true });
  // A client that never finishes sending its request gives up its socket after two minutes.
  server.requestTimeout = 120_000;

  // Set once listening (the origin needs the port), before any request can be read.
  let env: ApiEnvironment | undefined;
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) send(response, 500, errorBody('INTERNAL_SERVERL_ERROR'));
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = request.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = (queryAt < 0 ? url : url.slice(0, queryAt)).replace(/\/{2,}/g, '/');
    const query = queryAt < 0 ? '' : url.slice(queryAt + 1);
    if (path === '/__emulator' || path.startsWith('/__emulator/')) {
      const body = await readBody(request, maxBodyBytes);
      handleAdmin(request, response, path, body, { faults, stats });
      return;
    }
    response.setHeader('Access-Control-Allow-Origin', '*');
    if (request.method === 'OPTIONS') {
      response.writeHead(204, {
        'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
        'Access-Control-Allow-Headers':
          request.headers['access-control-request-headers'] ?? 'Content-Type',
        'Access-Control-Max-Age': '600',
      });
      response.end();
      return;
    }
    if (path.startsWith('/p/')) {
      await serveMedia(request, response, path, query, env!, {
        ip: clientIp(request),
        uri: url,
      });
      return;
    }
    if (path !== '/api_v3' && !path.startsWith('/api_v3/')) {
      send(response, 404, errorBody('NOT_FOUND'));
      return;
    }
    stats.countRequest();
    const body = await readBody(request, maxBodyBytes);
    if (body === 'too-large') {
      send(response, 413, errorBody('REQUEST_TOO_LARGE', maxBodyBytes));
      return;
    }
    if (body === 'dropped') return;

    let tree: ParamTree;
    let resolved: Resolved;
    try {
      tree = readParams(path, query, request.headers['content-type'], body);
      const format = tree.get('format');
      if (format !== undefined && format !== '1') {
        throw apiError('UNKNOWN_RESPONSE_FORMAT', typeof format === 'string' ? format : 'Array');
      }
      resolved = resolveAction(tree, true);
    } catch (error) {
      stats.countCall('<unknown>');
      sendError(response, error);
      return;
    }
    const [service, action] =
      resolved.kind === 'multirequest'
        ? [MULTIREQUEST, '']
        : [resolved.definition.service, resolved.definition.action];
    stats.countCall(resolved.kind === 'multirequest' ? MULTIREQUEST : `${service}.${action}`);

    const fault = faults.pick(service.toLowerCase(), action.toLowerCase());
    if (fault !== undefined) {
      const handled = await applyFault(fault, request, response, closing.signal);
      if (handled) return;
    }

    const origin: RequestOrigin = { ip: clientIp(request), uri: url };
    const environment = env!;
    if (resolved.kind === 'multirequest') {
      send(response, 200, await multirequest(tree, environment, origin));
      return;
    }
    const result = await callAction(resolved.definition, tree, environment, origin);
    send(response, 200, result.body, result.headers);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const origin = `http://${urlHost(host)}:${address.port}`;
  env = { state, memo, stats, clock, origin };

  let closed: Promise<void> | undefined;
  return {
    url: `${origin}/api_v3`,
    origin,
    adminUrl: `${origin}/__emulator`,
    port: address.port,
    get partners() {
      return [...state.partners.values()];
    },
    generatedPartner,
    faults,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(() => state.flush());
      return closed;
    },
  };
}

/** Reads the whole body, up to the limit. Over it, the rest is drained (so the client reads the 413) or, far over, the socket dropped. */
function readBody(
  request: IncomingMessage,
  limit: number,
): Promise<Buffer | 'too-large' | 'dropped'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size > DRAIN_LIMIT_BYTES) {
        request.socket.destroy();
        resolve('dropped');
      }
    });
    request.on('end', () => resolve(size > limit ? 'too-large' : Buffer.concat(chunks, size)));
    request.on('error', () => resolve('dropped'));
    request.on('aborted', () => resolve('dropped'));
  });
}

function sendError(response: ServerResponse, error: unknown): void {
  const exception = error instanceof ApiException ? error : apiError('INTERNAL_SERVERL_ERROR');
  send(response, 200, exception.body, exception.headers);
}
