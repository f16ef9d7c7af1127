import type { GetKsOptions, KsIssuer } from '../issuer/issuer.js';
import type { KsIssuerOptions } from '../issuer/options.js';
import type { KsRevokeResult, KsSession } from '../issuer/types.js';
import type { KsType } from '../ks/types.js';
import type { PrivilegesInput } from '../privileges/privileges.js';

/** Who a request is for, as the app's `getUser` says. */
export interface KsUser {
  id: string;
  /** Privileges for this user's KS, on top of the configured ones. */
  privileges?: PrivilegesInput;
  /** Default `KsType.USER`. An ADMIN KS never reaches a browser unless `allowAdminKs` is set. */
  type?: KsType;
}

export type MaybePromise<T> = T | Promise<T>;

/**
 * A request with headers: as Node gives them (Express's `req`, Koa's `ctx`), or as the
 * Fetch API does (a `Request`, whose `headers` has `get`).
 */
export interface HasHeaders {
  headers: Record<string, string | string[] | undefined> | { get(name: string): string | null };
}

/**
 * The middleware options, shared by the Express and Koa adapters: the issuer's
 * options (one way to mint, lifetimes, cache limits) plus the request hooks. Validated
 * once, when the middleware is made: a bad one throws `ERR_KS_INVALID_OPTION` naming it
 * (`ERR_KS_INVALID_FIELD` for static `privileges` or an `appId` that could not go into a
 * KS); nothing is parsed per request. Durations named `…Ms` are milliseconds;
 * `expiresInSeconds` is seconds, as Kaltura counts.
 */
export interface KalturaKsOptions<Req> extends Omit<KsIssuerOptions, 'expiresInSeconds'> {
  /**
   * Who the request is for: `{ id, privileges?, type? }`, or `null`/`undefined` when nobody
   * is signed in (the route then answers 401, and no KS is minted). May be async;
   * `jwtUser(…)` is a ready one.
   */
  getUser: (req: Req) => MaybePromise<KsUser | null | undefined>;
  /**
   * Privileges for every KS: a string (`'sview:*,edit:0_abc'`), an object
   * (`{ sview: '*', edit: ['0_a', '0_b'], disableentitlement: true }`), or a function of the
   * user and request returning either (or `undefined`), called when a KS is needed. Static
   * ones are validated at start.
   */
  privileges?:
    | PrivilegesInput
    | ((user: KsUser, req: Req) => MaybePromise<PrivilegesInput | undefined>);
  /** Adds `appid:<appId>`, which Kaltura uses for per-application analytics. */
  appId?: string;
  /** Lifetime of each KS, in seconds. Default 3600. */
  expiresInSeconds?: number;
  /**
   * Where the browser fetches its KS: a path starting with `/`. Default `/kaltura/ks`;
   * `false` mounts no route (the request context only).
   */
  route?: string | false;
  /**
   * Let the route hand an ADMIN KS to a browser. Off by default; a warning is emitted once when
   * on. A boolean: anything else (the string `'false'` of an environment variable) is refused.
   */
  allowAdminKs?: boolean;
  /** Answer cross-site requests (`Sec-Fetch-Site: cross-site`) too. Off by default; a boolean. */
  allowCrossSite?: boolean;
  /** The request headers that identify the user, sent as `Vary`. Default `Cookie, Authorization`; `[]` sends none. */
  varyHeaders?: readonly string[];
  /**
   * An issuer from `createKsIssuer()` to share between several middlewares. Its own options
   * then apply: an issuer option given here as well is refused (set it on the issuer), as
   * is a different `partnerId`; `now` (the route's `serverTime`) and `onWarning` still apply
   * to the middleware. `engine.close()` leaves it open.
   */
  issuer?: KsIssuer;
}

/** What `req.kaltura` (Express) and `ctx.state.kaltura` (Koa) hold. */
export interface KalturaContext {
  /** The signed-in user, or `null`. */
  readonly user: KsUser | null;
  /**
   * This user's KS, minted on first use and cached: nothing is minted for a
   * request that does not ask. Throws `ERR_KS_NO_USER` without a user.
   */
  getKs(
    overrides?: { privileges?: PrivilegesInput; type?: KsType },
    options?: GetKsOptions,
  ): Promise<KsSession>;
  /**
   * Drops this user's cached sessions (on logout), optionally ending them at
   * Kaltura: the issuer's `revoke` (with nobody signed in, nothing to do).
   * `reach: 'instance'` means the shared store has not confirmed it yet.
   */
  revoke(options?: { endSession?: boolean }): Promise<KsRevokeResult>;
}

/** The JSON the route answers with. Times are epoch milliseconds. */
export interface KsRouteBody {
  ks: string;
  partnerId: number;
  userId: string;
  type: number;
  privileges: string;
  /** When the KS expires, on the server's clock. */
  expiresAt: number;
  /** Before this (server clock), `?renew=1` answers this same KS: the issuer's `minForcedRefreshIntervalMs`. */
  renewableAt: number;
  /** The server's clock when it answered, so the browser can correct its own. */
  serverTime: number;
}

/** A framework-neutral response, which each adapter writes out. */
export interface KsHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}
