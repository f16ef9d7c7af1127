import { KsError, type KsErrorCode } from '../errors.js';
import { createKsIssuer, type GetKsOptions, type KsIssuer } from '../issuer/issuer.js';
import type { KsSession } from '../issuer/types.js';
import { KsType } from '../ks/types.js';
import { invalidOption } from '../options.js';
import { formatPrivileges, type PrivilegesInput } from '../privileges/privileges.js';
import { headerValue } from './headers.js';
import { joinByPrecedence } from './privilege-precedence.js';
import { rejectedKsOf } from './report-rejected.js';
import type {
  HasHeaders,
  KalturaContext,
  KalturaKsOptions,
  KsHttpResponse,
  KsRouteBody,
  KsUser,
  MaybePromise,
} from './types.js';

/** What an adapter needs from a request to answer the route. */
export interface RouteRequest extends HasHeaders {
  method: string;
  /** The `renew` query parameter: `1` asks for a new KS. */
  renew?: boolean;
}

/**
 * The engine under both adapters: resolves the user, builds their request for
 * the issuer, and answers the browser route. Adapters only convert.
 */
export interface KsEngine<Req> {
  readonly issuer: KsIssuer;
  /** The route's path, or `false`. */
  readonly route: string | false;
  /**
   * Resolves the user and returns the lazy per-request context: at once when `getUser`
   * answers synchronously, else a promise (await it either way).
   */
  context(req: Req): MaybePromise<KalturaContext>;
  /**
   * Answers the route for `req`, given the context `context(req)` made for it: at once from
   * a warm cache, else a promise (await it either way).
   */
  respond(req: Req, context: KalturaContext, route: RouteRequest): MaybePromise<KsHttpResponse>;
  /**
   * One request through the engine, for an adapter: resolves the context, answers the
   * route when `route` is given (the request is for the route), and calls
   * `then(context, answer)` — `answer` is undefined off the route. `then` runs at once when
   * `getUser` answers synchronously and a warm cache serves the KS (the route's hot path),
   * else after a promise; `handle` returns what `then` returns, or a promise of it. It never
   * throws: an error (from `getUser`, or one the route has no answer for) rejects.
   */
  handle<R>(
    req: Req,
    route: RouteRequest | undefined,
    then: (context: KalturaContext, answer: KsHttpResponse | undefined) => R,
  ): R | Promise<Awaited<R>>;
  /**
   * Closes what the engine made from its options: the issuer (which at once
   * answers every request still waiting for a mint) and then the `store` given
   * in them. An `issuer` given instead is left open, with its store.
   */
  close(): Promise<void>;
}

const STATUS: Partial<Record<KsErrorCode, number>> = {
  ERR_KS_NO_USER: 401,
  ERR_KS_FORBIDDEN: 403,
  ERR_KS_INVALID_FIELD: 400,
  ERR_KS_UNAVAILABLE: 503,
  ERR_KS_ABORTED: 503,
  // Both are the server's configuration (its app token), which the browser cannot change.
  ERR_KS_CREDENTIALS: 503,
  ERR_KS_NOT_GRANTED: 503,
};

/** Options that configure the issuer the engine makes: meaningless next to `issuer`. */
const ISSUER_OPTION_NAMES = [
  'adminSecret',
  'minter',
  'sessionStart',
  'appToken',
  'serviceUrl',
  'client',
  'clientOptions',
  'ksVersion',
  'kalturaClockOffsetMs',
  'expiresInSeconds',
  'refreshAtFraction',
  'minRemainingMs',
  'minForcedRefreshIntervalMs',
  'max',
  'mintTimeoutMs',
  'failureBackoff',
  'store',
  'storeTimeoutMs',
  'lockTtlMs',
  'lockWaitMs',
  'random',
  'onEvent',
] as const;

/** An HTTP token (RFC 9110 §5.6.2): what a header name may be. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

type KsOverrides = Parameters<KalturaContext['getKs']>[0];

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/**
 * `f(value)` at once for a value, after it for a promise: the one place the route decides
 * between its hot path (no promise: `getUser` answered synchronously, a warm cache served
 * the KS) and a promise. On the promise's path `recover` answers what rejects (the value or
 * `f`); on the other, a throw of `f` is the caller's to catch.
 */
