import { readFileSync } from 'node:fs';
import { type Clock, KsError, verifyKs } from '@kaltura-ks/core';
import type { KsIssuerOptions } from '@kaltura-ks/core/issuer';
import { jwtUser, type KalturaKsMiddleware, kalturaKs } from '@kaltura-ks/express';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { SignJWT } from 'jose';
import type { DemoConfig } from './config.js';
import { createDemoMetrics } from './metrics.js';
import { playerBundle } from './player-bundle.js';

export const SESSION_COOKIE = 'demo_session';
/** Where the page loads the Kaltura Player from on the embedded emulator (the npm package's bundle). */
export const PLAYER_SCRIPT = '/player/kaltura-ovp-player.js';
const JWT_ISSUER = 'kaltura-ks-demo';
const SESSION_HOURS = 8;
const MAX_USER_LENGTH = 64;

/** How the demo reaches Kaltura (the embedded emulator or a real account), decided by main.ts. */
export interface KalturaSetup {
  issuerOptions: Pick<
    KsIssuerOptions,
    | 'partnerId'
    | 'adminSecret'
    | 'sessionStart'
    | 'appToken'
    | 'serviceUrl'
    | 'client'
    | 'clientOptions'
    | 'minter'
  >;
  /** Admin secrets the server can verify KSs with, when it has them. */
  verifySecrets?: readonly string[];
  /** Shown on the page: where KSs come from (never a secret). */
  description: { backend: string; partnerId: number; strategy: string; serviceUrl: string };
}

export interface PageAssets {
  html: string;
  js: string;
  css: string;
}

export interface DemoAppOptions {
  config: Pick<
    DemoConfig,
    'expiresInSeconds' | 'sessionSecret' | 'defaultUserId' | 'playerId' | 'entryId' | 'strategy'
  >;
  kaltura: KalturaSetup;
  assets: PageAssets;
  /**
   * The clock (epoch ms) for everything time-based: KS expiry and renewal, the sign-in
   * cookie's JWT, KS verification. Give prepareKaltura the same one. Default `Date.now`.
   */
  now?: Clock;
  /** Where warnings and issuer errors are reported (never with a secret or KS). */
  log?: (line: string) => void;
}

/** A user name is safe to sign in with: short, printable, no KS field separator. */
function checkUserName(value: unknown): string | { error: string } {
  if (typeof value !== 'string' || value.trim() === '') return { error: 'Type a user name.' };
  const user = value.trim();
  if (user.length > MAX_USER_LENGTH)
    return { error: `A user name has at most ${MAX_USER_LENGTH} characters.` };
  if (!/^[\p{L}\p{N} ._@+-]+$/u.test(user)) {
    return { error: 'Use letters, digits, spaces and . _ @ + - only.' };
  }
  return user;
}

/** Refuses state-changing requests sent from another site (the cookie is SameSite=Lax too). */
function sameOrigin(req: Request): boolean {
  const origin = req.get('origin');
  if (origin === undefined) return req.get('sec-fetch-site') !== 'cross-site';
  try {
    return new URL(origin).host === req.get('host');
  } catch {
    return false;
  }
}

export interface DemoApp {
  app: Express;
  engine: KalturaKsMiddleware['engine'];
  close(): Promise<void>;
}

