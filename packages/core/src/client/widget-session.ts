import type { Clock } from '../clock.js';
import { KsError } from '../errors.js';
import { decodeKs } from '../ks/verify.js';
import type { KalturaClientEvent, KalturaStartWidgetSessionResponse } from './types.js';

/** A cached widget KS and when to replace it (epoch ms on the client's clock). */
export interface WidgetSession {
  ks: string;
  partnerId: number;
  /** From here on, a background refresh starts while this KS keeps being used. */
  refreshAt: number;
  /** From here on, callers wait for a new KS. */
  usableUntil: number;
}

export interface WidgetSessionCache {
  /** The cached widget KS, or the one being fetched: concurrent callers share one request. */
  get(signal?: AbortSignal): Promise<WidgetSession>;
  /** Forgets `ks` if it is still the cached one (Kaltura refused it). */
  invalidate(ks: string): void;
  clear(): void;
}

/** After a failed background refresh, the next one waits this long. */
const REFRESH_COOLDOWN_MS = 5_000;
/** Callers stop using a KS this long before its expiry (at most 10% of its lifetime). */
const EXPIRY_MARGIN_MS = 60_000;

/**
 * Single-flight cache of the widget session the app-token flow hashes with. A widget KS
 * cannot be revoked, so it is reused until 80% of its lifetime (then refreshed in the
 * background, still served) and dropped shortly before it expires. Failures are never
 * cached: the next caller starts a new request.
 */
export function createWidgetSessionCache(deps: {
  fetch: () => Promise<KalturaStartWidgetSessionResponse>;
  lifetimeSeconds: number;
  now: Clock;
  /** Kaltura's clock minus `now`'s (ms): the KS's `validUntil` is on Kaltura's clock. */
  kalturaClockOffsetMs: () => number;
  emit: ((event: KalturaClientEvent) => void) | undefined;
}): WidgetSessionCache {
  const { now, emit } = deps;
  let entry: WidgetSession | null = null;
  let inflight: Promise<WidgetSession> | null = null;
  let invalidated = false;
  let cooldownUntil = 0;
  let generation = 0;

  function build(answer: KalturaStartWidgetSessionResponse, requestedAt: number): WidgetSession {
    let expiresAt = requestedAt + deps.lifetimeSeconds * 1000;
    try {
      // Kaltura clamps the expiry to the partner's maximum; a v1 KS says by how much, on
      // Kaltura's clock: brought into ours by the offset.
      const decoded = decodeKs(answer.ks);
      if (decoded.version === 1) {
        const validUntilMs = decoded.validUntil * 1000 - deps.kalturaClockOffsetMs();
        expiresAt = Math.min(expiresAt, validUntilMs);
      }
    } catch {
      // A v2 KS is opaque without the secret: trust the lifetime asked for.
    }
    const lifetime = Math.max(0, expiresAt - requestedAt);
    return {
      ks: answer.ks,
      partnerId: answer.partnerId,
      refreshAt: requestedAt + lifetime * 0.8,
      usableUntil: expiresAt - Math.min(EXPIRY_MARGIN_MS, lifetime * 0.1),
    };
  }

  function refresh(reason: 'cold' | 'refresh' | 'invalid-ks'): Promise<WidgetSession> {
    const requestedAt = now();
    const started = generation;
    const promise = deps.fetch().then(
      (answer) => {
        const fresh = build(answer, requestedAt);
        // A `clear()` during the request makes its answer stale.
        if (started === generation) {
          entry = fresh;
          inflight = null;
        }
        emit?.({ type: 'widget-session', reason, durationMs: now() - requestedAt });
        return fresh;
      },
      (error: unknown) => {
        if (started === generation) inflight = null;
        cooldownUntil = now() + REFRESH_COOLDOWN_MS;
        emit?.({
          type: 'widget-session',
          reason,
          durationMs: now() - requestedAt,
          ...(error instanceof KsError ? { error } : {}),
        });
        throw error;
      },
    );
    inflight = promise;
    return promise;
  }

  return {
    get(signal) {
      const at = now();
      const current = entry;
      if (current !== null && at < current.usableUntil) {
        if (at >= current.refreshAt && inflight === null && at >= cooldownUntil) {
          // Served stale-while-revalidate; a failure here only shows up as an event.
          refresh('refresh').catch(() => {});
        }
        return Promise.resolve(current);
      }
      const pending =
        inflight ?? refresh(invalidated ? 'invalid-ks' : current === null ? 'cold' : 'refresh');
      invalidated = false;
      return signal === undefined ? pending : abortable(pending, signal);
    },
    invalidate(ks) {
      if (entry !== null && entry.ks === ks) {
        entry = null;
        invalidated = true;
      }
    },
    clear() {
      generation++;
      entry = null;
      inflight = null;
    },
  };
}

/** Lets one waiter give up on a shared request without cancelling it for the others. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    return Promise.reject(
      new KsError('ERR_KS_ABORTED', 'startAppTokenSession: aborted', { cause: signal.reason }),
    );
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      reject(
        new KsError('ERR_KS_ABORTED', 'startAppTokenSession: aborted', { cause: signal.reason }),
      );
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
