/**
 * The issuer: a per-user KS cache that renews before expiry, one mint per key at a time
 * (the flight), shared with a fleet through a store when there is one. Start here; the
 * jobs it hands out have modules of their own:
 *
 * - options.ts: what each option means, and their checks;
 * - choose-minter.ts: how this issuer mints (local, session.start, app token, a minter);
 * - cache-key.ts: a request validated and keyed, and the three forms of its privileges;
 * - shared-mint.ts: the protocol with the fleet through the store (locks, fences, waiting);
 * - user-index.ts: the in-memory cache and each user's keys, for revocation;
 * - breaker.ts, revocations.ts, rejected.ts, clock-offset.ts: back-off, unconfirmed
 *   revocations, refused KSs reported by pages, Kaltura's clock.
 */
import { type Clock, checkClockOffset } from '../clock.js';
import { isKsError, KalturaApiError, KsError } from '../errors.js';
import { checkUserId } from '../ks/fields.js';
import type { KsType } from '../ks/types.js';
import { invalidOption } from '../options.js';
import { PartnerBreaker, RequestFailures } from './breaker.js';
import { type KeyedRequest, RequestKeys } from './cache-key.js';
import { chooseMinter } from './choose-minter.js';
import { KalturaClock, type KalturaClockView } from './clock-offset.js';
import { credentialsError, failureKind, kalturaCodeOf } from './credentials.js';
import { checkGrant } from './grant-check.js';
import type { KsMinter, MintRequest } from './minter.js';
import { issuerSettings, type KsIssuerOptions, storeSettings } from './options.js';
import { type FreshnessPolicy, freshness } from './policy.js';
import { RejectedReports } from './rejected.js';
import { HeardRevocations, PendingRevocations } from './revocations.js';
import { type SharedSessionCheck, sharedSessionMismatch } from './session-match.js';
import { FAILED, SharedMint } from './shared-mint.js';
import type {
  KsEvictReason,
  KsIssuerEvent,
  KsKeyInfo,
  KsRequest,
  KsRevokeReach,
  KsRevokeResult,
  KsSession,
} from './types.js';
import { LocalSessions } from './user-index.js';

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
   * Without `endSession` (neither `true` nor `false`), the sessions are ended
   * only when the store did not confirm (`reach: 'instance'`): the revocation
   * then rests on this process until the store takes it.
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

/** Distinct warnings given when nobody listens to events. */
const WARNINGS_MAX = 64;
/** Errors a waiting caller gets as they are; any other becomes `ERR_KS_UNAVAILABLE`. */
const PASSED_ON = [
  'ERR_KS_UNAVAILABLE',
  'ERR_KS_ABORTED',
  'ERR_KS_CREDENTIALS',
  'ERR_KS_NOT_GRANTED',
] as const;

