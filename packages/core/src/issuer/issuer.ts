import { LRUCache } from 'lru-cache';
import { type AppTokenHashType, toAppTokenHashType } from '../app-token/hash.js';
import { createKalturaClient } from '../client/client.js';
import type { KalturaClient, KalturaClientOptions } from '../client/types.js';
import { type Clock, systemClock } from '../clock.js';
import { isKsError, KalturaApiError, KsError } from '../errors.js';
import {
  checkPartnerId,
  checkPositiveInteger,
  checkSecret,
  checkType,
  checkUserId,
} from '../ks/fields.js';
import { KsType, type KsVersion } from '../ks/types.js';
import { formatPrivileges, normalizePrivileges } from '../privileges/privileges.js';
import { PartnerBreaker, RequestFailures } from './breaker.js';
import { checkClockOffset, KalturaClock, type KalturaClockView } from './clock-offset.js';
import { credentialsError, failureKind, kalturaCodeOf } from './credentials.js';
import { checkGrant } from './grant-check.js';
import { localMinter } from './local-minter.js';
import type { KsMinter, MintRequest } from './minter.js';
import { type FreshnessPolicy, freshness } from './policy.js';
import { RejectedReports } from './rejected.js';
import { appTokenMinter, clientLifecycle, sessionStartMinter } from './remote-minters.js';
import { PendingRevocations } from './revocations.js';
import { type SharedSessionCheck, sharedSessionMismatch } from './session-match.js';
import type { KsLockRelease, KsSharedRead, KsSharedStore, KsStoreKey } from './store.js';
import type {
  KsEvictReason,
  KsIssuerEvent,
  KsKeyInfo,
  KsRequest,
  KsRevokeReach,
  KsRevokeResult,
  KsSession,
} from './types.js';

/**
 * How an issuer mints (exactly one of `adminSecret`, `sessionStart`, `appToken`, `minter`),
 * caches and renews. Durations named `…Ms` are milliseconds.
 */
export interface KsIssuerOptions {
  /** The Kaltura partner (account) id. */
  partnerId: number;
  /** Mint locally, signing with this admin secret (no network). */
  adminSecret?: string;
  /**
   * Mint with `session.start`, sending this secret: the admin secret, or the
   * user secret (which can only make USER sessions).
   */
  sessionStart?: { secret: string };
  /**
   * Mint through an app token (the way production integrations should run:
   * the admin secret never leaves the account owner).
   */
  appToken?: {
    id: string;
    token: string;
    /** The hash type the token was made with: `MD5`, `SHA1` (default), `SHA256` or `SHA512`. */
    hashType?: AppTokenHashType | Lowercase<AppTokenHashType>;
  };
  /** Any other way of minting. */
  minter?: KsMinter;
  /**
   * Kaltura's API, as `KALTURA_SERVICE_URL` is written (`https://www.kaltura.com/api_v3`),
   * for `sessionStart` and `appToken` (and, with `adminSecret`, for `revoke(…, { endSession })`).
   */
  serviceUrl?: string;
  /** A client to use instead of one built from `serviceUrl` (the issuer then does not close it). */
  client?: KalturaClient;
  /** Options for the client built from `serviceUrl` (timeouts, retries, dispatcher…). */
  clientOptions?: Omit<KalturaClientOptions, 'serviceUrl' | 'partnerId'>;
  /** KS format for local signing: 2 (default) or 1. */
  ksVersion?: KsVersion;
  /**
   * Kaltura's clock minus this server's, in ms, where the issuer cannot measure it (no
   * `serviceUrl` or `client`): Kaltura checks a KS's `validUntil` on its own clock. With
   * a `serviceUrl` it is measured with `system.getTime` (before the first mint, then every
   * 10 minutes) unless this option fixes it. Default 0.
   */
  kalturaClockOffsetMs?: number;
  /** Lifetime of each KS, in seconds. Default 3600: short sessions, as Kaltura recommends for browsers. */
  expiresInSeconds?: number;
  /** A KS is renewed once this fraction of its lifetime has passed. Default 0.8. */
  refreshAtFraction?: number;
  /**
   * A KS is never handed out with less life left than this (ms); it is renewed
   * before then at the latest. Default: a tenth of the lifetime, at most 60 s.
   */
  minRemainingMs?: number;
  /** `forceRefresh` is ignored for a KS younger than this (ms), so a button cannot hammer Kaltura. Default 10 s. */
  minForcedRefreshIntervalMs?: number;
  /** Most sessions kept in the cache. Default 10,000. */
  max?: number;
  /**
   * A mint ends at most this long (ms) after it started: its signal aborts, and every caller
   * waiting on it gets `ERR_KS_UNAVAILABLE` (the `mint-error` event says `ERR_KS_TIMEOUT`).
   * Default 10 s.
   */
  mintTimeoutMs?: number;
  /**
   * Back-off after failed mints (ms). Default 1 s doubling to 60 s. Kaltura down is one
   * back-off for the whole partner (one mint probes, and its success serves every user
   * again); a request Kaltura refuses backs off for that request alone.
   */
  failureBackoff?: { baseMs?: number; maxMs?: number };
  /**
   * A cache shared by several instances (e.g. `@kaltura-ks/redis`), behind the
   * in-memory one: a KS minted by one instance serves all, concurrent misses
   * across the fleet cause one mint, and revocations reach every instance.
   */
  store?: KsSharedStore;
  /**
   * Each call to the shared store may take this long (ms) before the issuer goes on alone.
   * Default 1 s: a Redis round trip is well under a millisecond, but a cold storm queues
   * thousands of calls at once, and a bound that such a queue crosses makes every
   * instance mint alone exactly when sharing matters most.
   */
  storeTimeoutMs?: number;
  /** How long an instance may hold the fleet-wide mint lock (ms). Default: `mintTimeoutMs`. */
  lockTtlMs?: number;
  /**
   * How long an instance waits for another's mint (ms) before minting itself.
   * If the holder lets go sooner without a KS (it crashed and its lock lapsed,
   * or its mint failed), one waiter takes the lock over and the others wait
   * for it. Default: half of `mintTimeoutMs`.
   */
  lockWaitMs?: number;
  /** The clock, epoch ms (the route's `serverTime` too). Default `Date.now`. */
  now?: Clock;
  /** Jitter source, [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Hit, miss, refresh, mint, eviction and store events, for logs and metrics; never a KS or secret. */
  onEvent?: (event: KsIssuerEvent) => void;
  /**
   * Runs each of this instance's mints (waiting for Kaltura's clock, the minter's call, the
   * check of what it issued) through your code, e.g. inside a tracing span's context so that
   * the Kaltura API calls the mint makes are that span's children: call `mint()` once and
   * return its promise, which settles with the mint (it gives no KS). What the mint does is
   * what counts: a hook that throws, or never calls `mint()`, does not stop it.
   */
  aroundMint?: (mint: () => Promise<void>, info: { key: KsKeyInfo; kind: string }) => Promise<void>;
  /** Where configuration warnings go. Default `process.emitWarning`. */
  onWarning?: (message: string) => void;
}

