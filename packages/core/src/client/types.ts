import type { Dispatcher } from 'undici';
import type { AppTokenHashType } from '../app-token/hash.js';
import type { Clock } from '../clock.js';
import type { KalturaApiError, KsError } from '../errors.js';
import type { KsType } from '../ks/types.js';
import type { PrivilegesInput } from '../privileges/privileges.js';

// ---------------------------------------------------------------------------
// Options

/** How failed attempts are retried. Only failures a retry can help are retried (see README). */
export interface KalturaRetryOptions {
  /** Attempts in all, the first included. Default 3. */
  maxAttempts?: number;
  /** The backoff before the first retry is drawn from [0, baseDelayMs). Default 100. */
  baseDelayMs?: number;
  /** The backoff never exceeds this (a `Retry-After` from the server may). Default 2000. */
  maxDelayMs?: number;
  /** No retry starts once this much time has passed since the call began. Default 10000. */
  maxTotalMs?: number;
}

/** Options of `createKalturaClient`. Durations are milliseconds unless the name says seconds. */
export interface KalturaClientOptions {
  /**
   * Kaltura's API URL as Kaltura writes `KALTURA_SERVICE_URL`: `https://www.kaltura.com`
   * or `https://www.kaltura.com/api_v3` (both mean the same; `/api_v3` is added when missing).
   */
  serviceUrl: string;
  /** Sent with every request; required by `session.start` and the app-token flow. */
  partnerId?: number;
  /** The KS sent with calls that need one (appToken.*, session.get/end, `request`). Settable. */
  ks?: string;
  /** Sent as `clientTag`, shows up in Kaltura's logs. Default `kaltura-ks`. */
  clientTag?: string;
  /** The widget for the app-token flow's widget session. Default `_<partnerId>`. */
  widgetId?: string;
  /** Lifetime asked for the app-token flow's widget session. Default 3600. */
  widgetSessionExpiresInSeconds?: number;
  /**
   * Kaltura's clock minus this one, in ms (or a function that tells it as it is measured):
   * the widget session's `validUntil` is on Kaltura's clock. Default 0. An issuer that builds
   * its client from `serviceUrl` passes its own measurement.
   */
  kalturaClockOffsetMs?: number | (() => number);
  /**
   * An undici dispatcher (Agent, Pool, MockAgent…) to send requests through. Default: a
   * keep-alive `Pool` for the service URL's origin, created and closed by the client.
   */
  dispatcher?: Dispatcher;
  /** Sockets the client's own pool may open to Kaltura. Default 64. Not used with `dispatcher`. */
  maxConnections?: number;
  /** Time to establish a connection (TCP + TLS). Default 5000. Not used with `dispatcher`. */
  connectTimeoutMs?: number;
  /** Time from sending a request to receiving all response headers. Default 15000. */
  headersTimeoutMs?: number;
  /** Time allowed between two chunks of a response body. Default 15000. */
  bodyTimeoutMs?: number;
  /** Deadline for one call, every attempt and backoff included. Default 30000. */
  requestTimeoutMs?: number;
  /** Retry policy, or `false` for a single attempt. */
  retry?: KalturaRetryOptions | false;
  /** Clock in epoch ms. Default `Date.now`. */
  now?: Clock;
  /** Source of jitter in [0, 1). Default `Math.random`. */
  random?: () => number;
  /**
   * Waits between attempts; must reject (or resolve early) when `signal` aborts. Default: a
   * timer. Inject one in tests so that backoff needs no real waiting.
   */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Observes requests, retries and failures. Receives no KS, secret, token or password. */
  onEvent?: (event: KalturaClientEvent) => void;
  /**
   * Observes each call as one unit, e.g. to trace it: called as a call begins, in the
   * caller's async context (a tracing span started here is a child of the caller's), and the
   * observer it returns hears that call's retries and, once, its end. Receives no KS, secret,
   * token or password; an observer that throws does not fail the call.
   */
  observeCall?: (call: KalturaCallInfo) => KalturaCallObserver | undefined;
}

/** A call as `observeCall` sees it: what is called, never with what. */
export interface KalturaCallInfo {
  service: string;
  /** `''` for `multirequest`, which has no action. */
  action: string;
}

/** Hears how one call goes (`KalturaClientOptions.observeCall`). Errors are already redacted. */
export interface KalturaCallObserver {
  /** An attempt failed and the call tries again after `delayMs`; `status`: Kaltura's HTTP status, when it answered. */
  retry?(event: { attempt: number; delayMs: number; error: KsError; status?: number }): void;
  /**
   * The call ended: `error` is what the caller gets (a `KalturaApiError` carries Kaltura's
   * code), absent when it succeeded; `status` is the last answer's HTTP status, absent when
   * no answer came.
   */
  end(event: { attempts: number; durationMs: number; status?: number; error?: KsError }): void;
}

/** Per-call options. */
export interface KalturaCallOptions {
  signal?: AbortSignal;
  /** The KS for this call instead of the client's `ks`; `null` sends none. */
  ks?: string | null;
}

