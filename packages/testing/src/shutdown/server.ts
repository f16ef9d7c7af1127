/**
 * A server the way the adapters' READMEs tell to run one, with the Redis store
 * and their shutdown sequence, for the SIGTERM test: its minter never answers
 * (and ignores its abort signal), so a request for a KS is a mint in flight.
 * Prints `{"port":…}` once listening and `minting` when a mint starts.
 *
 *   node --import tsx/esm --conditions=@kaltura-ks/source server.ts '{"framework":"express","redisUrl":"redis://…"}'
 */
import type { Server } from 'node:http';
import type { KsMinter, KsSession } from '@kaltura-ks/core/issuer';
import { kalturaKs as expressKs } from '@kaltura-ks/express';
import { kalturaKs as koaKs } from '@kaltura-ks/koa';
import { createRedisStore } from '@kaltura-ks/redis';
import express from 'express';
import Koa from 'koa';

const { framework, redisUrl } = JSON.parse(process.argv[2] ?? '{}') as {
  framework: 'express' | 'koa';
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

let server: Server;
let close: () => Promise<void>;
if (framework === 'express') {
  const app = express();
  const kaltura = expressKs({
    ...options,
    getUser: (req) => ({ id: String(req.headers['x-user']) }),
  });
  app.use(kaltura);
  server = app.listen(0, '127.0.0.1');
  close = () => kaltura.engine.close();
} else {
  const app = new Koa();
  const kaltura = koaKs({ ...options, getUser: (ctx) => ({ id: String(ctx.headers['x-user']) }) });
  app.use(kaltura);
  server = app.listen(0, '127.0.0.1');
  close = () => kaltura.engine.close();
}

// The documented sequence (see the adapters' READMEs); no process.exit: the process ends
// by itself once nothing is left open.
process.once('SIGTERM', async () => {
  server.close(); // 1. no new connections
  await close(); // 2. requests waiting for a mint get their 503 now; closes the issuer, then the store
  server.closeIdleConnections(); // 3. keep-alive sockets with no request on them
});

server.on('listening', () => {
  const address = server.address();
  if (address !== null && typeof address === 'object')
    process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});