export interface GetKsOptions {
  /** Mint a new KS even if the cached one is fresh (rate-limited by `minForcedRefreshIntervalMs`). */
  forceRefresh?: boolean;
  /**
   * For a KS that a page will keep for most of its lifetime (the browser
   * route asks for this): never serve one from the renewal window while a
   * background refresh runs — wait for the new one — and count a KS as due
   * a tenth of its lifetime early. A page renews at about 80 % of the life
   * left when it got the KS; with the earlier threshold, its renewal request
   * always finds a newer KS instead of getting the same one back.
   */
  fresh?: boolean;
  /**
   * A KS the caller saw Kaltura refuse (`INVALID_KS`). When it is the KS this request is
   * served and Kaltura, asked (at most once per key every `minForcedRefreshIntervalMs`),
   * refuses it too, the user's sessions are dropped as `revoke` drops them and a new KS is
   * minted at once, however young the refused one; otherwise nothing changes. Reported as
   * a `rejected` event. Asking needs a way to reach Kaltura (`serviceUrl` or `client`);
   * without one the report counts as `forceRefresh`.
   */
  rejectedKs?: string;
  signal?: AbortSignal;
}

export interface KsIssuer {
  readonly partnerId: number;
  /** The way this issuer mints: `local`, `session-start`, `app-token` or a custom minter's kind. */
  readonly kind: string;
  /** A KS younger than this (ms) is not renewed by `forceRefresh`. */
  readonly minForcedRefreshIntervalMs: number;
  /**
   * Kaltura's clock minus this server's, in ms, as the issuer uses it: measured with
   * `system.getTime` and rounded up by the measurement's uncertainty (Kaltura answers in
   * whole seconds: at most a second plus the round trip), so a KS is never thought to live
   * longer than it does; or `kalturaClockOffsetMs`. Every `expiresAt` is on this server's clock.
   */
  readonly clockOffsetMs: number;
  getKs(request: KsRequest, options?: GetKsOptions): Promise<KsSession>;
  /**
   * The synchronous half of `getKs`: the session `getKs` would answer at once from the
   * cache (starting the same background renewal, reporting the same `hit`), or
   * `undefined` when `getKs` would have to wait for a mint. For hot paths that want to
   * skip a promise when they can; `signal` is not used.
   */
  getCachedKs(request: KsRequest, options?: GetKsOptions): KsSession | undefined;
  /** The cached session for a request, if any, without minting or renewing. */
  peek(request: KsRequest): KsSession | undefined;
  /**
   * Drops every cached session of a user (logout); mints in flight for them
   * are discarded: their KS goes to the callers already waiting, but is
   * neither cached nor written to the shared store, and later requests mint
   * anew. With a shared store this holds across the fleet: the store deletes
   * the user's sessions and tells every instance, and a KS whose mint began on
   * any instance before the revocation reached the store is refused by it
   * (see `KsSharedRead.fence`), even if the broadcast reaches that instance
   * late. A revocation the store does not confirm is never lost: this
   * instance refuses the user's older shared sessions and retries until the
   * store confirms it; `reach` says which happened. With `endSession`, also
   * ends the dropped sessions at Kaltura where the way of minting can
   * (`session.end`) — with a shared store, every session the store held for
   * the user, whichever instance minted it, each once; one that could not be
   * ended is reported as an `end-error` event and never makes `revoke` reject.
   */
  revoke(userId: string, options?: { endSession?: boolean }): Promise<KsRevokeResult>;
  /**
   * Drops every cached session (and, with a shared store, tells the fleet; `reach` as for
   * `revoke`), and forgets the back-off of a Kaltura outage (not refused credentials).
   */
  clear(): Promise<{ reach: KsRevokeReach }>;
  readonly size: number;
  close(): Promise<void>;
}

/**
 * A request, validated and keyed. What a mint needs and what events report are made
 * only when asked for: a cache hit needs the key alone.
 */
class Normalized {
  #info: KsKeyInfo | undefined;
  #storeKey: KsStoreKey | undefined;
  constructor(
    readonly key: string,
    private readonly partnerId: number,
    private readonly userId: string,
    private readonly type: KsType,
    private readonly memo: { privileges: string; normalized: string },
    private readonly expiresInSeconds: number,
    /** How this issuer mints (`app-token:<id>`...): sessions are shared only between issuers that mint alike. */
    private readonly minting: string,
  ) {}

  /** The key in the shared store: the cache key and the way of minting. */
  get storeKey(): KsStoreKey {
    this.#storeKey ??= {
      partnerId: this.partnerId,
      userId: this.userId,
      id: `${this.minting}\n${this.key}`,
    };
    return this.#storeKey;
  }

  get mint(): MintRequest {
    return {
      userId: this.userId,
      type: this.type,
      privileges: this.memo.privileges,
      expiresInSeconds: this.expiresInSeconds,
    };
  }

  get info(): KsKeyInfo {
    this.#info ??= {
      partnerId: this.partnerId,
      userId: this.userId,
      type: this.type,
      privileges: this.memo.normalized,
    };
    return this.#info;
  }
}

interface Flight {
  promise: Promise<KsSession>;
  userId: string;
  discarded: boolean;
  controller: AbortController;
  /** The breaker's epoch when the mint started. */
  epoch: number;
  /** This mint probes Kaltura for an open breaker. */
  probe: boolean;
}

const MEMO_MAX = 1024;
/** Distinct warnings given when nobody listens to events. */
const WARNINGS_MAX = 64;
/** Errors a waiting caller gets as they are; any other becomes `ERR_KS_UNAVAILABLE`. */
const PASSED_ON = [
  'ERR_KS_UNAVAILABLE',
  'ERR_KS_ABORTED',
  'ERR_KS_CREDENTIALS',
  'ERR_KS_NOT_GRANTED',
] as const;

/** Kaltura's test is a substring one (`widget:1` anywhere); refuse any `widget` name too. */
function isWidgetLike(memo: { privileges: string; normalized: string }): boolean {
  return (
    memo.privileges.includes('widget:1') ||
    memo.normalized.split(',').some((entry) => entry === 'widget' || entry.startsWith('widget:'))
  );
}

/**
 * What a cache key stands for, read back from it rather than kept beside it: the key
 * is `partnerId\ntype\nuserId\n` and the privileges' key form, whose first line is
 * their normalised form (no field holds a control character: see #normalize).
 */
function keyInfoOf(key: string): KsKeyInfo {
  const [partnerId, type, userId, privileges] = key.split('\n');
  return {
    partnerId: Number(partnerId),
    userId: userId ?? '',
    type: Number(type),
    privileges: privileges ?? '',
  };
}

function option(message: string): KsError {
  return new KsError('ERR_KS_INVALID_OPTION', message);
}

function checkFraction(value: number): number {
  if (typeof value !== 'number' || !(value > 0 && value < 1))
    throw option('refreshAtFraction must be between 0 and 1');
  return value;
}

function checkMs(value: unknown, name: string, allowZero = false): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    (!allowZero && value === 0)
  ) {
    throw option(
      `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number of milliseconds`,
    );
  }
  return value;
}

export function createKsIssuer(options: KsIssuerOptions): KsIssuer {
  if (typeof options !== 'object' || options === null) throw option('createKsIssuer needs options');
  return new Issuer(options);
}