/** Options of the generic `request` and `multirequest`. */
export interface KalturaRequestOptions extends KalturaCallOptions {
  /**
   * True when sending the request twice does no harm (a read, or a write of the same
   * values). Only then is it retried after a failure that may have reached the server
   * (a reset, a timeout, a 5xx). Default false.
   */
  idempotent?: boolean;
}

// ---------------------------------------------------------------------------
// Events

interface CallEvent {
  service: string;
  action: string;
}

/** What `onEvent` receives. Errors in events are already redacted. */
export type KalturaClientEvent =
  | (CallEvent & { type: 'request'; attempt: number })
  | (CallEvent & {
      type: 'response';
      attempt: number;
      status: number;
      durationMs: number;
      /** Kaltura's error code when the answer was an API error. */
      kalturaCode?: string;
    })
  | (CallEvent & { type: 'retry'; attempt: number; delayMs: number; error: KsError })
  | (CallEvent & { type: 'failure'; attempts: number; durationMs: number; error: KsError })
  | {
      type: 'widget-session';
      /** `cold`: none cached; `refresh`: the cached one is ageing; `invalid-ks`: Kaltura refused it. */
      reason: 'cold' | 'refresh' | 'invalid-ks';
      durationMs: number;
      error?: KsError;
    };

// ---------------------------------------------------------------------------
// Request parameters

/** A parameter value: objects and arrays are flattened as `name[field]`, `name[0]`. */
export type KalturaParamValue =
  | string
  | number
  | boolean
  | null
  | undefined
  | readonly KalturaParamValue[]
  | KalturaParams;
export interface KalturaParams {
  readonly [name: string]: KalturaParamValue;
}

export interface SessionStartParams {
  /** The partner's admin secret (or user secret, for a user session). */
  secret: string;
  /** Default `''` (anonymous). */
  userId?: string;
  /** Default `KsType.USER`. */
  type?: KsType;
  /** Default: the client's `partnerId`. */
  partnerId?: number;
  /** Lifetime; Kaltura defaults to 86400 and clamps to the partner's maximum. */
  expiresInSeconds?: number;
  privileges?: PrivilegesInput;
}

export interface SessionStartWidgetSessionParams {
  /** Default: the client's `widgetId`, else `_<partnerId>`. */
  widgetId?: string;
  expiresInSeconds?: number;
}

export interface SessionGetParams {
  /** The KS to describe. Default: the request's own KS. */
  session?: string;
}

export interface UserLoginByLoginIdParams {
  loginId: string;
  password: string;
  /** Default: the client's `partnerId`. */
  partnerId?: number;
  expiresInSeconds?: number;
  privileges?: PrivilegesInput;
  otp?: string;
}

/** The writable fields of an app token (Kaltura's names; `expiry` is absolute unix seconds). */
export interface KalturaAppTokenInput {
  /** Absolute unix seconds after which the token stops working. */
  expiry?: number;
  sessionType?: KsType;
  sessionUserId?: string;
  /** Lifetime in seconds of the sessions the token starts. */
  sessionDuration?: number;
  sessionPrivileges?: string;
  hashType?: AppTokenHashType;
  description?: string;
}

/** Kaltura's `KalturaAppTokenStatus`. */
export const KalturaAppTokenStatus = { DISABLED: 1, ACTIVE: 2, DELETED: 3 } as const;
export type KalturaAppTokenStatus =
  (typeof KalturaAppTokenStatus)[keyof typeof KalturaAppTokenStatus];

/** `KalturaAppTokenFilter`; `…In` fields take a list or a comma-separated string. */
export interface KalturaAppTokenFilter {
  idEqual?: string;
  idIn?: string | readonly string[];
  statusEqual?: number;
  statusIn?: string | readonly number[];
  sessionUserIdEqual?: string;
  createdAtGreaterThanOrEqual?: number;
  createdAtLessThanOrEqual?: number;
  updatedAtGreaterThanOrEqual?: number;
  updatedAtLessThanOrEqual?: number;
  orderBy?: string;
}

/** `KalturaFilterPager`. */
export interface KalturaFilterPager {
  pageSize?: number;
  /** 1-based. */
  pageIndex?: number;
}

export interface AppTokenStartSessionParams {
  id: string;
  /** `appTokenHash(ks of this request, token value, hashType)`. */
  tokenHash: string;
  userId?: string;
  type?: KsType;
  /** Upper bound; the token's `sessionDuration` and `expiry` may shorten it. */
  expiresInSeconds?: number;
  sessionPrivileges?: PrivilegesInput;
}

export interface StartAppTokenSessionParams {
  appTokenId: string;
  /** The token's value (32 hex). Never sent: only its hash with the widget KS is. */
  appTokenValue: string;
  /** The token's hash type. Default `SHA1`. */
  hashType?: AppTokenHashType | Lowercase<AppTokenHashType>;
  userId?: string;
  type?: KsType;
  expiresInSeconds?: number;
  privileges?: PrivilegesInput;
  signal?: AbortSignal;
}

