/**
 * A benchmark target in its own process: `serve.ts <express|koa|fastify|hono|fetch> <variant>`.
 * Prints `{"port":N}` when listening; answers `cpu` on its IPC channel.
 *
 * - `bare`: a fixed JSON body of the route's size, same headers, no middleware, no user.
 * - `bare-user`: the same, after reading the user header as `getUser` does (the framework's
 *   own cost of reading a header: nothing in Express or Koa, a `Headers` built by Hono on Node).
 * - `ks`: the KS route through kaltura-ks from a warm cache, the user from a header.
 * - `ks-jwt`: the same, the user from a signed JWT cookie (`jwtUser`).
 * - `hand`: what an app would write without kaltura-ks: verify the same JWT cookie
 *   with jose, keep each user's KS in a Map, answer the same JSON.
 */
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { createKs } from '@kaltura-ks/core';
import { jwtUser as expressJwtUser, kalturaKs as expressKs } from '@kaltura-ks/express';
import { kalturaKs as fastifyKs } from '@kaltura-ks/fastify';
import { createKsHandler, jwtUser as fetchJwtUser } from '@kaltura-ks/fetch';
import { jwtUser as honoJwtUser, kalturaKs as honoKs } from '@kaltura-ks/hono';
import { kalturaKs as koaKs } from '@kaltura-ks/koa';
import express from 'express';
import Fastify from 'fastify';
import { type Context, Hono } from 'hono';
import { jwtVerify } from 'jose';
import Koa from 'koa';
import { answerCpuUsage } from '../processes.js';
import {
  BENCH_PARTNER,
  BENCH_SECRET,
  BENCH_USER,
  JWT_AUDIENCE,
  JWT_COOKIE,
  JWT_ISSUER,
  JWT_SECRET,
} from './serve-constants.js';

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
  renewableAt: now + 30_000,
  serverTime: now,
});

const fromHeader = (req: { headers: Record<string, string | string[] | undefined> }) => {
  const id = req.headers['x-user'];
  return typeof id === 'string' ? { id } : null;
};
const jwtOptions = {
  secret: JWT_SECRET,
  issuer: JWT_ISSUER,
  audience: JWT_AUDIENCE,
  cookie: JWT_COOKIE,
};
const fromJwt = expressJwtUser(jwtOptions);
const options = {
  partnerId: BENCH_PARTNER,
  adminSecret: BENCH_SECRET,
  privileges: PRIVILEGES,
  appId: APP_ID,
  getUser: variant === 'ks-jwt' ? fromJwt : fromHeader,
};

// The hand-rolled route: a Map of KSs by user, renewed 10 minutes before expiry.
const jwtKey = new TextEncoder().encode(JWT_SECRET);
const handCache = new Map<string, { ks: string; expiresAt: number }>();
async function handRolled(cookieHeader: string | undefined): Promise<string | undefined> {
  const token = cookieHeader
    ?.split(';')
    .map((part) => part.trim())
    .find((part) => part.startsWith(`${JWT_COOKIE}=`))
    ?.slice(JWT_COOKIE.length + 1);
  if (token === undefined) return undefined;
  const { payload } = await jwtVerify(token, jwtKey, {
    issuer: JWT_ISSUER,
    audience: JWT_AUDIENCE,
    algorithms: ['HS256'],
  });
  const userId = payload.sub;
  if (typeof userId !== 'string') return undefined;
  const privileges = `${PRIVILEGES},appid:${APP_ID}`;
  let entry = handCache.get(userId);
  if (entry === undefined || entry.expiresAt - Date.now() < 600_000) {
    entry = {
      ks: createKs({
        secret: BENCH_SECRET,
        partnerId: BENCH_PARTNER,
        userId,
        privileges,
        expiresInSeconds: 3600,
      }),
      expiresAt: Date.now() + 3_600_000,
    };
    handCache.set(userId, entry);
  }
  return JSON.stringify({
    ks: entry.ks,
    partnerId: BENCH_PARTNER,
    userId,
    type: 0,
    privileges,
    expiresAt: entry.expiresAt,
    serverTime: Date.now(),
  });
}

