import { LRUCache } from 'lru-cache';
import { type AppTokenHashType, toAppTokenHashType } from '../app-token/hash.js';
import { createKalturaClient } from '../client/client.js';
import type { KalturaClient, KalturaClientOptions } from '../client/types.js';
import { type Clock, systemClock } from '../clock.js';
import { KsError } from '../errors.js';
import {
  checkPartnerId,
  checkPositiveInteger,
  checkSecret,
  checkType,
  checkUserId,
} from '../ks/fields.js';
import { KsType, type KsVersion } from '../ks/types.js';
import { formatPrivileges, normalizePrivileges } from '../privileges/privileges.js';
import { localMinter } from './local-minter.js';
import type { KsMinter, MintRequest } from './minter.js';
import { backoffDelay, type FreshnessPolicy, freshness } from './policy.js';
import { appTokenMinter, sessionStartMinter } from './remote-minters.js';
import { PendingRevocations } from './revocations.js';
import { type AskedSession, sharedSessionMismatch } from './session-match.js';
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

export interface KsIssuerOptions {
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
  /** A caller waits at most this long (ms) for a mint, then gets `ERR_KS_UNAVAILABLE`. Default 10 s. */
  mintTimeoutMs?: number;
  /** Back-off between failed mints of the same key (ms). Default 1 s doubling to 60 s. */
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
  now?: Clock;
  /** Jitter source, [0, 1). Default `Math.random`. */
  random?: () => number;
  onEvent?: (event: KsIssuerEvent) => void;
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
  signal?: AbortSignal;
}

export interface KsIssuer {
  readonly partnerId: number;
  /** The way this issuer mints: `local`, `session-start`, `app-token` or a custom minter's kind. */
  readonly kind: string;
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
  /** Drops every cached session (and, with a shared store, tells the fleet); `reach` as for `revoke`. */
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