function chain<T, U>(
  value: MaybePromise<T>,
  f: (value: T) => U,
  recover?: (error: unknown) => U,
): U | Promise<Awaited<U>> {
  if (!(value instanceof Promise)) return f(value);
  const next = value.then(f);
  return (recover ? next.catch(recover) : next) as Promise<Awaited<U>>;
}

/** The one check that someone is signed in, on every path to a KS. */
function signedIn(user: KsUser | null): KsUser {
  if (user === null) throw new KsError('ERR_KS_NO_USER', 'Nobody is signed in');
  return user;
}

export function createKsEngine<Req>(options: KalturaKsOptions<Req>): KsEngine<Req> {
  if (typeof options !== 'object' || options === null)
    throw invalidOption('kalturaKs needs options');
  const {
    getUser,
    privileges,
    appId,
    route = '/kaltura/ks',
    allowAdminKs = false,
    allowCrossSite = false,
    varyHeaders = ['Cookie', 'Authorization'],
    onWarning = (message: string) => process.emitWarning(message, { code: 'KALTURA_KS' }),
  } = options;
  if (typeof getUser !== 'function')
    throw invalidOption('getUser must be a function of the request');
  const now = options.now ?? Date.now;
  if (route !== false && (typeof route !== 'string' || !route.startsWith('/'))) {
    throw invalidOption('route must be a path starting with "/", or false');
  }
  if (appId !== undefined && (typeof appId !== 'string' || appId === '')) {
    throw invalidOption('appId must be a non-empty string');
  }
  // Validate static privileges and the appId privilege now, not per request.
  const appIdPrivilege = appId === undefined ? '' : formatPrivileges({ appid: appId }, 1);
  const staticPrivileges =
    privileges === undefined || typeof privileges === 'function'
      ? undefined
      : formatPrivileges(privileges, 1);
  // Each a header name (an HTTP token): else Node refuses the Vary header on every answer.
  if (
    !Array.isArray(varyHeaders) ||
    !varyHeaders.every((name) => typeof name === 'string' && HEADER_NAME.test(name))
  )
    throw invalidOption('varyHeaders must be a list of header names');
  // Not merely truthy: `process.env.ALLOW_ADMIN_KS` is the string 'false', which would turn it on.
  if (typeof allowAdminKs !== 'boolean') throw invalidOption('allowAdminKs must be true or false');
  if (typeof allowCrossSite !== 'boolean')
    throw invalidOption('allowCrossSite must be true or false');

  let issuer: KsIssuer;
  if (options.issuer !== undefined) {
    const clash = ISSUER_OPTION_NAMES.find(
      (name) => (options as unknown as Record<string, unknown>)[name] !== undefined,
    );
    if (clash) {
      throw invalidOption(
        `Give either issuer or ${clash}, not both (set ${clash} on the issuer itself)`,
      );
    }
    if (options.partnerId !== undefined && options.partnerId !== options.issuer.partnerId) {
      throw invalidOption("partnerId differs from the issuer's partnerId");
    }
    issuer = options.issuer;
  } else {
    const {
      getUser: _g,
      privileges: _p,
      appId: _a,
      route: _r,
      allowAdminKs: _aa,
      allowCrossSite: _ac,
      varyHeaders: _v,
      issuer: _i,
      ...issuerOptions
    } = options;
    issuer = createKsIssuer({
      ...issuerOptions,
      onWarning,
      expiresInSeconds: options.expiresInSeconds ?? 3600,
    });
  }
  if (allowAdminKs) {
    onWarning(
      'kaltura-ks: allowAdminKs is on, so ADMIN sessions can be sent to browsers. Prefer USER sessions with the privileges they need.',
    );
  }

  const baseHeaders: Record<string, string> = {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
  if (varyHeaders.length > 0) baseHeaders.Vary = varyHeaders.join(', ');
  // Shared by every answer: frozen, so an adapter that edits one cannot change the rest.
  Object.freeze(baseHeaders);

  // The common case (static privileges, none from the user or the call) is one
  // string, joined once here rather than per request.
  const fixedPrivileges =
    typeof privileges === 'function'
      ? undefined
      : joinByPrecedence([staticPrivileges], appIdPrivilege);

  function privilegesFor(
    user: KsUser,
    req: Req,
    extra: PrivilegesInput | undefined,
  ): string | Promise<string> {
    if (fixedPrivileges !== undefined && user.privileges === undefined && extra === undefined) {
      return fixedPrivileges;
    }
    return computePrivileges(user, req, extra);
  }

  async function computePrivileges(
    user: KsUser,
    req: Req,
    extra: PrivilegesInput | undefined,
  ): Promise<string> {
    let configured = staticPrivileges;
    if (typeof privileges === 'function') {
      const computed = await privileges(user, req);
      configured = computed === undefined ? undefined : formatPrivileges(computed, 1);
    }
    // The configuration decides every privilege it names; the user's and the call's add others.
    return joinByPrecedence(
      [
        configured,
        user.privileges === undefined ? undefined : formatPrivileges(user.privileges, 1),
        extra === undefined ? undefined : formatPrivileges(extra, 1),
      ],
      appIdPrivilege,
    );
  }

  /** Without a promise when getUser answers synchronously: the route's hot path. */
  function context(req: Req): MaybePromise<KalturaContext> {
    let found: ReturnType<typeof getUser>;
    try {
      found = getUser(req);
    } catch (error) {
      return Promise.reject(error);
    }
    if (isThenable(found)) return Promise.resolve(found).then((user) => makeContext(req, user));
    try {
      return makeContext(req, found);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * A signed-in user's KS: at once (no promise) when the privileges are static and the
   * cache serves it. The one way to a KS, for `getKs()` and for the route.
   */
  function sessionOf(
    user: KsUser,
    req: Req,
    overrides: KsOverrides = {},
    getOptions?: GetKsOptions,
  ): MaybePromise<KsSession> {
    // Kaltura treats the users '' and '0' as anonymous: shared by everyone and, with
    // widget:1, never revocable. A signed-in user must not become that user.
    if (user.id === '' || user.id === '0') {
      throw new KsError(
        'ERR_KS_INVALID_FIELD',
        'A signed-in user cannot have the anonymous user id "" or "0"',
      );
    }
    const type = overrides.type ?? user.type ?? KsType.USER;
    const granted = privilegesFor(user, req, overrides.privileges);
    if (typeof granted !== 'string') {
      return granted.then((privileges) =>
        issuer.getKs({ userId: user.id, type, privileges }, getOptions),
      );
    }
    const request = { userId: user.id, type, privileges: granted };
    return issuer.getCachedKs(request, getOptions) ?? issuer.getKs(request, getOptions);
  }

  function makeContext(req: Req, found: KsUser | null | undefined): KalturaContext {
    const user = found ?? null;
    if (user !== null && (typeof user !== 'object' || typeof user.id !== 'string')) {
      throw invalidOption('getUser must return { id: string, … } or null');
    }
    return {
      user,
      async getKs(overrides, getOptions) {
        return sessionOf(signedIn(user), req, overrides, getOptions);
      },
      async revoke(revokeOptions) {
        if (user === null) return { revoked: 0, ended: 0, reach: 'fleet' };
        return issuer.revoke(user.id, revokeOptions);
      },
    };
  }

  // The route's body for a session, but for `serverTime`: serialized once per cached
  // session (the same object until it is renewed), not once per request.
  const bodyPrefixes = new WeakMap<KsSession, string>();
  function sessionBody(session: KsSession): string {
    let prefix = bodyPrefixes.get(session);
    if (prefix === undefined) {
      const body: Omit<KsRouteBody, 'serverTime'> = {
        ks: session.ks,
        partnerId: session.partnerId,
        userId: session.userId,
        type: session.type,
        privileges: session.privileges,
        expiresAt: session.expiresAt,
        renewableAt: session.issuedAt + issuer.minForcedRefreshIntervalMs,
      };
      prefix = `${JSON.stringify(body).slice(0, -1)},"serverTime":`;
      bodyPrefixes.set(session, prefix);
    }
    return `${prefix}${JSON.stringify(now())}}`;
  }

  function json(status: number, body: unknown, extra?: Record<string, string>): KsHttpResponse {
    return {
      status,
      headers: extra ? { ...baseHeaders, ...extra } : baseHeaders,
      body: JSON.stringify(body),
    };
  }

  function failure(error: KsError): KsHttpResponse {
    const status = STATUS[error.code] ?? 500;
    if (status === 503) {
      // Why Kaltura failed is for the server's logs (onEvent), not for the browser.
      const body = {
        error: { code: error.code, message: 'No KS is available right now; try again shortly' },
      };
      return json(status, body, { 'Retry-After': '5' });
    }
    return json(status, { error: { code: error.code, message: error.message } });
  }

  /**
   * Answers the route; at once (no promise) when the KS comes from a warm cache, which
   * is the route's hot path. Every check is made the same way on both paths.
   */
  function respond(
    req: Req,
    ctx: KalturaContext,
    request: RouteRequest,
  ): MaybePromise<KsHttpResponse> {
    try {
      // Fetch metadata: refuse requests made from other sites (they could not read
      // the answer, but they could still make us mint).
      if (!allowCrossSite && headerValue(request, 'sec-fetch-site') === 'cross-site') {
        throw new KsError('ERR_KS_FORBIDDEN', 'Cross-site requests for a KS are refused');
      }
      if (request.method === 'DELETE') {
        return ctx
          .revoke()
          .then((): KsHttpResponse => ({ status: 204, headers: baseHeaders, body: '' }), failed);
      }
      if (request.method !== 'GET') {
        return {
          ...json(405, { error: { code: 'ERR_KS_FORBIDDEN', message: 'Use GET or DELETE' } }),
          headers: { ...baseHeaders, Allow: 'GET, DELETE' },
        };
      }
      const user = signedIn(ctx.user);
      if ((user.type ?? KsType.USER) !== KsType.USER && !allowAdminKs) {
        throw new KsError(
          'ERR_KS_FORBIDDEN',
          'An ADMIN KS is not sent to a browser (see allowAdminKs)',
        );
      }
      // A page keeps what it gets for most of a lifetime: ask for a KS outside its renewal window.
      // A page whose KS Kaltura refused reports it (report-rejected.ts).
      const getOptions = {
        fresh: true,
        forceRefresh: request.renew === true,
        rejectedKs: rejectedKsOf(request),
      };
      return chain(sessionOf(user, req, undefined, getOptions), answer, failed);
    } catch (error) {
      try {
        return failed(error);
      } catch (unexpected) {
        return Promise.reject(unexpected);
      }
    }
  }

  function answer(session: KsSession): KsHttpResponse {
    // Check what Kaltura issued too: an app token may override the type to ADMIN.
    if (session.type !== KsType.USER && !allowAdminKs) {
      throw new KsError(
        'ERR_KS_FORBIDDEN',
        'An ADMIN KS is not sent to a browser (see allowAdminKs)',
      );
    }
    return { status: 200, headers: baseHeaders, body: sessionBody(session) };
  }

  /** A KsError the route has a status for becomes its answer; anything else is rethrown. */
  function failed(error: unknown): KsHttpResponse {
    if (error instanceof KsError && STATUS[error.code] !== undefined) return failure(error);
    throw error;
  }

  function handle<R>(
    req: Req,
    request: RouteRequest | undefined,
    then: (context: KalturaContext, answer: KsHttpResponse | undefined) => R,
  ): R | Promise<Awaited<R>> {
    try {
      return chain(context(req), (ctx) =>
        request === undefined
          ? then(ctx, undefined)
          : chain(respond(req, ctx, request), (answer) => then(ctx, answer)),
      ) as R | Promise<Awaited<R>>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  return {
    issuer,
    route,
    context,
    respond,
    handle,
    async close() {
      if (options.issuer !== undefined) return;
      // The store was given for this issuer alone: closing it is what lets the process exit.
      await issuer.close();
      await options.store?.close?.();
    },
  };
}