export function createKsIssuer(options: KsIssuerOptions): KsIssuer {
  if (typeof options !== 'object' || options === null)
    throw invalidOption('createKsIssuer needs options');
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
  readonly #policy: FreshnessPolicy;
  readonly minForcedRefreshIntervalMs: number;
  readonly #mintTimeoutMs: number;
  readonly #breaker: PartnerBreaker;
  readonly #clock: KalturaClock;
  /** The minter reads the offset itself once Kaltura has answered (a built-in remote one). */
  readonly #offsetAfterMint: boolean;
  /** The privileges a minted KS carries beyond the request, for its mint event. */
  readonly #extras = new WeakMap<KsSession, string>();
  readonly #keys: RequestKeys;
  readonly #cache: LocalSessions;
  readonly #flights = new Map<string, Flight>();
  readonly #failures: RequestFailures;
  /** With a shared store: the protocol with the rest of the fleet. */
  readonly #shared: SharedMint | undefined;
  /** How a session read from the shared store is checked (those a revocation deleted too). */
  readonly #sharedCheck: SharedSessionCheck;
  readonly #unsubscribe: (() => void) | undefined;
  /** Revocations the shared store has not confirmed: their tombstones and retries. */
  readonly #revocations: PendingRevocations | undefined;
  /** Revocations other instances announced that the store has not confirmed: their tombstones. */
  readonly #heard: HeardRevocations | undefined;
  /** Callers waiting for a KS: `close()` answers each of them at once. */
  readonly #waiting = new Set<() => void>();
  #closed = false;
  readonly #reports: RejectedReports;

  constructor(options: KsIssuerOptions) {
    const settings = issuerSettings(options);
    this.partnerId = settings.partnerId;
    this.#now = settings.now;
    this.#random = settings.random;
    this.#onEvent = settings.onEvent;
    this.#aroundMint = settings.aroundMint;
    this.#warn = settings.warn;
    this.#policy = settings.policy;
    this.minForcedRefreshIntervalMs = settings.minForcedRefreshIntervalMs;
    this.#mintTimeoutMs = settings.mintTimeoutMs;
    const { backoff, max } = settings;

    // Read once a mint has been answered, by which time the issuer's clock exists.
    const issuer = this;
    const clock: KalturaClockView = {
      offsetForMint: () => issuer.#clock.offsetForMint(),
      get offsetMs() {
        return issuer.#clock.offsetMs;
      },
    };
    const chosen = chooseMinter(options, {
      partnerId: this.partnerId,
      now: this.#now,
      mintTimeoutMs: this.#mintTimeoutMs,
      warn: this.#warn,
      clock,
    });
    this.#minter = chosen.minter;
    this.kind = this.#minter.kind;
    this.#offsetAfterMint = chosen.offsetAfterMint;
    this.#keys = new RequestKeys(
      this.partnerId,
      settings.expiresInSeconds,
      chosen.minting,
      chosen.keyVersions,
    );
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
      getTime: fixedOffset === undefined ? chosen.getTime : undefined,
      offsetMs: fixedOffset ?? 0,
      timeoutMs: Math.min(2_000, this.#mintTimeoutMs / 2),
      onMeasured: (measured, previousMs) => this.#clockMeasured(measured, previousMs),
      onError: (error) => {
        this.#emit(() => ({ type: 'clock-error', error }));
        this.#warnOnce('clock', `kaltura-ks: Kaltura's clock could not be read (${error.message})`);
      },
    });

    const { store, ...timing } = storeSettings(options, this.#mintTimeoutMs);
    // With local signing, a KS read from the store must verify with the admin secret.
    this.#sharedCheck = {
      partnerId: this.partnerId,
      kind: this.kind,
      adminSecret: options.adminSecret,
      now: this.#now,
    };
    if (store !== undefined) {
      const shared = new SharedMint({
        store,
        now: this.#now,
        policy: this.#policy,
        ...timing,
        check: this.#sharedCheck,
        refuses: (session, userId) =>
          this.#revocations?.refuses(session, userId) === true ||
          this.#heard?.refuses(session, userId) === true,
        emit: (event) => this.#emit(event),
        listening: this.#onEvent !== undefined,
      });
      this.#shared = shared;
      // The longest KS this issuer reads from the store: a tombstone older than it refuses nothing.
      const heard = new HeardRevocations(this.#now, settings.expiresInSeconds * 1000);
      this.#heard = heard;
      // Another instance revoked (or announced a revocation the store refused): drop our copies
      // too, and refuse the store's older ones until it confirms.
      this.#unsubscribe = store.onRevoke(this.partnerId, (userId, told) => {
        if (told !== undefined && !heard.hear(userId, told)) return;
        if (userId === null) this.#clearLocal();
        else this.#revokeLocal(userId);
      });
      this.#revocations = new PendingRevocations({
        now: this.#now,
        random: this.#random,
        send: async (userId, at) => {
          const deleted = await shared.call('revoke', () =>
            store.revoke(this.partnerId, userId, at),
          );
          return deleted === FAILED ? undefined : deleted;
        },
        announce: async (pending) => {
          const announce = store.announce;
          if (typeof announce !== 'function') return;
          await shared.call('announce', () => announce.call(store, this.partnerId, pending));
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

    this.#cache = new LocalSessions({
      partnerId: this.partnerId,
      max,
      now: this.#now,
      onEvict: (key, reason) => this.#emit(() => ({ type: 'evict', key, reason })),
    });
  }

  get size(): number {
    return this.#cache.size;
  }

  get clockOffsetMs(): number {
    return this.#clock.offsetMs;
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

  peek(request: KsRequest): KsSession | undefined {
    const keyed = this.#keys.keyed(request);
    return this.#cache.get(keyed.userId, keyed.shape);
  }

  async getKs(request: KsRequest, options: GetKsOptions = {}): Promise<KsSession> {
    const keyed = this.#keys.keyed(request);
    if (options.rejectedKs !== undefined) {
      const { rejectedKs, ...rest } = options;
      if (typeof rejectedKs !== 'string') throw invalidOption('rejectedKs must be a string');
      const { key, info } = keyed;
      return this.#reports.report(key, info, rejectedKs, (o) => this.getKs(request, o), rest);
    }
    const cached = this.#cache.get(keyed.userId, keyed.shape);
    const served = this.#served(keyed, cached, options);
    if (served !== undefined) return served;
    // Not served at once, but a still-valid KS goes on being served while Kaltura fails.
    const usable =
      cached !== undefined && freshness(cached, this.#now(), this.#policy) !== 'unusable'
        ? cached
        : undefined;
    if (this.#onEvent === undefined) return this.#awaitMint(keyed, usable, options.signal);
    const { info } = keyed;
    this.#emit(() => ({ type: 'miss', key: info }));
    return this.#awaitMint(keyed, usable, options.signal).then(
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
    const keyed = this.#keys.keyed(request);
    // A report is answered once Kaltura has been asked.
    if (options.rejectedKs !== undefined) return undefined;
    return this.#served(keyed, this.#cache.get(keyed.userId, keyed.shape), options);
  }

  /** `cached`, if getKs serves it at once (a hit); `undefined` when a mint must be awaited. */
  #served(
    keyed: KeyedRequest,
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
    if (state === 'renew') this.#refreshInBackground(keyed);
    if (this.#onEvent !== undefined) {
      this.#emit(() => ({ type: 'hit', key: keyed.info, stale: state === 'renew' }));
    }
    return cached;
  }

  #refreshInBackground(keyed: KeyedRequest): void {
    if (this.#flights.has(keyed.key)) return;
    if (this.#failures.backingOff(keyed.key) !== undefined) return;
    const admitted = this.#breaker.admit();
    if (admitted === undefined) return;
    this.#emit(() => ({ type: 'refresh', key: keyed.info }));
    // Errors are reported through onEvent; the current KS keeps being served.
    this.#flight(keyed, admitted === 'probe').promise.catch(() => {});
  }

  async #awaitMint(
    keyed: KeyedRequest,
    usable: KsSession | undefined,
    signal?: AbortSignal,
  ): Promise<KsSession> {
    let flight = this.#flights.get(keyed.key);
    if (flight === undefined) {
      // Backing off after failures (this request's, or Kaltura's for everyone): serve what
      // is still valid, or fail fast. Refused credentials serve nothing.
      const failure = this.#failures.backingOff(keyed.key);
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
      flight = this.#flight(keyed, admitted === 'probe');
    }
    try {
      return await this.#withSignal(flight.promise, signal);
    } catch (error) {
      if (isKsError(error, 'ERR_KS_CREDENTIALS')) throw error;
      // A still-valid KS, even one evicted from the cache while the mint ran (not one
      // revoked meanwhile: that discarded the flight).
      const current =
        this.#cache.get(keyed.userId, keyed.shape) ?? (flight.discarded ? undefined : usable);
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
  #flight(keyed: KeyedRequest, probe = false): Flight {
    const existing = this.#flights.get(keyed.key);
    if (existing !== undefined) return existing;
    const { key, mint, info } = keyed;
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
          this.#shared === undefined || probe
            ? this.#mint(keyed, controller.signal).then((made) => ({
                session: made,
                minted: true,
              }))
            : this.#shared.obtain(keyed, flight, (signal) => this.#mint(keyed, signal)),
          controller,
        );
        const refused = this.#breaker.refuses(flight.epoch);
        if (refused !== undefined) throw refused;
        const closed = this.#breaker.succeeded(flight.epoch, probe);
        if (!flight.discarded) {
          this.#failures.delete(key);
          this.#cache.set(keyed.userId, keyed.shape, session);
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
          keyed,
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
  #mint(keyed: KeyedRequest, signal: AbortSignal): Promise<KsSession> {
    const around = this.#aroundMint;
    if (around === undefined) return this.#mintChecked(keyed, signal);
    return new Promise<KsSession>((resolve, reject) => {
      let minting: Promise<KsSession> | undefined;
      const start = () => {
        if (minting === undefined) {
          minting = this.#mintChecked(keyed, signal);
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
        Promise.resolve(around(mint, { key: keyed.info, kind: this.kind })).then(begin, begin);
      } catch {
        begin();
      }
    });
  }

  /**
   * A mint, in Kaltura's frame (waiting for the first clock measurement), and checked:
   * what Kaltura issued must be what was asked before anyone gets it.
   */
  async #mintChecked(keyed: KeyedRequest, signal: AbortSignal): Promise<KsSession> {
    this.#clock.ready();
    // A remote minter reads the offset once Kaltura has answered, so the first reading runs
    // alongside its call; a local one signs in Kaltura's frame, so it needs it first.
    const offset = this.#offsetAfterMint ? this.#clock.offsetMs : this.#clock.offsetForMint();
    const request: MintRequest = {
      ...keyed.mint,
      clockOffsetMs: typeof offset === 'number' ? offset : await offset,
    };
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
    keyed: KeyedRequest,
    flight: Flight,
    cause: KsError,
  ): { error: KsError; count: number; retryAt: number } {
    const kind = failureKind(cause, keyed.mint.type);
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
    const { count, retryAt } = this.#failures.record(keyed.key, cause, !flight.discarded);
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

  async revoke(userId: string, options: { endSession?: boolean } = {}): Promise<KsRevokeResult> {
    checkUserId(userId);
    const dropped = this.#revokeLocal(userId);
    const endSession = options.endSession === true;
    let reach: KsRevokeReach = 'fleet';
    let sessions = dropped;
    let toEnd = endSession ? dropped : [];
    if (this.#revocations !== undefined) {
      const known = dropped.map(({ session }) => session.ks);
      // Not asked either way: ended at Kaltura if the store does not confirm (it rests on us).
      const endIfUnconfirmed = options.endSession === undefined;
      const outcome = await this.#revocations.submit(userId, endSession, known, endIfUnconfirmed);
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
    return this.#cache.dropUser(userId, (key) => this.#failures.delete(key));
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
    this.#cache.clear(reason);
    this.#failures.clear();
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    this.#closed = true;
    for (const answer of [...this.#waiting]) answer();
    for (const flight of this.#flights.values()) flight.controller.abort();
    this.#clearLocal();
    // A mint that outlives the instance will never be written: the fleet need not wait for it.
    await this.#shared?.close();
    // A revocation the store has not confirmed gets one last try before the process goes.
    await this.#revocations?.close();
    await this.#minter.close?.();
  }
}

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