class Issuer implements KsIssuer {
  readonly partnerId: number;
  readonly kind: string;
  readonly #minter: KsMinter;
  readonly #now: Clock;
  readonly #random: () => number;
  readonly #onEvent: ((event: KsIssuerEvent) => void) | undefined;
  readonly #aroundMint: KsIssuerOptions['aroundMint'];
  readonly #warn: (message: string) => void;
  readonly #warned = new Set<string>();
  readonly #expiresInSeconds: number;
  readonly #policy: FreshnessPolicy;
  readonly minForcedRefreshIntervalMs: number;
  readonly #mintTimeoutMs: number;
  readonly #breaker: PartnerBreaker;
  readonly #clock: KalturaClock;
  /** What a client of the issuer's own can read Kaltura's clock with. */
  #getTime: ((signal: AbortSignal) => Promise<number>) | undefined;
  /** The minter reads the offset itself once Kaltura has answered (a built-in remote one). */
  #offsetAfterMint = false;
  /** The privileges a minted KS carries beyond the request, for its mint event. */
  readonly #extras = new WeakMap<KsSession, string>();
  readonly #cache: LRUCache<string, KsSession>;
  /** The keys cached for each user: one key as itself (most users have one), more in a list. */
  readonly #byUser = new Map<string, string | string[]>();
  readonly #flights = new Map<string, Flight>();
  readonly #failures: RequestFailures;
  readonly #memo = new Map<string, { privileges: string; normalized: string; keyed: string }>();
  /** Local signing knows its KS version; a remote or custom minter may meet either. */
  #keyVersions: readonly KsVersion[] = [1, 2];
  readonly #store: KsSharedStore | undefined;
  readonly #storeTimeoutMs: number;
  readonly #lockTtlMs: number;
  readonly #lockWaitMs: number;
  readonly #unsubscribe: (() => void) | undefined;
  /** Revocations the shared store has not confirmed: their tombstones and retries. */
  readonly #revocations: PendingRevocations | undefined;
  /** How this issuer mints, for shared-store keys: sessions are shared only between issuers that mint alike. */
  readonly #minting: string;
  /** With local signing: the admin secret, to verify a KS read from the shared store. */
  readonly #verifySecret: string | undefined;
  /** The fleet-wide locks of this instance's mints in progress: `close()` lets them go. */
  readonly #heldLocks = new Set<KsLockRelease>();
  /** Callers waiting for a KS: `close()` answers each of them at once. */
  readonly #waiting = new Set<() => void>();
  #closed = false;
  readonly #reports: RejectedReports;
  #evictReason: KsEvictReason | undefined;

