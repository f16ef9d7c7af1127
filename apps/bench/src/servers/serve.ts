/**
 * A benchmark target in its own process: `serve.ts <express|koa> <ks|bare>`.
 * Prints `{"port":N}` when listening. The `ks` app serves the KS route through
 * kaltura-ks from a warm cache; the `bare` app answers a fixed JSON body of the
 * same size with the same headers and no middleware.
 */
import type { AddressInfo } from 'node:net';
import { createKs } from '@kaltura-ks/core';
import { kalturaKs as expressKs } from '@kaltura-ks/express';
import { kalturaKs as koaKs } from '@kaltura-ks/koa';
import express from 'express';
import Koa from 'koa';

export const BENCH_PARTNER = 12345;
export const BENCH_SECRET = 'bench-admin-secret-0123456789abcdef';
export const BENCH_USER = 'bench-user@example.com';
const PRIVILEGES = 'sview:*';
const APP_ID = 'bench.example.com';

const [framework, variant] = process.argv.slice(2);

const headers = {
  'Content-Type': 'application/json; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Resource-Policy': 'same-origin',
  Vary: 'Cookie, Authorization',
};

// A body exactly like the route's: same fields, same KS length.
const now = Date.now();
const fixedBody = JSON.stringify({
  ks: createKs({
    secret: BENCH_SECRET,
    partnerId: BENCH_PARTNER,
    userId: BENCH_USER,
    privileges: `${PRIVILEGES},appid:${APP_ID}`,
    expiresInSeconds: 3600,
  }),
  partnerId: BENCH_PARTNER,
  userId: BENCH_USER,
  type: 0,
  privileges: `${PRIVILEGES},appid:${APP_ID}`,
  expiresAt: now + 3_600_000,
  serverTime: now,
});

const options = {
  partnerId: BENCH_PARTNER,
  adminSecret: BENCH_SECRET,
  privileges: PRIVILEGES,
  appId: APP_ID,
  getUser: (req: { headers: Record<string, string | string[] | undefined> }) => {
    const id = req.headers['x-user'];
    return typeof id === 'string' ? { id } : null;
  },
};

function listen(server: import('node:http').Server): void {
  server.keepAliveTimeout = 60_000;
  server.on('listening', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
}

if (framework === 'express') {
  const app = express();
  app.disable('x-powered-by');
  if (variant === 'ks') {
    app.use(expressKs(options));
  } else {
    app.get('/kaltura/ks', (_req, res) => {
      res.status(200).set(headers).end(fixedBody);
    });
  }
  listen(app.listen(0, '127.0.0.1'));
} else if (framework === 'koa') {
  const app = new Koa();
  if (variant === 'ks') {
    app.use(koaKs(options));
  } else {
    app.use(async (ctx) => {
      if (ctx.path !== '/kaltura/ks') return;
      ctx.status = 200;
      ctx.set(headers);
      ctx.body = fixedBody;
      ctx.type = headers['Content-Type'];
    });
  }
  listen(app.listen(0, '127.0.0.1'));
} else {
  process.stderr.write('usage: serve.ts <express|koa> <ks|bare>\n');
  process.exit(2);
}

// Exit cleanly on SIGTERM so --cpu-prof and the like can write their output.
process.on('SIGTERM', () => process.exit(0));
