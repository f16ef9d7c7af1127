import type { PrivilegesInput } from '@kaltura-ks/core';
import { type Emulator, startEmulator } from '@kaltura-ks/emulator';
import { type KsIssuerEvent, kalturaKs } from '@kaltura-ks/express';
import express, { type Request } from 'express';
import { playerBundle } from '../player-bundle.js';
import { bundleKsClient, listen, type SharedClock } from './harness.js';

/**
 * The server the `@kaltura-ks/browser` tests run against: `@kaltura-ks/express` minting
 * with `session.start` on the emulator, both on the shared clock, plus a blank page that
 * loads the client bundle (`KsBrowser`) and, on demand, the Kaltura Player (`/player.js`).
 *
 * The user is the `test_user` cookie; `POST /login?user=<id>` sets it (signing in as
 * someone else, without signing out first, is allowed); `POST /logout` revokes their KS
 * and clears it. With `crossOrigin`, the route also answers other origins (CORS, any
 * origin, no credentials) and takes the user from `Authorization: Test <id>`, as an embed
 * in a sandboxed iframe (an opaque origin, whose requests carry no cookie) would be served.
 */

export const PARTNER = {
  id: 4242,
  adminSecret: 'browser-tests-admin-secret-0000000',
  userSecret: 'browser-tests-user-secret-00000000',
} as const;

export const USER_COOKIE = 'test_user';

/** One request the KS route answered (`GET /kaltura/ks`). */
export interface RouteHit {
  /** Server clock when it arrived, epoch ms. */
  at: number;
  renew: boolean;
  /** It reported a KS as refused (the X-Kaltura-Rejected-Ks header). */
  reported: boolean;
  status: number;
}

export interface KsTestServer {
  url: string;
  emulator: Emulator;
  /** Every `GET /kaltura/ks`, in order of arrival. */
  readonly hits: RouteHit[];
  /** Route requests that have arrived and not been answered yet. */
  readonly inflight: number;
  /** The middleware's issuer events, in order. */
  readonly events: KsIssuerEvent[];
  /** Answers every route request with this status (503, say) until called with `undefined`. */
  failRoute(status: number | undefined): void;
  /** Holds every route request from now on until the returned function is called. */
  holdRoute(): () => void;
  close(): Promise<void>;
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kaltura-ks browser test</title>
<link rel="icon" href="data:,">
<script src="/ks-client.js"></script></head>
<body><div id="player" style="width:320px;height:180px"></div></body></html>`;

function cookieUser(req: Request): { id: string } | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, value] = part.trim().split('=');
    if (name === USER_COOKIE && value) return { id: decodeURIComponent(value) };
  }
  return null;
}

export interface KsServerOptions {
  /** Default 60. */
  expiresInSeconds?: number;
  /** Privileges of every KS (e.g. `{ sview: '0_emu00002' }` for a KS-protected sample). */
  privileges?: PrivilegesInput;
  /** Scripts served as `/<name>.js`, loaded by a test with `addScriptTag`. */
  scripts?: Record<string, () => Promise<string> | string>;
  /** Answer other origins too, the user in `Authorization: Test <id>` (see above). */
  crossOrigin?: boolean;
}

/**
 * `clock`: the shared clock, or `{ now: Date.now }` for tests where time runs for real (a
 * playing video needs the page's own timers).
 */
export async function startKsServer(
  clock: Pick<SharedClock, 'now'>,
  { expiresInSeconds = 60, privileges, scripts = {}, crossOrigin = false }: KsServerOptions = {},
): Promise<KsTestServer> {
  const [client, emulator] = await Promise.all([
    bundleKsClient(),
    startEmulator({ now: clock.now, partners: [{ ...PARTNER }] }),
  ]);
  const hits: RouteHit[] = [];
  let inflight = 0;
  let gate: Promise<void> | undefined;
  let failWith: number | undefined;
  const events: KsIssuerEvent[] = [];

  const middleware = kalturaKs({
    partnerId: PARTNER.id,
    sessionStart: { secret: PARTNER.userSecret },
    serviceUrl: emulator.url,
    expiresInSeconds,
    privileges,
    now: clock.now,
    getUser: (req) => {
      const auth = /^Test ([a-z]{1,20})$/.exec(req.get('authorization') ?? '');
      return crossOrigin && auth ? { id: auth[1]! } : cookieUser(req);
    },
    allowCrossSite: crossOrigin,
    onWarning: () => {},
    onEvent: (event) => events.push(event),
  });

  const app = express();
  app.get('/', (_req, res) => {
    res.type('html').send(PAGE);
  });
  app.get('/ks-client.js', (_req, res) => {
    res.type('js').send(client);
  });
  app.get('/player.js', (_req, res) => {
    res.type('js').send(playerBundle());
  });
  for (const [name, script] of Object.entries(scripts)) {
    app.get(`/${name}.js`, async (_req, res) => {
      res.type('js').send(await script());
    });
  }
  app.use((req, res, next) => {
    if (crossOrigin && req.path === '/kaltura/ks') {
      res.set({
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Allow-Headers': 'Authorization',
      });
      if (req.method === 'OPTIONS') return void res.status(204).end();
    }
    if (req.path === '/kaltura/ks' && req.method === 'GET') {
      const hit: RouteHit = {
        at: clock.now(),
        renew: req.query.renew === '1',
        reported: req.get('x-kaltura-rejected-ks') !== undefined,
        status: 0,
      };
      hits.push(hit);
      inflight++;
      res.on('close', () => {
        hit.status = res.statusCode;
        inflight--;
      });
      if (failWith !== undefined) {
        res
          .status(failWith)
          .set('Retry-After', '1')
          .json({ error: { code: 'ERR_KS_UNAVAILABLE' } });
        return;
      }
      if (gate) return void gate.then(() => next());
    }
    next();
  });
  app.post('/login', (req, res) => {
    const user = String(req.query.user ?? '');
    if (!/^[a-z]{1,20}$/.test(user)) {
      res.status(400).end();
      return;
    }
    res.cookie(USER_COOKIE, user, { path: '/', sameSite: 'lax' }).status(204).end();
  });
  app.use(middleware);
  app.post('/logout', async (req, res) => {
    await req.kaltura?.revoke({ endSession: true });
    res.clearCookie(USER_COOKIE, { path: '/' }).status(204).end();
  });

  const server = await listen(app);
  return {
    url: server.url,
    emulator,
    hits,
    get inflight() {
      return inflight;
    },
    events,
    failRoute(status) {
      failWith = status;
    },
    holdRoute() {
      let release = () => {};
      gate = new Promise<void>((resolve) => {
        release = () => {
          gate = undefined;
          resolve();
        };
      });
      return release;
    },
    async close() {
      await server.close();
      await middleware.engine.close();
      await emulator.close();
    },
  };
}