export function createDemoApp(options: DemoAppOptions): DemoApp {
  const { config, kaltura, assets } = options;
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => {});
  const emulated = kaltura.description.backend === 'emulator';
  const playerConfigured =
    config.playerId !== undefined && config.entryId !== undefined && !emulated;
  // On the embedded emulator the page plays the entry with the player from npm, served here.
  const emulatorOrigin = emulated ? new URL(kaltura.description.serviceUrl).origin : undefined;
  const localPlayer = emulatorOrigin !== undefined && config.entryId !== undefined;

  const getUser = jwtUser({
    secret: config.sessionSecret,
    issuer: JWT_ISSUER,
    audience: JWT_ISSUER,
    cookie: SESSION_COOKIE,
    // The cookie's expiry is set on this clock (see /login): check it on the same one.
    now,
  });
  const metrics = createDemoMetrics();
  const ksOptions: Parameters<typeof kalturaKs>[0] = {
    ...kaltura.issuerOptions,
    getUser,
    // Least privilege: the entry the player shows, if any, and the app id for analytics.
    privileges: config.entryId === undefined ? undefined : { sview: config.entryId },
    appId: 'kaltura-ks-demo',
    expiresInSeconds: config.expiresInSeconds,
    now,
    onEvent: (event) => {
      if (event.type === 'mint-error')
        log(`mint failed for ${event.key.userId}: ${event.error.code}`);
      if (event.type === 'store-error') log(`store ${event.operation} failed`);
    },
    onWarning: log,
  };
  const middleware = kalturaKs(metrics.instrument(ksOptions));
  metrics.observe(middleware.engine.issuer);

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  app.use((_req, res, next) => {
    const playerHosts = playerConfigured
      ? ' https://cdnapisec.kaltura.com https://*.kaltura.com'
      : '';
    // The emulator answers the player's API calls and serves its media, posters included.
    const mediaHosts = localPlayer ? ` ${emulatorOrigin}` : playerHosts;
    res.set({
      'Content-Security-Policy': [
        "default-src 'self'",
        `script-src 'self'${playerHosts}`,
        `style-src 'self' 'unsafe-inline'${playerHosts}`,
        `img-src 'self' data:${mediaHosts}`,
        `media-src 'self' blob: data:${mediaHosts}`,
        `connect-src 'self'${mediaHosts}`,
        // hls.js transmuxes in a worker made from a blob.
        "worker-src 'self' blob:",
        "font-src 'self' data:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
      ].join('; '),
      'Referrer-Policy': 'no-referrer',
      'X-Content-Type-Options': 'nosniff',
    });
    next();
  });

  app.get('/', (_req, res) => {
    res.type('html').set('Cache-Control', 'no-cache').send(assets.html);
  });
  app.get('/app.js', (_req, res) => {
    res.type('js').set('Cache-Control', 'no-cache').send(assets.js);
  });
  app.get('/app.css', (_req, res) => {
    res.type('css').set('Cache-Control', 'no-cache').send(assets.css);
  });
  if (localPlayer) {
    app.get(PLAYER_SCRIPT, (_req, res) => {
      res.type('js').set('Cache-Control', 'no-cache').send(playerBundle());
    });
  }
  app.get('/healthz', (_req, res) => {
    res.type('text').send('ok');
  });
  app.get('/metrics', metrics.handler);

  app.use(middleware);

  app.get('/api/me', (req, res) => {
    res.set('Cache-Control', 'no-store').json({
      user: req.kaltura?.user ? { id: req.kaltura.user.id } : null,
      defaultUserId: config.defaultUserId ?? '',
      kaltura: kaltura.description,
      expiresInSeconds: config.expiresInSeconds,
      // The browser client's floors, scaled down for KSs shorter than a minute.
      clientTiming: {
        minRenewIntervalMs: Math.min(10_000, (config.expiresInSeconds * 1000) / 6),
        minRemainingMs: Math.min(10_000, (config.expiresInSeconds * 1000) / 6),
      },
      player: localPlayer
        ? {
            kind: 'emulator',
            partnerId: kaltura.description.partnerId,
            entryId: config.entryId,
            script: PLAYER_SCRIPT,
            serviceUrl: kaltura.description.serviceUrl,
            cdnUrl: emulatorOrigin,
          }
        : playerConfigured
          ? {
              kind: 'kaltura',
              partnerId: kaltura.description.partnerId,
              playerId: config.playerId,
              entryId: config.entryId,
            }
          : { kind: 'none', entryId: config.entryId ?? null },
    });
  });

  const form = express.urlencoded({ extended: false, limit: '2kb', parameterLimit: 5 });

  app.post('/login', form, async (req: Request, res: Response) => {
    if (!sameOrigin(req)) {
      res.status(403).json({ error: { code: 'CROSS_SITE', message: 'Sign in from this site.' } });
      return;
    }
    const user = checkUserName((req.body as Record<string, unknown> | undefined)?.user);
    if (typeof user !== 'string') {
      res.status(400).json({ error: { code: 'BAD_USER', message: user.error } });
      return;
    }
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user)
      .setIssuer(JWT_ISSUER)
      .setAudience(JWT_ISSUER)
      .setIssuedAt(Math.floor(now() / 1000))
      .setExpirationTime(Math.floor(now() / 1000) + SESSION_HOURS * 3600)
      .sign(config.sessionSecret);
    res.cookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: req.secure,
      path: '/',
      maxAge: SESSION_HOURS * 3600 * 1000,
    });
    if (req.accepts(['html', 'json']) === 'json') res.json({ user: { id: user } });
    else res.redirect(303, '/');
  });

  app.post('/logout', async (req: Request, res: Response) => {
    if (!sameOrigin(req)) {
      res.status(403).json({ error: { code: 'CROSS_SITE', message: 'Sign out from this site.' } });
      return;
    }
    // Drop the user's cached KSs here and end them at Kaltura where the way of minting can.
    const revoked = await req.kaltura?.revoke({ endSession: true });
    // With a shared store that did not confirm it, other instances may serve the old KS until
    // the issuer's retry lands; ending it at Kaltura (above) is what makes it useless meanwhile.
    if (revoked?.reach === 'instance') log('sign-out reached this instance only, for now');
    res.clearCookie(SESSION_COOKIE, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: req.secure,
    });
    if (req.accepts(['html', 'json']) === 'json') res.json({ user: null });
    else res.redirect(303, '/');
  });

  /**
   * What the signed-in user's own KS says, read on the server. Only the user's
   * own KS is decoded: the demo is not a decoding service for anyone's KS.
   */
  app.post(
    '/api/ks/inspect',
    express.json({ limit: '8kb' }),
    async (req: Request, res: Response) => {
      res.set('Cache-Control', 'no-store');
      const user = req.kaltura?.user;
      if (!user) {
        res.status(401).json({ error: { code: 'ERR_KS_NO_USER', message: 'Nobody is signed in' } });
        return;
      }
      const ks = (req.body as { ks?: unknown } | undefined)?.ks;
      if (typeof ks !== 'string' || ks === '') {
        res.status(400).json({ error: { code: 'BAD_REQUEST', message: 'Send { "ks": "…" }' } });
        return;
      }
      try {
        if (kaltura.verifySecrets !== undefined) {
          const fields = verifyKs(ks, {
            secrets: kaltura.verifySecrets,
            partnerId: kaltura.description.partnerId,
            now,
          });
          if (fields.userId !== user.id)
            throw new KsError('ERR_KS_FORBIDDEN', 'That KS belongs to another user');
          const { hash: _hash, ...shown } = fields;
          res.json({ verified: true, ...shown });
          return;
        }
        // Without an admin secret (an app token on a real account) the server can only vouch
        // for the KS it issued itself to this user.
        const session = await req.kaltura!.getKs();
        if (session.ks !== ks) throw new KsError('ERR_KS_FORBIDDEN', 'That is not your current KS');
        res.json({
          verified: false,
          version: ks.startsWith('djJ8') ? 2 : 1,
          partnerId: session.partnerId,
          userId: session.userId,
          type: session.type,
          privileges: session.privileges,
          validUntil: Math.floor(session.expiresAt / 1000),
        });
      } catch (error) {
        if (!(error instanceof KsError)) throw error;
        const status = error.code === 'ERR_KS_FORBIDDEN' ? 403 : 400;
        res.status(status).json({ error: { code: error.code, message: error.message } });
      }
    },
  );

  // Anything else that fails: a JSON error with a code, never a stack trace.
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    // Body parsers' errors carry a client status (400 malformed, 413 too large, 415 type).
    const given = (error as { status?: unknown })?.status;
    const clientStatus =
      typeof given === 'number' && given >= 400 && given < 500 ? given : undefined;
    let status = clientStatus ?? 500;
    let code =
      clientStatus === 413 ? 'TOO_LARGE' : clientStatus !== undefined ? 'BAD_REQUEST' : 'INTERNAL';
    if (error instanceof KsError) {
      code = error.code;
      status = error.code === 'ERR_KS_NO_USER' ? 401 : 500;
    }
    if (status === 500) log(`unexpected error: ${(error as Error)?.message ?? String(error)}`);
    if (!res.headersSent)
      res.status(status).json({ error: { code, message: 'The request failed' } });
  });

  return {
    app,
    engine: middleware.engine,
    close: async () => {
      await middleware.engine.close();
      await metrics.close();
    },
  };
}

export function readPageHtml(): string {
  return readFileSync(new URL('./page/index.html', import.meta.url), 'utf8');
}
