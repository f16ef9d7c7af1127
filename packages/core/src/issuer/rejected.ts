import type { Clock } from '../clock.js';
import { KsError } from '../errors.js';
import type { GetKsOptions } from './issuer.js';
import type { KsMinter } from './minter.js';
import type { KsIssuerEvent, KsKeyInfo, KsRejectOutcome, KsSession } from './types.js';

/** What the issuer lends the handling of reports. */
export interface RejectedReportsHost {
  now: Clock;
  /** At most one check at Kaltura per key in this long (the issuer's `minForcedRefreshIntervalMs`). */
  intervalMs: number;
  /** Most keys whose last check is remembered (the issuer's `max`). */
  max: number;
  /** Asks Kaltura about a KS, where the way of minting can. */
  accepts: KsMinter['accepts'];
  /** Drops a user's sessions here and in the shared store (a revoke, without `session.end`). */
  drop(userId: string): Promise<unknown>;
  emit(event: () => KsIssuerEvent): void;
}

/**
 * Reports that Kaltura refused a KS (`GetKsOptions.rejectedKs`): a page's player got
 * `INVALID_KS` because the KS was ended (`session.end`), its app token deleted, or its
 * partner's secret rotated. A report is believed only when it names the KS this user is
 * served right now and Kaltura, asked, refuses it; then the user's sessions are dropped
 * (here and in the shared store, as a revoke does) and a new KS is minted at once, whatever
 * the KS's age. Anything else changes nothing: the current KS is answered. Kaltura is asked
 * at most once per key every `intervalMs`, and concurrent reports of one KS share the check.
 */
export class RejectedReports {
  readonly #host: RejectedReportsHost;
  /** When each key's KS was last checked; insertion order is age order. */
  readonly #checkedAt = new Map<string, number>();
  readonly #flights = new Map<string, Promise<KsSession>>();

  constructor(host: RejectedReportsHost) {
    this.#host = host;
  }

  /**
   * `serve` is `getKs` for the same request without the report; `options` are the
   * caller's, without `rejectedKs`.
   */
  async report(
    key: string,
    info: KsKeyInfo,
    rejectedKs: string,
    serve: (options: GetKsOptions) => Promise<KsSession>,
    options: GetKsOptions,
  ): Promise<KsSession> {
    const session = await serve(options);
    // Not the KS this user is served (already replaced, or never this user's): a report of
    // it is not worth a call to Kaltura.
    if (session.ks !== rejectedKs) return this.#done(info, 'stale', session);
    let flight = this.#flights.get(key);
    if (flight === undefined) {
      flight = this.#check(key, info, session, serve, options).finally(() => {
        if (this.#flights.get(key) === flight) this.#flights.delete(key);
      });
      this.#flights.set(key, flight);
    }
    return flight;
  }

  async #check(
    key: string,
    info: KsKeyInfo,
    session: KsSession,
    serve: (options: GetKsOptions) => Promise<KsSession>,
    options: GetKsOptions,
  ): Promise<KsSession> {
    const host = this.#host;
    const now = host.now();
    const last = this.#checkedAt.get(key);
    if (last !== undefined && now - last < host.intervalMs)
      return this.#done(info, 'limited', session);
    this.#checkedAt.delete(key);
    if (this.#checkedAt.size >= host.max)
      this.#checkedAt.delete(this.#checkedAt.keys().next().value as string);
    this.#checkedAt.set(key, now);
    if (host.accepts === undefined) {
      // Nothing to ask: renew as `?renew=1` would (still bound by the forced-refresh interval).
      this.#emit(info, 'unverifiable');
      return serve({ ...options, forceRefresh: true });
    }
    let accepted: boolean;
    try {
      accepted = await host.accepts(session, options.signal);
    } catch (cause) {
      const error =
        cause instanceof KsError
          ? cause
          : new KsError('ERR_KS_UNAVAILABLE', 'Asking Kaltura about a reported KS failed', {
              cause,
            });
      return this.#done(info, 'check-error', session, error);
    }
    if (accepted) return this.#done(info, 'accepted', session);
    await host.drop(info.userId);
    return this.#done(info, 'replaced', await serve(options));
  }

  #done(info: KsKeyInfo, outcome: KsRejectOutcome, session: KsSession, error?: KsError): KsSession {
    this.#emit(info, outcome, error);
    return session;
  }

  #emit(key: KsKeyInfo, outcome: KsRejectOutcome, error?: KsError): void {
    this.#host.emit(() =>
      error === undefined
        ? { type: 'rejected', key, outcome }
        : { type: 'rejected', key, outcome, error },
    );
  }
}