  constructor(options: KsIssuerOptions) {
    this.partnerId = checkPartnerId(options.partnerId);
    this.#now = options.now ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#onEvent = options.onEvent;
    if (options.aroundMint !== undefined && typeof options.aroundMint !== 'function')
      throw option('aroundMint must be a function');
    this.#aroundMint = options.aroundMint;
    this.#warn =
      options.onWarning ?? ((message) => process.emitWarning(message, { code: 'KALTURA_KS' }));
    this.#expiresInSeconds = checkPositiveInteger(
      options.expiresInSeconds ?? 3600,
      'expiresInSeconds',
    );
    const lifetimeMs = this.#expiresInSeconds * 1000;
    this.#policy = {
      refreshAtFraction: checkFraction(options.refreshAtFraction ?? 0.8),
      minRemainingMs: checkMs(
        options.minRemainingMs ?? Math.min(60_000, lifetimeMs / 10),
        'minRemainingMs',
        true,
      ),
    };
    if (this.#policy.minRemainingMs >= lifetimeMs / 2) {
      throw option(
        'minRemainingMs must be less than half of expiresInSeconds, or every KS would be renewed at once',
      );
    }
    this.minForcedRefreshIntervalMs = checkMs(
      options.minForcedRefreshIntervalMs ?? 10_000,
      'minForcedRefreshIntervalMs',
      true,
    );
    this.#mintTimeoutMs = checkMs(options.mintTimeoutMs ?? 10_000, 'mintTimeoutMs');
    const backoff = {
      baseMs: checkMs(options.failureBackoff?.baseMs ?? 1_000, 'failureBackoff.baseMs'),
      maxMs: checkMs(options.failureBackoff?.maxMs ?? 60_000, 'failureBackoff.maxMs'),
    };
    const max = options.max ?? 10_000;
    if (!Number.isSafeInteger(max) || max < 1) throw option('max must be a positive integer');

    this.#minter = this.#createMinter(options);
    this.kind = this.#minter.kind;
    // An app token's id names what its KSs carry (its own privileges, overrides): share only those.
    this.#minting =
      options.appToken === undefined ? this.kind : `${this.kind}:${options.appToken.id}`;
    this.#verifySecret = options.adminSecret;
    this.#reports = new RejectedReports({
      now: this.#now,
      intervalMs: this.minForcedRefreshIntervalMs,
      max,
      accepts: this.#minter.accepts?.bind(this.#minter),
      drop: (userId) => this.revoke(userId),
      emit: (event) => this.#emit(event),
    });
    this.#breaker = new PartnerBreaker(this.#now, this.#random, backoff);
    this.#failures = new RequestFailures(this.#now, this.#random, backoff);
    const fixedOffset = checkClockOffset(options.kalturaClockOffsetMs);
    this.#clock = new KalturaClock({
      now: this.#now,
      getTime: fixedOffset === undefined ? this.#getTime : undefined,
      offsetMs: fixedOffset ?? 0,
      timeoutMs: Math.min(2_000, this.#mintTimeoutMs / 2),
      onMeasured: (measured, previousMs) => this.#clockMeasured(measured, previousMs),
      onError: (error) => {
        this.#emit(() => ({ type: 'clock-error', error }));
        this.#warnOnce('clock', `kaltura-ks: Kaltura's clock could not be read (${error.message})`);
      },
    });

    this.#store = options.store;
    this.#storeTimeoutMs = checkMs(options.storeTimeoutMs ?? 1_000, 'storeTimeoutMs');
    this.#lockTtlMs = checkMs(options.lockTtlMs ?? this.#mintTimeoutMs, 'lockTtlMs');
    this.#lockWaitMs = checkMs(options.lockWaitMs ?? this.#mintTimeoutMs / 2, 'lockWaitMs');
    const store = this.#store;
    if (store !== undefined) {
      for (const method of ['get', 'set', 'lock', 'waitFor', 'revoke', 'onRevoke'] as const) {
        if (typeof store[method] !== 'function') throw option(`store must implement ${method}()`);
      }
      // Another instance revoked: drop our copies too.
      this.#unsubscribe = store.onRevoke(this.partnerId, (userId) => {
        if (userId === null) this.#clearLocal();
        else this.#revokeLocal(userId);
      });
      this.#revocations = new PendingRevocations({
        now: this.#now,
        random: this.#random,
        send: async (userId) => {
          const deleted = await this.#storeCall('revoke', () =>
            store.revoke(this.partnerId, userId),
          );
          return deleted === FAILED ? undefined : deleted;
        },
        onPending: (userId, attempts, retryAt) =>
          this.#emit(() => ({
            type: 'revoke-pending',
            partnerId: this.partnerId,
            userId,
            attempts,
            retryAt,
          })),
        onConfirmed: async (userId, deleted, endSession, ended, attempts) => {
          this.#emit(() => ({
            type: 'revoke-confirmed',
            partnerId: this.partnerId,
            userId,
            attempts,
          }));
          if (userId === null || !endSession) return;
          await this.#endSessions(
            this.#deleted(userId, deleted).filter(({ session }) => !ended.has(session.ks)),
          );
        },
      });
    }

    const now = this.#now;
    this.#cache = new LRUCache<string, KsSession>({
      max,
      // Entries leave the cache when their KS expires; freshness is decided by the policy.
      ttl: 1,
      ttlResolution: 0,
      perf: { now },
      dispose: (_session, key, reason) => this.#disposed(key, reason),
    });
  }

  get size(): number {
    return this.#cache.size;
  }

  get clockOffsetMs(): number {
    return this.#clock.offsetMs;
  }

  #createMinter(options: KsIssuerOptions): KsMinter {
    const given = (['adminSecret', 'sessionStart', 'appToken', 'minter'] as const).filter(
      (name) => options[name] !== undefined,
    );
    if (given.length !== 1) {
      throw option(
        `Give exactly one way to mint: adminSecret, sessionStart, appToken or minter${given.length > 1 ? ` (got ${given.join(', ')})` : ''}`,
      );
    }
    if (options.client !== undefined && options.serviceUrl !== undefined) {
      throw option('Give either client or serviceUrl, not both');
    }
    const client = (): { client: KalturaClient; ownsClient: boolean } | undefined => {
      const made = makeClient();
      const system = made?.client.system;
      if (typeof system?.getTime === 'function')
        this.#getTime = (signal) => system.getTime({ signal });
      return made;
    };
    const makeClient = (): { client: KalturaClient; ownsClient: boolean } | undefined => {
      if (options.client !== undefined) return { client: options.client, ownsClient: false };
      if (options.serviceUrl === undefined) return undefined;
      return {
        client: createKalturaClient({
          // A hung call ends with the issuer's own deadline.
          requestTimeoutMs: this.#mintTimeoutMs,
          now: this.#now,
          ...options.clientOptions,
          serviceUrl: options.serviceUrl,
          partnerId: this.partnerId,
        }),
        ownsClient: true,
      };
    };
    if (options.minter !== undefined) {
      if (typeof options.minter?.mint !== 'function')
        throw option('minter must have a mint(request, signal) method');
      return options.minter;
    }
    if (options.adminSecret !== undefined) {
      const version = options.ksVersion ?? 2;
      if (version !== 1 && version !== 2) throw option('ksVersion must be 1 or 2');
      this.#keyVersions = [version];
      const local = localMinter({
        partnerId: this.partnerId,
        adminSecret: checkSecret(options.adminSecret, 'adminSecret'),
        version,
        now: this.#now,
      });
      const remote = client();
      if (remote === undefined) return local;
      // With a service URL, sessions can also be ended at Kaltura on revoke, and checked.
      return { ...local, ...clientLifecycle(remote.client, remote.ownsClient) };
    }
    const remote = client();
    if (remote === undefined) throw option(`${given[0]} needs serviceUrl (or client)`);
    // Read once a mint has been answered, by which time the issuer's clock exists.
    const issuer = this;
    const clock: KalturaClockView = {
      settled: () => issuer.#clock.settled(),
      get offsetMs() {
        return issuer.#clock.offsetMs;
      },
    };
    this.#offsetAfterMint = true;
    if (options.sessionStart !== undefined) {
      return sessionStartMinter({
        ...remote,
        clock,
        partnerId: this.partnerId,
        secret: checkSecret(options.sessionStart?.secret, 'sessionStart.secret'),
        now: this.#now,
        warn: this.#warn,
      });
    }
    const appToken = options.appToken!;
    if (typeof appToken !== 'object' || appToken === null)
      throw option('appToken must be { id, token, hashType? }');
    return appTokenMinter({
      ...remote,
      clock,
      id: checkSecret(appToken.id, 'appToken.id'),
      token: checkSecret(appToken.token, 'appToken.token'),
      hashType: toAppTokenHashType(appToken.hashType ?? 'SHA1'),
      now: this.#now,
    });
  }

  #emit(event: () => KsIssuerEvent): void {
    if (this.#onEvent === undefined) return;
    try {
      this.#onEvent(event());
    } catch {
      // A failing listener must not break issuing.
    }
  }

  /** With nobody listening to events, the first failure of each kind still reaches the logs. */
  #warnOnce(kind: string, message: string): void {
    if (this.#onEvent !== undefined || this.#warned.has(kind) || this.#warned.size >= WARNINGS_MAX)
      return;
    this.#warned.add(kind);
    try {
      this.#warn(message);
    } catch {
      // A failing logger must not break issuing.
    }
  }

  /**
   * A new offset: sessions cached under the old one were given expiries in this server's
   * frame that are now known to be late; past half of `minRemainingMs` (the margin every KS
   * keeps), they are dropped rather than risk handing out one Kaltura already refuses.
   */
  #clockMeasured(measured: { offsetMs: number; roundTripMs: number }, previousMs: number): void {
    this.#emit(() => ({ type: 'clock', ...measured }));
    if (measured.offsetMs - previousMs > this.#policy.minRemainingMs / 2) this.#clearLocal('clock');
  }

  #normalize(request: KsRequest): Normalized {
    if (typeof request !== 'object' || request === null)
      throw option('getKs needs a request with a userId');
    const userId = checkUserId(request.userId);
    const type = checkType(request.type ?? KsType.USER);
    const raw = request.privileges ?? '';
    let memo = typeof raw === 'string' ? this.#memo.get(raw) : undefined;
    if (memo === undefined) {
      // Validate with the strictest rules the KS may be read with (v1 where a remote minter
      // may meet a v1 partner), and key by the meaning under every version it may be read
      // with: v1 merges a repeated name (`edit:a,edit:b`), v2 keeps the last, so two
      // requests share a KS only when they grant the same under both.
      const versions = this.#keyVersions;
      const privileges = formatPrivileges(raw, versions[0]);
      const forms = versions.map((version) => normalizePrivileges(privileges, version));
      const normalized = forms[0] ?? '';
      memo = {
        privileges,
        normalized,
        keyed: forms.every((form) => form === normalized) ? normalized : forms.join('\n'),
      };
      if (typeof raw === 'string') {
        if (this.#memo.size >= MEMO_MAX) this.#memo.clear();
        this.#memo.set(raw, memo);
      }
    }
    if (type === KsType.USER && (userId === '' || userId === '0') && isWidgetLike(memo)) {
      throw new KsError(
        'ERR_KS_INVALID_FIELD',
        'An anonymous USER KS with the widget privilege is a widget session, which Kaltura never checks for revocation; use session.startWidgetSession for one',
      );
    }
    // Fields cannot contain control characters, so "\n" separates them unambiguously
    // (the privileges come last: their key form may hold one "\n" of its own).
    const key = `${this.partnerId}\n${type}\n${userId}\n${memo.keyed}`;
    return new Normalized(
      key,
      this.partnerId,
      userId,
      type,
      memo,
      this.#expiresInSeconds,
      this.#minting,
    );
  }

  peek(request: KsRequest): KsSession | undefined {
    return this.#cache.get(this.#normalize(request).key);
  }

  async getKs(request: KsRequest, options: GetKsOptions = {}): Promise<KsSession> {
    const normalized = this.#normalize(request);
    if (options.rejectedKs !== undefined) {
      const { rejectedKs, ...rest } = options;
      if (typeof rejectedKs !== 'string') throw option('rejectedKs must be a string');
      const { key, info } = normalized;
      return this.#reports.report(key, info, rejectedKs, (o) => this.getKs(request, o), rest);
    }
    const cached = this.#cache.get(normalized.key);
    const served = this.#served(normalized, cached, options);
    if (served !== undefined) return served;
    // Not served at once, but a still-valid KS goes on being served while Kaltura fails.
    const usable =
      cached !== undefined && freshness(cached, this.#now(), this.#policy) !== 'unusable'
        ? cached
        : undefined;
    if (this.#onEvent === undefined) return this.#awaitMint(normalized, usable, options.signal);
    const { info } = normalized;
    this.#emit(() => ({ type: 'miss', key: info }));
    return this.#awaitMint(normalized, usable, options.signal).then(
      (session) => {
        const outcome = session === cached ? 'fallback' : 'new';
        this.#emit(() => ({ type: 'miss-result', key: info, outcome }));
        return session;
      },
      (error: KsError) => {
        this.#emit(() => ({ type: 'miss-result', key: info, outcome: 'error', error }));
        throw error;
      },
    );
  }

  getCachedKs(request: KsRequest, options: GetKsOptions = {}): KsSession | undefined {
    const normalized = this.#normalize(request);
    // A report is answered once Kaltura has been asked.
    if (options.rejectedKs !== undefined) return undefined;
    return this.#served(normalized, this.#cache.get(normalized.key), options);
  }

  /** `cached`, if getKs serves it at once (a hit); `undefined` when a mint must be awaited. */
  #served(
    normalized: Normalized,
    cached: KsSession | undefined,
    options: GetKsOptions,
  ): KsSession | undefined {
    if (cached === undefined) return undefined;
    const now = this.#now();
    const state = freshness(cached, now, this.#policy);
    if (state === 'unusable') return undefined;
    const forced =
      options.forceRefresh === true && now - cached.issuedAt >= this.minForcedRefreshIntervalMs;
    const fresh =
      options.fresh === true
        ? state === 'fresh' && youngEnough(cached, now, this.#policy)
        : state === 'fresh';
    if (forced || (!fresh && options.fresh === true)) return undefined;
    if (state === 'renew') this.#refreshInBackground(normalized);
    if (this.#onEvent !== undefined) {
      this.#emit(() => ({ type: 'hit', key: normalized.info, stale: state === 'renew' }));
    }
    return cached;
  }

  #refreshInBackground(normalized: Normalized): void {
    if (this.#flights.has(normalized.key)) return;
    if (this.#failures.backingOff(normalized.key) !== undefined) return;
    const admitted = this.#breaker.admit();
    if (admitted === undefined) return;
    this.#emit(() => ({ type: 'refresh', key: normalized.info }));
    // Errors are reported through onEvent; the current KS keeps being served.
    this.#flight(normalized, admitted === 'probe').promise.catch(() => {});
  }

  async #awaitMint(
    normalized: Normalized,
    usable: KsSession | undefined,
    signal?: AbortSignal,
  ): Promise<KsSession> {
    let flight = this.#flights.get(normalized.key);
    if (flight === undefined) {
      // Backing off after failures (this request's, or Kaltura's for everyone): serve what
      // is still valid, or fail fast. Refused credentials serve nothing.
      const failure = this.#failures.backingOff(normalized.key);
      if (failure !== undefined) {
        if (usable !== undefined) return usable;
        throw passedOn(failure.error);
      }
      const admitted = this.#breaker.admit();
      if (admitted === undefined) {
        const open = this.#breaker.state!;
        if (open.kind === 'credentials') throw open.error;
        if (usable !== undefined) return usable;
        throw unavailable(open.error);
      }
      flight = this.#flight(normalized, admitted === 'probe');
    }
    try {
      return await this.#withSignal(flight.promise, signal);
    } catch (error) {
      if (isKsError(error, 'ERR_KS_CREDENTIALS')) throw error;
      // A still-valid KS, even one evicted from the cache while the mint ran (not one
      // revoked meanwhile: that discarded the flight).
      const current = this.#cache.get(normalized.key) ?? (flight.discarded ? undefined : usable);
      if (current !== undefined && freshness(current, this.#now(), this.#policy) !== 'unusable')
        return current;
      throw passedOn(error);
    }
  }

  /**
   * The flight's outcome for one caller, who may stop waiting with `signal`, and who is
   * answered at once when the issuer closes. No timer of its own: the flight ends at its
   * deadline (`#bounded`), and a caller joins it no earlier than it started.
   */
  #withSignal(promise: Promise<KsSession>, signal?: AbortSignal): Promise<KsSession> {
    return new Promise<KsSession>((resolve, reject) => {
      const onAbort = () => {
        cleanup();
        reject(new KsError('ERR_KS_ABORTED', 'The request for a KS was aborted'));
      };
      const onClose = () => {
        cleanup();
        reject(new KsError('ERR_KS_UNAVAILABLE', 'The issuer was closed'));
      };
      const cleanup = () => {
        signal?.removeEventListener('abort', onAbort);
        this.#waiting.delete(onClose);
      };
      if (signal?.aborted) return onAbort();
      if (this.#closed) return onClose();
      signal?.addEventListener('abort', onAbort, { once: true });
      // A shutdown answers every waiting caller at once, whatever the minter does with its signal.
      this.#waiting.add(onClose);
      promise.then(
        (session) => {
          cleanup();
          resolve(session);
        },
        (error: unknown) => {
          cleanup();
          reject(error);
        },
      );
    });
  }

  /**
   * A flight's work, given `mintTimeoutMs` from its start: then its signal aborts and it
   * fails at once with `ERR_KS_TIMEOUT` (an outage), whether or not the minter honours the
   * signal. So a hung mint never outlives the first caller's wait: nobody who asks later
   * joins it (Kaltura may be back by then), and its failure starts the back-off when the
   * callers got their 503, not whenever a hung connection happens to end.
   */
  #bounded<T>(work: Promise<T>, controller: AbortController): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new KsError(
          'ERR_KS_TIMEOUT',
          `No KS could be minted within mintTimeoutMs (${this.#mintTimeoutMs} ms)`,
        );
        reject(error);
        controller.abort(error);
      }, this.#mintTimeoutMs);
      timer.unref?.();
      work.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /** One mint per key at a time: every caller for the key shares it. */
  #flight(normalized: Normalized, probe = false): Flight {
    const existing = this.#flights.get(normalized.key);
    if (existing !== undefined) return existing;
    const { key, mint, info } = normalized;
    const started = this.#now();
    const controller = new AbortController();
    const flight: Flight = {
      userId: mint.userId,
      discarded: false,
      controller,
      promise: undefined as never,
      epoch: this.#breaker.epoch,
      probe,
    };
    flight.promise = (async () => {
      try {
        // A probe asks Kaltura itself: a KS from the shared store would not say whether it is back.
        const { session, minted } = await this.#bounded(
          this.#store === undefined || probe
            ? this.#mint(normalized, controller.signal).then((made) => ({
                session: made,
                minted: true,
              }))
            : this.#obtainShared(this.#store, normalized, flight),
          controller,
        );
        const refused = this.#breaker.refuses(flight.epoch);
        if (refused !== undefined) throw refused;
        const closed = this.#breaker.succeeded(flight.epoch, probe);
        if (!flight.discarded) {
          this.#failures.delete(key);
          this.#cacheLocally(key, info, session);
        }
        if (closed?.kind === 'credentials') this.#emit(() => ({ type: 'credentials-accepted' }));
        // Only this instance's own mints: a KS from the shared store was reported as a `shared-hit`.
        if (minted) {
          const extra = this.#extras.get(session);
          this.#emit(() => ({
            type: 'mint',
            key: info,
            durationMs: this.#now() - started,
            expiresAt: session.expiresAt,
            ...(extra === undefined ? {} : { extraPrivileges: extra }),
          }));
        }
        return session;
      } catch (cause) {
        const { error, count, retryAt } = this.#failed(
          normalized,
          flight,
          cause instanceof KsError
            ? cause
            : new KsError('ERR_KS_UNAVAILABLE', 'Minting a KS failed', { cause }),
        );
        this.#emit(() => ({
          type: 'mint-error',
          key: info,
          durationMs: this.#now() - started,
          error,
          consecutiveFailures: count,
          retryAt,
        }));
        throw error;
      } finally {
        if (this.#flights.get(key) === flight) this.#flights.delete(key);
      }
    })();
    this.#flights.set(key, flight);
    return flight;
  }

  /**
   * A mint, through `aroundMint` when there is one. The hook decides where the mint runs,
   * never whether or with what outcome: one that fails, or settles without calling `mint()`,
   * has the mint start anyway, and the result is always the mint's own.
   */
  #mint(normalized: Normalized, signal: AbortSignal): Promise<KsSession> {
    const around = this.#aroundMint;
    if (around === undefined) return this.#mintChecked(normalized, signal);
    return new Promise<KsSession>((resolve, reject) => {
      let minting: Promise<KsSession> | undefined;
      const start = () => {
        if (minting === undefined) {
          minting = this.#mintChecked(normalized, signal);
          minting.then(resolve, reject);
        }
        return minting;
      };
      const mint = () => {
        const settled = start().then(() => {});
        settled.catch(() => {}); // the hook may leave it unawaited
        return settled;
      };
      const begin = () => void start();
      try {
        Promise.resolve(around(mint, { key: normalized.info, kind: this.kind })).then(begin, begin);
      } catch {
        begin();
      }
    });
  }

  /**
   * A mint, in Kaltura's frame (waiting for the first clock measurement), and checked:
   * what Kaltura issued must be what was asked before anyone gets it.
   */
  async #mintChecked(normalized: Normalized, signal: AbortSignal): Promise<KsSession> {
    const measuring = this.#clock.ready();
    if (measuring !== undefined && !this.#offsetAfterMint) await measuring;
    const request: MintRequest = { ...normalized.mint, clockOffsetMs: this.#clock.offsetMs };
    const session = await this.#minter.mint(request, signal);
    const extra = checkGrant(request, session, this.partnerId, this.kind);
    if (extra !== '') this.#extras.set(session, extra);
    return session;
  }

  /**
   * Records a failed mint where it belongs: Kaltura down or refusing the credentials is
   * the partner's (the breaker), a refused request is the key's own. Returns the error
   * the callers get and the back-off it starts.
   */
  #failed(
    normalized: Normalized,
    flight: Flight,
    cause: KsError,
  ): { error: KsError; count: number; retryAt: number } {
    const kind = failureKind(cause, normalized.mint.type);
    if (kind !== 'request') {
      const error = kind === 'credentials' ? credentialsError(cause) : cause;
      const { state, opened } = this.#breaker.failed(kind, error, flight.epoch, flight.probe);
      if (opened && state.kind === 'credentials') this.#credentialsRefused(state.error);
      if (kind === 'outage') {
        const code = kalturaCodeOf(cause) ?? cause.code;
        this.#warnOnce(
          `outage:${code}`,
          `kaltura-ks: minting a KS failed (${code}: ${cause.message})`,
        );
      }
      return {
        error: state.kind === 'credentials' ? state.error : error,
        count: state.count,
        retryAt: state.retryAt,
      };
    }
    // Kaltura answered (it refused this request, or issued another KS than asked): it is up,
    // and takes the credentials.
    if (cause instanceof KalturaApiError || cause.code === 'ERR_KS_NOT_GRANTED') {
      const closed = this.#breaker.succeeded(flight.epoch, flight.probe);
      if (closed?.kind === 'credentials') this.#emit(() => ({ type: 'credentials-accepted' }));
      if (cause.code === 'ERR_KS_NOT_GRANTED') {
        this.#warnOnce(
          `not-granted:${cause.message.replace(/"[^"]*"/g, '""')}`,
          `kaltura-ks: ${cause.message}`,
        );
      }
    } else {
      this.#breaker.settled(flight.probe);
    }
    const { count, retryAt } = this.#failures.record(normalized.key, cause, !flight.discarded);
    return { error: cause, count, retryAt };
  }

  /**
   * Kaltura refused the credentials: whatever was minted with them is no longer served
   * (here, and through the shared store on every instance), and the first refusal of each
   * kind is logged when nobody listens to events.
   */
  #credentialsRefused(error: KsError): void {
    this.#clearLocal('credentials');
    // Through the store to every instance; retried until the store confirms it.
    void this.#revocations?.submit(null, false);
    const kalturaCode = kalturaCodeOf(error);
    const retryAt = this.#breaker.state?.retryAt ?? this.#now();
    this.#emit(() => ({ type: 'credentials-rejected', kalturaCode, error, retryAt }));
    this.#warnOnce(`credentials:${kalturaCode}`, `kaltura-ks: ${error.message}`);
  }

  /**
   * With a shared store: take another instance's fresh KS if there is one;
   * otherwise take the fleet-wide lock and mint, or wait for the holder's mint.
   * Whenever the store fails or is slow, mint alone. `minted` tells whether
   * this instance's minter ran.
   */
  async #obtainShared(
    store: KsSharedStore,
    normalized: Normalized,
    flight: Flight,
  ): Promise<{ session: KsSession; minted: boolean }> {
    const { storeKey: key, info } = normalized;
    const signal = flight.controller.signal;
    // What another instance left in the store is input: it must be fresh, be what was asked
    // for, and not predate a revocation of the user the store has not confirmed yet.
    const accept = (session: KsSession) =>
      freshness(session, this.#now(), this.#policy) === 'fresh' &&
      this.#sharedUsable(normalized, session);
    const sharedHit = (session: KsSession) => {
      this.#emit(() => ({ type: 'shared-hit', key: info }));
      return { session, minted: false };
    };
    const shared = await this.#storeCall('get', () => readShared(store, key));
    if (shared !== FAILED && shared.session !== undefined && accept(shared.session))
      return sharedHit(shared.session);
    // Where the fleet's revocations stood before this mint began: the store refuses the KS if
    // the user is revoked after it (taken from the latest read, so as close to the mint as can be).
    let fence = shared === FAILED ? undefined : shared.fence;
    let release: KsLockRelease | undefined | typeof FAILED = FAILED;
    if (shared !== FAILED) {
      release = await this.#storeCall('lock', () => store.lock(key, this.#lockTtlMs));
      if (release === undefined) {
        // Another instance is minting this key: wait for its KS.
        const waited = await this.#waitForHolder(store, key, accept, signal);
        if ('session' in waited) return sharedHit(waited.session);
        release = waited.release;
      }
      if (typeof release === 'function') {
        // Double-check under the lock: the previous holder may have just finished.
        const again = await this.#storeCall('get', () => readShared(store, key));
        if (again !== FAILED) {
          fence = again.fence;
          if (again.session !== undefined && accept(again.session)) {
            const unlock = release;
            void this.#storeCall('unlock', () => unlock());
            return sharedHit(again.session);
          }
        }
      }
    }
    const held = typeof release === 'function' ? release : undefined;
    if (held !== undefined) this.#heldLocks.add(held);
    try {
      const session = await this.#mint(normalized, signal);
      // Kept in the store only while this issuer would still hand it out, and never once the
      // user was revoked (or everything cleared) while it was being minted: neither when this
      // instance heard of it in time (`discarded`), nor when the revocation reached the store
      // first (the fence: the store refuses the write, and this instance does not keep it either).
      const ttl = session.expiresAt - this.#policy.minRemainingMs - this.#now();
      const sealed = fence;
      if (ttl > 0 && release !== FAILED && sealed !== undefined && !flight.discarded) {
        const stored = await this.#storeCall('set', () => store.set(key, session, ttl, sealed));
        if (stored === false) flight.discarded = true;
      }
      return { session, minted: true };
    } finally {
      if (held !== undefined && this.#heldLocks.delete(held))
        void this.#storeCall('unlock', () => held());
    }
  }

  /**
   * Waits at most `lockWaitMs` for the lock holder's mint. When a wait ends
   * empty-handed before then (the holder crashed and its lock lapsed, or its
   * mint failed and it let go), tries to take the lock over, and otherwise
   * waits for whichever instance did: a crashed holder costs the fleet one
   * more mint, not one per waiter. Resolves to the holder's session, or to
   * the lock to mint under (`undefined`: mint without it; `FAILED`: the store
   * failed).
   */
  async #waitForHolder(
    store: KsSharedStore,
    key: KsStoreKey,
    accept: (session: KsSession) => boolean,
    signal: AbortSignal,
  ): Promise<{ session: KsSession } | { release: KsLockRelease | undefined | typeof FAILED }> {
    const deadline = this.#now() + this.#lockWaitMs;
    // The wait is bounded by a timer too, so a clock that stands still cannot stretch it.
    const budget = new AbortController();
    const timer = setTimeout(() => budget.abort(), this.#lockWaitMs);
    timer.unref?.();
    const onAbort = () => budget.abort();
    if (signal.aborted) budget.abort();
    else signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (let round = 0; round < WAIT_ROUNDS_MAX; round++) {
        const left = Math.max(1, Math.min(this.#lockWaitMs, deadline - this.#now()));
        const waited = await this.#storeCall(
          'waitFor',
          () => store.waitFor(key, accept, left, budget.signal),
          left + this.#storeTimeoutMs,
        );
        if (waited === FAILED) return { release: undefined };
        if (waited !== undefined && accept(waited)) return { session: waited };
        // It did not deliver in time (crashed, or slow): mint ourselves.
        if (budget.signal.aborted || this.#now() >= deadline) return { release: undefined };
        const release = await this.#storeCall('lock', () => store.lock(key, this.#lockTtlMs));
        if (release !== undefined) return { release };
        // Another waiter took the lock over: wait for its mint instead.
      }
      return { release: undefined };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Whether a session read from the shared store may answer this request: its
   * KS says what its fields say and they match the request (reported as a
   * `store-error` when not: someone wrote what this issuer would never have),
   * and no revocation of the user the store has not confirmed predates it.
   */
  #sharedUsable(normalized: Normalized, session: KsSession): boolean {
    const { mint } = normalized;
    const mismatch = sharedSessionMismatch(session, mint, this.#sharedCheck);
    if (mismatch !== undefined) {
      this.#emit(() => ({
        type: 'store-error',
        operation: 'get',
        error: new KsError(
          'ERR_KS_RESPONSE',
          `The shared store held a session this issuer would not have accepted from its own minter, ignored: ${mismatch}`,
        ),
      }));
      return false;
    }
    return this.#revocations?.refuses(session, mint.userId) !== true;
  }

  /** How a session from the shared store is checked. */
  get #sharedCheck(): SharedSessionCheck {
    return {
      partnerId: this.partnerId,
      kind: this.kind,
      adminSecret: this.#verifySecret,
      now: this.#now,
    };
  }

  /** A store call bounded by a timeout; failures are reported and become `FAILED`. */
  async #storeCall<T>(
    operation: string,
    call: () => Promise<T>,
    timeoutMs = this.#storeTimeoutMs,
  ): Promise<T | typeof FAILED> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const started = this.#onEvent === undefined ? 0 : this.#now();
    try {
      const result = await Promise.race([
        call(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              // Read whatever I/O is waiting first: on a busy event loop the answer may be in
              // the socket already, and that is not a slow store (the poll phase comes
              // before setImmediate's).
              setImmediate(() =>
                reject(new KsError('ERR_KS_TIMEOUT', `The shared store took over ${timeoutMs} ms`)),
              ),
            timeoutMs,
          );
          timer.unref?.();
        }),
      ]);
      this.#emit(() => ({ type: 'store-call', operation, durationMs: this.#now() - started }));
      return result;
    } catch (cause) {
      const error = cause instanceof Error ? cause : new Error(String(cause));
      this.#emit(() => ({ type: 'store-error', operation, error }));
      return FAILED;
    } finally {
      clearTimeout(timer);
    }
  }

  #cacheLocally(key: string, info: KsKeyInfo, session: KsSession): void {
    // lru-cache treats an entry as stale once `now - start > ttl`; a KS is dead at expiresAt.
    const ttl = session.expiresAt - this.#now() - 1;
    if (ttl <= 0) return;
    const keys = this.#byUser.get(info.userId);
    if (keys === undefined) this.#byUser.set(info.userId, key);
    else if (typeof keys === 'string') {
      if (keys !== key) this.#byUser.set(info.userId, [keys, key]);
    } else if (!keys.includes(key)) keys.push(key);
    this.#cache.set(key, session, { ttl });
  }

  #unindex(userId: string, key: string): void {
    const keys = this.#byUser.get(userId);
    if (keys === key) this.#byUser.delete(userId);
    else if (Array.isArray(keys)) {
      const at = keys.indexOf(key);
      if (at >= 0) keys.splice(at, 1);
      if (keys.length === 1) this.#byUser.set(userId, keys[0]!);
    }
  }

  #disposed(key: string, reason: LRUCache.DisposeReason): void {
    const info = keyInfoOf(key);
    const why: KsEvictReason =
      reason === 'set'
        ? 'replaced'
        : reason === 'evict'
          ? 'capacity'
          : reason === 'expire'
            ? 'expired'
            : (this.#evictReason ?? 'expired');
    if (reason !== 'set') this.#unindex(info.userId, key);
    this.#emit(() => ({ type: 'evict', key: info, reason: why }));
  }

  async revoke(userId: string, options: { endSession?: boolean } = {}): Promise<KsRevokeResult> {
    checkUserId(userId);
    const dropped = this.#revokeLocal(userId);
    const endSession = options.endSession === true;
    let reach: KsRevokeReach = 'fleet';
    let sessions = dropped;
    let toEnd = endSession ? dropped : [];
    if (this.#revocations !== undefined) {
      const known = dropped.map(({ session }) => session.ks);
      const outcome = await this.#revocations.submit(userId, endSession, known);
      reach = outcome.reach;
      // Counted and ended once each, whether this instance or the store (or both) held it.
      const seen = new Set(known);
      sessions = [
        ...dropped,
        ...this.#deleted(userId, outcome.deleted).filter(({ session }) => !seen.has(session.ks)),
      ];
      // An earlier revocation of the user that this one settled may have asked to end them.
      if (outcome.endSession)
        toEnd = sessions.filter(({ session }) => !outcome.ended.has(session.ks));
    }
    const ended = await this.#endSessions(toEnd);
    return { revoked: sessions.length, ended, reach };
  }

  /**
   * The sessions the store says it deleted for `userId`, checked like any
   * answer from it: only this partner's sessions of this user, whose KS says
   * so, are ever ended at Kaltura.
   */
  #deleted(
    userId: string,
    deleted: readonly KsSession[],
  ): Array<{ info: KsKeyInfo; session: KsSession }> {
    const sessions: Array<{ info: KsKeyInfo; session: KsSession }> = [];
    const seen = new Set<string>();
    for (const session of Array.isArray(deleted) ? deleted : []) {
      // Any type and privileges: every session of the user is ended.
      const asked = { userId, type: session?.type as KsType, privileges: '' };
      if (sharedSessionMismatch(session, asked, this.#sharedCheck) !== undefined) continue;
      if (seen.has(session.ks)) continue;
      seen.add(session.ks);
      sessions.push({
        info: {
          partnerId: session.partnerId,
          userId,
          type: session.type,
          privileges: session.privileges,
        },
        session,
      });
    }
    return sessions;
  }

  /** Ends sessions at Kaltura where the way of minting can; returns how many ended. */
  async #endSessions(sessions: Array<{ info: KsKeyInfo; session: KsSession }>): Promise<number> {
    const minter = this.#minter;
    const end = minter.end;
    if (end === undefined || sessions.length === 0) return 0;
    // `async`: a minter whose `end` throws before returning a promise must not reject `revoke`.
    const results = await Promise.allSettled(
      sessions.map(async ({ session }) => end.call(minter, session)),
    );
    let ended = 0;
    results.forEach((result, i) => {
      const info = sessions[i]?.info;
      if (result.status === 'fulfilled') ended++;
      if (result.status === 'fulfilled' || info === undefined) return;
      const cause: unknown = result.reason;
      const error =
        cause instanceof KsError
          ? cause
          : new KsError('ERR_KS_UNAVAILABLE', 'Ending a session at Kaltura failed', { cause });
      this.#emit(() => ({ type: 'end-error', key: info, error }));
    });
    return ended;
  }

  /**
   * Drops a user's sessions from this instance and discards their mints in
   * flight (a later request starts a new one); returns what was dropped.
   */
  #revokeLocal(userId: string): Array<{ info: KsKeyInfo; session: KsSession }> {
    for (const [key, flight] of this.#flights) {
      if (flight.userId !== userId) continue;
      flight.discarded = true;
      this.#flights.delete(key);
    }
    const dropped: Array<{ info: KsKeyInfo; session: KsSession }> = [];
    this.#evictReason = 'revoked';
    try {
      const keys = this.#byUser.get(userId);
      for (const key of typeof keys === 'string' ? [keys] : [...(keys ?? [])]) {
        const session = this.#cache.peek(key, { allowStale: true });
        if (session !== undefined) dropped.push({ info: keyInfoOf(key), session });
        this.#cache.delete(key);
        this.#failures.delete(key);
      }
    } finally {
      this.#evictReason = undefined;
    }
    return dropped;
  }

  async clear(): Promise<{ reach: KsRevokeReach }> {
    this.#clearLocal();
    this.#breaker.forgetOutage();
    if (this.#revocations === undefined) return { reach: 'fleet' };
    const { reach } = await this.#revocations.submit(null, false);
    return { reach };
  }

  #clearLocal(reason: KsEvictReason = 'cleared'): void {
    for (const flight of this.#flights.values()) flight.discarded = true;
    this.#flights.clear();
    this.#evictReason = reason;
    try {
      this.#cache.clear();
    } finally {
      this.#evictReason = undefined;
    }
    this.#failures.clear();
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    this.#closed = true;
    for (const answer of [...this.#waiting]) answer();
    for (const flight of this.#flights.values()) flight.controller.abort();
    this.#clearLocal();
    // A mint that outlives the instance will never be written: the fleet need not wait for it.
    const held = [...this.#heldLocks];
    this.#heldLocks.clear();
    await Promise.all(held.map((release) => this.#storeCall('unlock', () => release())));
    // A revocation the store has not confirmed gets one last try before the process goes.
    await this.#revocations?.close();
    await this.#minter.close?.();
  }
}

const FAILED = Symbol('store call failed');

/** `store.get`, checked: a store that gives no fence could not keep a revocation from being undone. */
async function readShared(store: KsSharedStore, key: KsStoreKey): Promise<KsSharedRead> {
  const result = await store.get(key);
  if (typeof result !== 'object' || result === null || typeof result.fence !== 'string')
    throw new KsError('ERR_KS_INVALID_OPTION', 'store.get must resolve to { session, fence }');
  return result;
}

/** How many times a waiter may wait for a holder that took the lock over from another. */
const WAIT_ROUNDS_MAX = 3;

/** For `fresh` requests: younger than (refreshAtFraction − 0.1) of the lifetime (at least half the fraction). */
function youngEnough(session: KsSession, now: number, policy: FreshnessPolicy): boolean {
  const fraction = Math.max(policy.refreshAtFraction / 2, policy.refreshAtFraction - 0.1);
  return now < session.issuedAt + (session.expiresAt - session.issuedAt) * fraction;
}

/** What a waiting caller gets for a failed mint. */
function passedOn(error: unknown): KsError {
  return isKsError(error, ...PASSED_ON) ? error : unavailable(error);
}

function unavailable(cause: unknown): KsError {
  const detail = cause instanceof KsError ? ` (${cause.code}: ${cause.message})` : '';
  return new KsError('ERR_KS_UNAVAILABLE', `No valid KS is available right now${detail}`, {
    cause,
  });
}