export interface KalturaMultiRequestItem {
  service: string;
  action: string;
  params?: KalturaParams;
  /** This item's KS, instead of the one the whole multirequest carries. */
  ks?: string;
}

// ---------------------------------------------------------------------------
// Responses (numbers normalised: Kaltura may send `"123"` for 123)

/** `KalturaSessionInfo` as `session.get` returns it (without the KS). */
export interface KalturaSessionFields {
  partnerId: number;
  /** `''` for an anonymous session. */
  userId: string;
  /** Absolute unix seconds (`validUntil`). */
  expiry: number;
  /** 0 USER, 2 ADMIN. */
  sessionType: number;
  privileges: string;
}

/** `KalturaSessionInfo` with its KS, as `appToken.startSession` returns it. */
export interface KalturaSessionInfo extends KalturaSessionFields {
  ks: string;
}

export interface KalturaStartWidgetSessionResponse {
  partnerId: number;
  ks: string;
  /** `'0'` for a widget session. */
  userId: string;
}

export interface KalturaAppToken {
  id: string;
  /** The token's value: a credential. */
  token: string;
  partnerId: number;
  createdAt: number;
  updatedAt: number;
  status: number;
  /** Absolute unix seconds, when set. */
  expiry?: number;
  sessionType?: number;
  sessionUserId?: string;
  sessionDuration?: number;
  sessionPrivileges?: string;
  /** Kaltura's spelling (`SHA1`, `SHA256`…). */
  hashType: string;
  description?: string;
}

export interface KalturaAppTokenListResponse {
  objects: KalturaAppToken[];
  totalCount: number;
}

/** One answer of a multirequest: a value, or the API error Kaltura gave for that item. */
export type KalturaMultiRequestResult =
  | { ok: true; value: unknown }
  | { ok: false; error: KalturaApiError };

// ---------------------------------------------------------------------------
// The client

export interface KalturaSessionService {
  /** Returns the new KS. Sends no KS unless `options.ks` is given. */
  start(params: SessionStartParams, options?: KalturaCallOptions): Promise<string>;
  startWidgetSession(
    params?: SessionStartWidgetSessionParams,
    options?: KalturaCallOptions,
  ): Promise<KalturaStartWidgetSessionResponse>;
  get(params?: SessionGetParams, options?: KalturaCallOptions): Promise<KalturaSessionFields>;
  /** Revokes the request's KS (`options.ks`, else the client's). */
  end(options?: KalturaCallOptions): Promise<void>;
}

export interface KalturaUserService {
  /** Returns the new KS. */
  loginByLoginId(params: UserLoginByLoginIdParams, options?: KalturaCallOptions): Promise<string>;
}

export interface KalturaAppTokenService {
  add(appToken: KalturaAppTokenInput, options?: KalturaCallOptions): Promise<KalturaAppToken>;
  get(id: string, options?: KalturaCallOptions): Promise<KalturaAppToken>;
  list(
    filter?: KalturaAppTokenFilter,
    pager?: KalturaFilterPager,
    options?: KalturaCallOptions,
  ): Promise<KalturaAppTokenListResponse>;
  update(
    id: string,
    appToken: KalturaAppTokenInput,
    options?: KalturaCallOptions,
  ): Promise<KalturaAppToken>;
  delete(id: string, options?: KalturaCallOptions): Promise<void>;
  /** The request's KS (`options.ks`, else the client's) is the one `tokenHash` was made with. */
  startSession(
    params: AppTokenStartSessionParams,
    options?: KalturaCallOptions,
  ): Promise<KalturaSessionInfo>;
}

export interface KalturaSystemService {
  /** Kaltura's clock, unix seconds. */
  getTime(options?: KalturaCallOptions): Promise<number>;
  ping(options?: KalturaCallOptions): Promise<boolean>;
}

export interface KalturaClient {
  /** The normalised service URL, ending in `/api_v3`. */
  readonly serviceUrl: string;
  readonly partnerId: number | undefined;
  /** The default KS; set it to change the KS later calls send. */
  ks: string | undefined;
  readonly session: KalturaSessionService;
  readonly user: KalturaUserService;
  readonly appToken: KalturaAppTokenService;
  readonly system: KalturaSystemService;
  /** Any action; resolves with Kaltura's parsed JSON answer. Rejects with API errors. */
  request(
    service: string,
    action: string,
    params?: KalturaParams,
    options?: KalturaRequestOptions,
  ): Promise<unknown>;
  /** Several actions in one round trip; an item's API error is returned, not thrown. */
  multirequest(
    items: readonly KalturaMultiRequestItem[],
    options?: KalturaRequestOptions,
  ): Promise<KalturaMultiRequestResult[]>;
  /**
   * A KS from an app token: widget session → `appTokenHash` → `appToken.startSession`.
   * The widget session is cached and shared, so a warm call is one round trip.
   */
  startAppTokenSession(params: StartAppTokenSessionParams): Promise<KalturaSessionInfo>;
  /** Closes the connection pool the client created (not an injected `dispatcher`). */
  close(): Promise<void>;
}
