/**
 * A server the way the adapters' READMEs tell to run one, with the Redis store
 * and their shutdown sequence, for the SIGTERM test: its minter never answers
 * (and ignores its abort signal), so a request for a KS is a mint in flight.
 * Prints `{"port":…}` once listening and `minting` when a mint starts.
 *
 *   node --import tsx/esm --conditions=@kaltura-ks/source server.ts '{"framework":"express","redisUrl":"redis://…"}'
 */
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import type { KsMinter, KsSession } from '@kaltura-ks/core/issuer';
import { kalturaKs as expressKs } from '@kaltura-ks/express';
import { kalturaKs as fastifyKs } from '@kaltura-ks/fastify';
import { createKsHandler } from '@kaltura-ks/fetch';
import { kalturaKs as honoKs } from '@kaltura-ks/hono';
import { kalturaKs as koaKs } from '@kaltura-ks/koa';
import { createRedisStore } from '@kaltura-ks/redis';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import type { Framework } from './frameworks.js';

const { framework, redisUrl } = JSON.parse(process.argv[2] ?? '{}') as {
  framework: Framework;
  redisUrl: string;
};

const minter: KsMinter = {
  kind: 'stuck',
  mint() {
    process.stdout.write('minting\n');
    return new Promise<KsSession>(() => {});
  },
};
const options = {
  partnerId: 1,
  minter,
  store: createRedisStore({ url: redisUrl, keyPrefix: 'shutdown:' }),
  // Far longer than the test waits: only the shutdown sequence can end the request in time.
  mintTimeoutMs: 600_000,
};

/** The documented sequence for a Node server (Express, Koa, Hono and the fetch handler on @hono/node-server). */
function nodeShutdown(server: Server, closeEngine: () => Promise<void>): () => Promise<void> {
  return async () => {
    server.close(); // 1. no new connections
    await closeEngine(); // 2. requests waiting for a mint get their 503 now; the issuer, then the store
    server.closeIdleConnections(); // 3. keep-alive sockets with no request on them
  };
}

let server: Server;
let shutdown: () => Promise<void>;
if (framework === 'express') {
  const app = express();
  const kaltura = expressKs({
    ...options,
    getUser: (req) => ({ id: String(req.headers['x-user']) }),
  });
  app.use(kaltura);
  server = app.listen(0, '127.0.0.1');
  shutdown = nodeShutdown(server, () => kaltura.engine.close());
} else if (framework === 'koa') {
  const app = new Koa();
  const kaltura = koaKs({ ...options, getUser: (ctx) => ({ id: String(ctx.headers['x-user']) }) });
  app.use(kaltura);
  server = app.listen(0, '127.0.0.1');
  shutdown = nodeShutdown(server, () => kaltura.engine.close());
} else if (framework === 'hono') {
  const app = new Hono();
  const kaltura = honoKs({ ...options, getUser: (c) => ({ id: String(c.req.header('x-user')) }) });
  app.use(kaltura);
  server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  shutdown = nodeShutdown(server, () => kaltura.engine.close());
} else if (framework === 'fetch') {
  // The fetch handler on a Node server that speaks the Fetch API (@hono/node-server's serve).
  const kaltura = createKsHandler({
    ...options,
    getUser: (request) => ({ id: String(request.headers.get('x-user')) }),
  });
  server = serve({ fetch: kaltura, port: 0, hostname: '127.0.0.1' }) as Server;
  shutdown = nodeShutdown(server, () => kaltura.engine.close());
} else {
  const app = Fastify();
  app.register(fastifyKs, {
    ...options,
    getUser: (request) => ({ id: String(request.headers['x-user']) }),
  });
  server = app.server;
  // Fastify's own sequence: app.close() closes the engine (its preClose hook), then the server.
  shutdown = () => app.close();
  void app.listen({ port: 0, host: '127.0.0.1' });
}

// No process.exit: the process ends by itself once nothing is left open.
process.once('SIGTERM', () => void shutdown());

server.on('listening', () => {
  const address = server.address();
  if (address !== null && typeof address === 'object')
    process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});