function listen(server: import('node:http').Server): void {
  server.keepAliveTimeout = 60_000;
  server.on('listening', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
}

if (framework === 'express') {
  const app = express();
  app.disable('x-powered-by');
  if (variant === 'ks' || variant === 'ks-jwt') {
    app.use(expressKs(options));
  } else if (variant === 'hand') {
    app.get('/kaltura/ks', async (req, res) => {
      const body = await handRolled(req.headers.cookie);
      if (body === undefined) res.status(401).end();
      else res.status(200).set(headers).end(body);
    });
  } else {
    app.get('/kaltura/ks', (req, res) => {
      if (variant === 'bare-user' && fromHeader(req) === null) return void res.status(401).end();
      res.status(200).set(headers).end(fixedBody);
    });
  }
  listen(app.listen(0, '127.0.0.1'));
} else if (framework === 'koa') {
  const app = new Koa();
  if (variant === 'ks' || variant === 'ks-jwt') {
    app.use(koaKs(options));
  } else if (variant === 'hand') {
    app.use(async (ctx) => {
      if (ctx.path !== '/kaltura/ks') return;
      const body = await handRolled(ctx.headers.cookie);
      if (body === undefined) {
        ctx.status = 401;
        return;
      }
      ctx.status = 200;
      ctx.set(headers);
      ctx.body = body;
      ctx.type = headers['Content-Type'];
    });
  } else {
    app.use(async (ctx) => {
      if (ctx.path !== '/kaltura/ks') return;
      if (variant === 'bare-user' && fromHeader(ctx) === null) {
        ctx.status = 401;
        return;
      }
      ctx.status = 200;
      ctx.set(headers);
      ctx.body = fixedBody;
      ctx.type = headers['Content-Type'];
    });
  }
  listen(app.listen(0, '127.0.0.1'));
} else if (framework === 'fastify') {
  const app = Fastify();
  if (variant === 'ks' || variant === 'ks-jwt') {
    app.register(fastifyKs, options);
  } else if (variant === 'hand') {
    app.get('/kaltura/ks', async (request, reply) => {
      const body = await handRolled(request.headers.cookie);
      if (body === undefined) return reply.code(401).send();
      return reply.code(200).headers(headers).send(body);
    });
  } else {
    app.get('/kaltura/ks', (request, reply) => {
      if (variant === 'bare-user' && fromHeader(request) === null) return reply.code(401).send();
      reply.code(200).headers(headers).send(fixedBody);
    });
  }
  listen(app.server);
  app.server.keepAliveTimeout = 60_000;
  await app.listen({ port: 0, host: '127.0.0.1' });
} else if (framework === 'hono') {
  const honoUser = (c: Context) => {
    const id = c.req.header('x-user');
    return id === undefined ? null : { id };
  };
  const app = new Hono();
  if (variant === 'ks' || variant === 'ks-jwt') {
    app.use(
      honoKs({
        ...options,
        getUser: variant === 'ks-jwt' ? honoJwtUser(jwtOptions) : honoUser,
      }),
    );
  } else if (variant === 'hand') {
    app.get('/kaltura/ks', async (c) => {
      const body = await handRolled(c.req.header('cookie'));
      return body === undefined ? c.body(null, 401) : c.body(body, 200, headers);
    });
  } else {
    app.get('/kaltura/ks', (c) =>
      variant === 'bare-user' && honoUser(c) === null
        ? c.body(null, 401)
        : c.body(fixedBody, 200, headers),
    );
  }
  const server = createAdaptorServer({ fetch: app.fetch }) as import('node:http').Server;
  listen(server);
  server.listen(0, '127.0.0.1');
} else if (framework === 'fetch') {
  // A web-standard handler, served on Node by @hono/node-server (as Hono is above).
  const fetchUser = (request: Request) => {
    const id = request.headers.get('x-user');
    return id === null ? null : { id };
  };
  const path = '/kaltura/ks';
  const onPath = (request: Request) => {
    const { url } = request;
    const start = url.indexOf('/', url.indexOf('//') + 2);
    return url.slice(start) === path;
  };
  let handler: (request: Request) => Response | Promise<Response>;
  if (variant === 'ks' || variant === 'ks-jwt') {
    handler = createKsHandler({
      ...options,
      getUser: variant === 'ks-jwt' ? fetchJwtUser(jwtOptions) : fetchUser,
    });
  } else if (variant === 'hand') {
    handler = async (request) => {
      if (!onPath(request)) return new Response(null, { status: 404 });
      const body = await handRolled(request.headers.get('cookie') ?? undefined);
      return body === undefined
        ? new Response(null, { status: 401 })
        : new Response(body, { status: 200, headers });
    };
  } else {
    handler = (request) => {
      if (!onPath(request)) return new Response(null, { status: 404 });
      if (variant === 'bare-user' && fetchUser(request) === null)
        return new Response(null, { status: 401 });
      return new Response(fixedBody, { status: 200, headers });
    };
  }
  const server = createAdaptorServer({ fetch: handler }) as import('node:http').Server;
  listen(server);
  server.listen(0, '127.0.0.1');
} else {
  process.stderr.write(
    'usage: serve.ts <express|koa|fastify|hono|fetch> <bare|bare-user|ks|ks-jwt|hand>\n',
  );
  process.exit(2);
}

answerCpuUsage();
// Exit cleanly on SIGTERM so --cpu-prof and the like can write their output.
process.on('SIGTERM', () => process.exit(0));
