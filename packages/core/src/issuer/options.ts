/**
 * The issuer's options: what each means (`KsIssuerOptions`), and their checks,
 * made once when the issuer is created, each error naming its option.
 */
import type { AppTokenHashType } from '../app-token/hash.js';
import type { KalturaClient, KalturaClientOptions } from '../client/types.js';
import { type Clock, systemClock } from '../clock.js';
import { checkPartnerId, checkPositiveInteger } from '../ks/fields.js';
import type { KsVersion } from '../ks/types.js';
import { checkFraction, checkFunction, checkMs, invalidOption } from '../options.js';
import type { KsMinter } from './minter.js';
import type { FreshnessPolicy } from './policy.js';
import type { KsSharedStore } from './store.js';
import type { KsIssuerEvent, KsKeyInfo } from './types.js';

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

/** The options of the issuer itself, checked and with their defaults. */
export interface IssuerSettings {
  partnerId: number;
  now: Clock;
  random: () => number;
  onEvent: ((event: KsIssuerEvent) => void) | undefined;
  aroundMint: KsIssuerOptions['aroundMint'];
  warn: (message: string) => void;
  expiresInSeconds: number;
  policy: FreshnessPolicy;
  minForcedRefreshIntervalMs: number;
  mintTimeoutMs: number;
  backoff: { baseMs: number; maxMs: number };
  max: number;
}

/** Checks the issuer's own options (the way of minting is checked by `chooseMinter`). */
export function issuerSettings(options: KsIssuerOptions): IssuerSettings {
  const partnerId = checkPartnerId(options.partnerId);
  if (options.aroundMint !== undefined) checkFunction(options.aroundMint, 'aroundMint');
  const expiresInSeconds = checkPositiveInteger(
    options.expiresInSeconds ?? 3600,
    'expiresInSeconds',
  );
  const lifetimeMs = expiresInSeconds * 1000;
  const policy = {
    refreshAtFraction: checkFraction(options.refreshAtFraction ?? 0.8, 'refreshAtFraction'),
    minRemainingMs: checkMs(
      options.minRemainingMs ?? Math.min(60_000, lifetimeMs / 10),
      'minRemainingMs',
      { allowZero: true },
    ),
  };
  if (policy.minRemainingMs >= lifetimeMs / 2) {
    throw invalidOption(
      'minRemainingMs must be less than half of expiresInSeconds, or every KS would be renewed at once',
    );
  }
  const minForcedRefreshIntervalMs = checkMs(
    options.minForcedRefreshIntervalMs ?? 10_000,
    'minForcedRefreshIntervalMs',
    { allowZero: true },
  );
  const mintTimeoutMs = checkMs(options.mintTimeoutMs ?? 10_000, 'mintTimeoutMs');
  const backoff = {
    baseMs: checkMs(options.failureBackoff?.baseMs ?? 1_000, 'failureBackoff.baseMs'),
    maxMs: checkMs(options.failureBackoff?.maxMs ?? 60_000, 'failureBackoff.maxMs'),
  };
  const max = options.max ?? 10_000;
  if (!Number.isSafeInteger(max) || max < 1) throw invalidOption('max must be a positive integer');
  return {
    partnerId,
    now: options.now ?? systemClock,
    random: options.random ?? Math.random,
    onEvent: options.onEvent,
    aroundMint: options.aroundMint,
    warn: options.onWarning ?? ((message) => process.emitWarning(message, { code: 'KALTURA_KS' })),
    expiresInSeconds,
    policy,
    minForcedRefreshIntervalMs,
    mintTimeoutMs,
    backoff,
    max,
  };
}

/** The shared store's options, checked and with their defaults. */
export interface StoreSettings {
  store: KsSharedStore | undefined;
  storeTimeoutMs: number;
  lockTtlMs: number;
  lockWaitMs: number;
}

export function storeSettings(options: KsIssuerOptions, mintTimeoutMs: number): StoreSettings {
  const storeTimeoutMs = checkMs(options.storeTimeoutMs ?? 1_000, 'storeTimeoutMs');
  const lockTtlMs = checkMs(options.lockTtlMs ?? mintTimeoutMs, 'lockTtlMs');
  const lockWaitMs = checkMs(options.lockWaitMs ?? mintTimeoutMs / 2, 'lockWaitMs');
  const store = options.store;
  if (store !== undefined) {
    for (const method of ['get', 'set', 'lock', 'waitFor', 'revoke', 'onRevoke'] as const) {
      if (typeof store[method] !== 'function')
        throw invalidOption(`store must implement ${method}()`);
    }
    if (store.announce !== undefined && typeof store.announce !== 'function')
      throw invalidOption('store.announce must be a function when given');
  }
  return { store, storeTimeoutMs, lockTtlMs, lockWaitMs };
}