  /** What a session read from the shared store must match. */
  get asked(): AskedSession {
    return {
      partnerId: this.partnerId,
      userId: this.userId,
      type: this.type,
      privileges: this.memo.privileges,
    };
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
}

interface Failure {
  count: number;
  retryAt: number;
  error: KsError;
}

const MEMO_MAX = 1024;

/** Kaltura's test is a substring one (`widget:1` anywhere); refuse any `widget` name too. */
function isWidgetLike(memo: { privileges: string; normalized: string }): boolean {
  return (
    memo.privileges.includes('widget:1') ||
    memo.normalized.split(',').some((entry) => entry === 'widget' || entry.startsWith('widget:'))
  );
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
  readonly #expiresInSeconds: number;
  readonly #policy: FreshnessPolicy;
  readonly #minForcedRefreshIntervalMs: number;
  readonly #mintTimeoutMs: number;
  readonly #backoffBaseMs: number;
  readonly #backoffMaxMs: number;
  readonly #cache: LRUCache<string, KsSession>;
  readonly #keyInfo = new Map<string, KsKeyInfo>();
  readonly #byUser = new Map<string, Set<string>>();
  readonly #flights = new Map<string, Flight>();
  readonly #failures = new Map<string, Failure>();
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
  #evictReason: KsEvictReason | undefined;

  constructor(options: KsIssuerOptions) {
    this.partnerId = checkPartnerId(options.partnerId);
    this.#now = options.now ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#onEvent = options.onEvent;
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
    this.#minForcedRefreshIntervalMs = checkMs(
      options.minForcedRefreshIntervalMs ?? 10_000,
      'minForcedRefreshIntervalMs',
      true,
    );
    this.#mintTimeoutMs = checkMs(options.mintTimeoutMs ?? 10_000, 'mintTimeoutMs');
    this.#backoffBaseMs = checkMs(options.failureBackoff?.baseMs ?? 1_000, 'failureBackoff.baseMs');
    this.#backoffMaxMs = checkMs(options.failureBackoff?.maxMs ?? 60_000, 'failureBackoff.maxMs');
    const max = options.max ?? 10_000;
    if (!Number.isSafeInteger(max) || max < 1) throw option('max must be a positive integer');

    this.#minter = this.#createMinter(options);
    this.kind = this.#minter.kind;
    // An app token's id names what its KSs carry (its own privileges, overrides): share only those.
    this.#minting =
      options.appToken === undefined ? this.kind : `${this.kind}:${options.appToken.id}`;
    this.#verifySecret = options.adminSecret;

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
      // With a service URL, sessions can also be ended at Kaltura on revoke.
      return {
        ...local,
        end: (session) => remote.client.session.end({ ks: session.ks }),
        close: async () => {
          if (remote.ownsClient) await remote.client.close();
        },
      };
    }
    const remote = client();
    if (remote === undefined) throw option(`${given[0]} needs serviceUrl (or client)`);
    if (options.sessionStart !== undefined) {
      return sessionStartMinter({
        ...remote,
        partnerId: this.partnerId,
        secret: checkSecret(options.sessionStart?.secret, 'sessionStart.secret'),
        now: this.#now,
        warn:
          options.onWarning ?? ((message) => process.emitWarning(message, { code: 'KALTURA_KS' })),
      });
    }
    const appToken = options.appToken!;
    if (typeof appToken !== 'object' || appToken === null)
      throw option('appToken must be { id, token, hashType? }');
    return appTokenMinter({
      ...remote,
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
    const cached = this.#cache.get(normalized.key);
    const served = this.#served(normalized, cached, options);
    if (served !== undefined) return served;
    // Not served at once, but a still-valid KS goes on being served while Kaltura fails.
    const usable =
      cached !== undefined && freshness(cached, this.#now(), this.#policy) !== 'unusable'
        ? cached
        : undefined;
    if (this.#onEvent !== undefined) this.#emit(() => ({ type: 'miss', key: normalized.info }));
    return this.#awaitMint(normalized, usable, options.signal);
  }

  getCachedKs(request: KsRequest, options: GetKsOptions = {}): KsSession | undefined {
    const normalized = this.#normalize(request);
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
      options.forceRefresh === true && now - cached.issuedAt >= this.#minForcedRefreshIntervalMs;
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
    const failure = this.#failures.get(normalized.key);
    if (failure !== undefined && this.#now() < failure.retryAt) return;
    this.#emit(() => ({ type: 'refresh', key: normalized.info }));
    // Errors are reported through onEvent; the current KS keeps being served.
    this.#flight(normalized).promise.catch(() => {});
  }

  async #awaitMint(
    normalized: Normalized,
    usable: KsSession | undefined,
    signal?: AbortSignal,
  ): Promise<KsSession> {
    const failure = this.#failures.get(normalized.key);
    if (
      failure !== undefined &&
      this.#now() < failure.retryAt &&
      !this.#flights.has(normalized.key)
    ) {
      // Backing off after failures: serve what is still valid, or fail fast.
      if (usable !== undefined) return usable;
      throw unavailable(failure.error);
    }
    const flight = this.#flight(normalized);
    try {
      return await this.#withDeadline(flight.promise, signal);
    } catch (error) {
      const current = this.#cache.get(normalized.key);
      if (current !== undefined && freshness(current, this.#now(), this.#policy) !== 'unusable')
        return current;
      throw error instanceof KsError &&
        (error.code === 'ERR_KS_UNAVAILABLE' || error.code === 'ERR_KS_ABORTED')
        ? error
        : unavailable(error);
    }
  }

  #withDeadline(promise: Promise<KsSession>, signal?: AbortSignal): Promise<KsSession> {
    return new Promise<KsSession>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new KsError('ERR_KS_UNAVAILABLE', `No KS could be had within ${this.#mintTimeoutMs} ms`),
        );
      }, this.#mintTimeoutMs);
      timer.unref?.();
      const onAbort = () => {
        cleanup();
        reject(new KsError('ERR_KS_ABORTED', 'The request for a KS was aborted'));
      };
      const onClose = () => {
        cleanup();
        reject(new KsError('ERR_KS_UNAVAILABLE', 'The issuer was closed'));
      };
      const cleanup = () => {
        clearTimeout(timer);
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

  /** One mint per key at a time: every caller for the key shares it. */
  #flight(normalized: Normalized): Flight {
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
    };
    flight.promise = (async () => {
      try {
        const { session, minted } =
          this.#store === undefined
            ? { session: await this.#minter.mint(mint, controller.signal), minted: true }
            : await this.#obtainShared(this.#store, normalized, flight);
        if (!flight.discarded) {
          this.#failures.delete(key);
          this.#cacheLocally(key, info, session);
        }
        // Only this instance's own mints: a KS from the shared store was reported as a `shared-hit`.
        if (minted) {
          this.#emit(() => ({
            type: 'mint',
            key: info,
            durationMs: this.#now() - started,
            expiresAt: session.expiresAt,
          }));
        }
        return session;
      } catch (cause) {
        const error =
          cause instanceof KsError
            ? cause
            : new KsError('ERR_KS_UNAVAILABLE', 'Minting a KS failed', { cause });
        const count = (this.#failures.get(key)?.count ?? 0) + 1;
        const retryAt =
          this.#now() + backoffDelay(count, this.#backoffBaseMs, this.#backoffMaxMs, this.#random);
        if (!flight.discarded) {
          // Bounded like the cache: during a long outage, forget the oldest failures first.
          if (this.#failures.size >= this.#cache.max && !this.#failures.has(key)) {
            this.#failures.delete(this.#failures.keys().next().value as string);
          }
          this.#failures.set(key, { count, retryAt, error });
        }
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
    const { storeKey: key, mint, info } = normalized;
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
      const session = await this.#minter.mint(mint, signal);
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
    const mismatch = sharedSessionMismatch(session, normalized.asked, {
      adminSecret: this.#verifySecret,
      now: this.#now,
    });
    if (mismatch !== undefined) {
      this.#emit(() => ({
        type: 'store-error',
        operation: 'get',
        error: new KsError(
          'ERR_KS_RESPONSE',
          `The shared store held a session whose ${mismatch === 'ks' ? 'KS contradicts its fields' : `${mismatch} differs from the request`}: ignored`,
        ),
      }));
      return false;
    }
    return this.#revocations?.refuses(session, normalized.asked.userId) !== true;
  }

  /** A store call bounded by a timeout; failures are reported and become `FAILED`. */
  async #storeCall<T>(
    operation: string,
    call: () => Promise<T>,
    timeoutMs = this.#storeTimeoutMs,
  ): Promise<T | typeof FAILED> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
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
    this.#keyInfo.set(key, info);
    const keys = this.#byUser.get(info.userId);
    if (keys === undefined) this.#byUser.set(info.userId, new Set([key]));
    else keys.add(key);
    this.#cache.set(key, session, { ttl });
  }

  #disposed(key: string, reason: LRUCache.DisposeReason): void {
    const info = this.#keyInfo.get(key);
    if (info === undefined) return;
    const why: KsEvictReason =
      reason === 'set'
        ? 'replaced'
        : reason === 'evict'
          ? 'capacity'
          : reason === 'expire'
            ? 'expired'
            : (this.#evictReason ?? 'expired');
    if (reason !== 'set') {
      this.#keyInfo.delete(key);
      const keys = this.#byUser.get(info.userId);
      keys?.delete(key);
      if (keys?.size === 0) this.#byUser.delete(info.userId);
      this.#failures.delete(key);
    }
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
      const asked = { partnerId: this.partnerId, userId, type: session?.type, privileges: '' };
      const check = { adminSecret: this.#verifySecret, now: this.#now };
      if (sharedSessionMismatch(session, asked, check) !== undefined || seen.has(session.ks))
        continue;
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
      for (const key of [...(this.#byUser.get(userId) ?? [])]) {
        const session = this.#cache.peek(key, { allowStale: true });
        const info = this.#keyInfo.get(key);
        if (session !== undefined && info !== undefined) dropped.push({ info, session });
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
    if (this.#revocations === undefined) return { reach: 'fleet' };
    const { reach } = await this.#revocations.submit(null, false);
    return { reach };
  }

  #clearLocal(): void {
    for (const flight of this.#flights.values()) flight.discarded = true;
    this.#flights.clear();
    this.#evictReason = 'cleared';
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

function unavailable(cause: unknown): KsError {
  const detail = cause instanceof KsError ? ` (${cause.code}: ${cause.message})` : '';
  return new KsError('ERR_KS_UNAVAILABLE', `No valid KS is available right now${detail}`, {
    cause,
  });
}
