import { createServer, type RequestListener, type Server } from 'node:http';
import type { HasHeaders, KalturaKsOptions, KsUser } from '@kaltura-ks/core/http';

/**
 * How a framework adapter plugs into the contract: build an app that mounts
 * `kalturaKs(options)` (with exactly the options given) and these routes —
 * - `GET /static` answers `static` without touching the KS context;
 * - `GET /api/ks` answers, as JSON, the `KsSession` the context's `getKs()` resolves with;
 * - `GET /api/user` answers `{ user }` from the context;
 * - errors reaching the framework's error path answer 500 `{ "error": code }`.
 * `close` releases what the middleware holds (its issuer and HTTP client).
 *
 * `Req` is the framework's request, as its `getUser` receives it. The contract's options read
 * headers (`HasHeaders`), so they fit any `Req` that has them; a framework whose `getUser`
 * receives something else (Hono's context) declares `HasHeaders` and converts in `createApp`.
 */
export interface AdapterHarness<Req extends HasHeaders = HasHeaders> {
  name: string;
  createApp(options: KalturaKsOptions<Req>): {
    /** A Node request listener, or a server `serve` listens with. */
    target: Server | RequestListener;
    close?: () => Promise<void>;
  };
  kalturaKs(options: KalturaKsOptions<Req>): unknown;
}

/** `getUser` for tests: the user is named by the `x-test-user` header (Node's or a Request's). */
export function headerUser(extra: Partial<KsUser> = {}) {
  return ({ headers }: HasHeaders): KsUser | null => {
    const id =
      typeof headers.get === 'function'
        ? (headers as Headers).get('x-test-user')
        : (headers as Record<string, unknown>)['x-test-user'];
    return typeof id === 'string' ? { id, ...extra } : null;
  };
}

/**
 * Listens on a loopback port once, so that many requests share one server (supertest
 * would start a server per request for a bare handler).
 */
export async function serve(target: Server | RequestListener): Promise<Server> {
  const server = typeof target === 'function' ? createServer(target) : target;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', backlog: 1024 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** Stops a server started by `serve`, dropping keep-alive connections. */
export function stop(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
