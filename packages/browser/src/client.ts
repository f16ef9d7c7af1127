import { isSession } from './answer.js';
import { connectTabs, idOf, partnerOf } from './cross-tab.js';
import { fail, KsClientError, type KsClientErrorCode } from './errors.js';
import { attach, type KalturaPlayerLike } from './player.js';

/**
 * What the KS route answers with (epoch milliseconds on the server's clock): the route's
 * body, `KsRouteBody` in `@kaltura-ks/core/http` too.
 */
export interface KsRouteBody {
  ks: string;
  partnerId: number;
  userId: string;
  /** 0 = user KS, 2 = admin KS. */
  type: 0 | 2;
  privileges: string;
  /** When the KS expires, epoch ms on the server's clock. */
  expiresAt: number;
  /** The server's clock when it answered, epoch ms. */
  serverTime: number;
}

/** @deprecated Renamed `KsRouteBody` (the route's body; core's `KsSession` is the issuer's). */
export type KsSession = KsRouteBody;

export type KsEvent =
  | { type: 'ks'; session: KsRouteBody }
  /**
   * The server named another user (or session type) than this tab held: the account was
   * switched, e.g. a sign-in as someone else in another tab. Comes before that user's `ks`.
   */
  | { type: 'switch'; session: KsRouteBody }
  | { type: 'error'; error: KsClientError }
  /** The session was dropped: `clear()` here or in another tab, a 401, or another user's session in another tab. */
  | { type: 'clear' };

export type KsListener = (event: KsEvent) => void;

/** A replaceable timer provider, like TanStack Query's. */
export interface TimerProvider {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface KsClientOptions {
  /** The KS route. Default `/kaltura/ks`. */
  url?: string;
  /** Default: the global `fetch`. */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /**
   * Merged into every request; default `{ credentials: 'include', cache: 'no-store' }`.
   * `headers` is a plain object (typed so): a report (`reportRejected`) spreads it and adds
   * its own, and a `Headers` instance or an array would spread to nothing — the report would
   * go out without the app's `Authorization`, get a 401, and clear the session.
   */
  init?: Omit<RequestInit, 'headers'> & { headers?: Record<string, string> };
  /** Renew when this fraction of the lifetime left at receipt has passed. Default 0.8. */
  refreshAtFraction?: number;
  /** Renew up to this fraction of that lifetime earlier, at random. Default 0.05. */
  jitterRatio?: number;
  /** Floor on the time from receiving a KS to renewing it. Default 10 000 ms. */
  minRenewIntervalMs?: number;
  /** `getKs()` fetches rather than hand out a KS with less life left. Default 10 000 ms. */
  minRemainingMs?: number;
  /** Longest timer: the wall clock is checked at least this often. Default 30 000 ms. */
  checkIntervalMs?: number;
  /** Backoff after failures: `baseMs` doubled per failure, jittered, capped at `maxMs`. */
  failureBackoff?: { baseMs?: number; maxMs?: number };
  /** @deprecated Renamed `refreshAtFraction`, as the issuer's option. */
  renewAtFraction?: never;
  /** @deprecated Renamed `minRemainingMs`, as the issuer's option. */
  minValidityMs?: never;
  /** @deprecated Renamed `failureBackoff`, as the issuer's option. */
  retry?: never;
  /** Abort a request after this long. Default 10 000 ms. */
  requestTimeoutMs?: number;
  /** Share one KS and one renewal between the tabs of this origin. Default true. */
  crossTab?: boolean;
  /** The wall clock, epoch ms. Default `Date.now`. */
  now?: () => number;
  /**
   * A monotonic clock, ms (any origin). Default `performance.now`. A KS expires by whichever
   * of the two clocks says so first, so turning the wall clock back never extends it.
   */
  monotonic?: () => number;
  timers?: TimerProvider;
  /** In [0, 1); for the jitter. Default `Math.random`. */
  random?: () => number;
}

export interface KsClient {
  /** A KS with at least `minRemainingMs` left; concurrent calls share one request. */
  getKs(): Promise<string>;
  /** The latest session while it is valid, synchronously. */
  readonly current: KsRouteBody | undefined;
  /**
   * When the current KS expires and when the next renewal is due, on the local
   * clock (epoch ms, corrected for the server's clock); for countdowns.
   */
  readonly timing: { expiresAt: number; renewAt: number } | undefined;
  /** Asks the server for a new KS now (`?renew=1`). */
  refresh(): Promise<string>;
  /**
   * Tells the server that Kaltura refused `ks` (default: the current KS), e.g. `INVALID_KS`
   * after `session.end`, and resolves with the KS to use. The server checks the report and
   * replaces the KS only when Kaltura really refuses it. A KS this client no longer holds
   * is not reported: the current one is answered.
   */
  reportRejected(ks?: string): Promise<string>;
  /** Reports each new KS, each switch of user, each error and each clear. Returns an unsubscribe function. */
  subscribe(listener: KsListener): () => void;
  /** Forgets the session (logout) in every tab. */
  clear(): void;
  /** Removes every timer and listener and detaches players; pending calls reject. */
  stop(): void;
  /** Keeps a Kaltura Player on the current KS; returns a detach function. */
  attachPlayer(player: KalturaPlayerLike): () => void;
}

/** setTimeout overflows above 2^31 − 1 ms. */
const MAX_DELAY = 2 ** 31 - 1;

export function createKsClient({
  url = '/kaltura/ks',
  // Looked up when the client is made: a polyfill goes in first.
  fetch: fetchKs = fetch,
  init,
  refreshAtFraction = 0.8,
  jitterRatio = 0.05,
  minRenewIntervalMs = 10_000,
  minRemainingMs = 10_000,
  checkIntervalMs = 30_000,
  failureBackoff: { baseMs = 1_000, maxMs = 60_000 } = {},
  requestTimeoutMs = 10_000,
  crossTab = true,
  now = Date.now,
  monotonic = () => performance.now(),
  // The global functions, called as methods of the global object.
  timers = globalThis as unknown as TimerProvider,
  random = Math.random,
}: KsClientOptions = {}): KsClient {
  // Every number must be positive (jitterRatio may be 0) and at most its bound.
  for (const [name, value, max] of [
    ['refreshAtFraction', refreshAtFraction, 1],
    ['jitterRatio', jitterRatio, refreshAtFraction],
    ['minRenewIntervalMs', minRenewIntervalMs, MAX_DELAY],
    ['minRemainingMs', minRemainingMs, MAX_DELAY],
    ['checkIntervalMs', checkIntervalMs, MAX_DELAY],
    ['failureBackoff.maxMs', maxMs, MAX_DELAY],
    ['failureBackoff.baseMs', baseMs, maxMs],
    ['requestTimeoutMs', requestTimeoutMs, MAX_DELAY],
    // 1 for a URL, 0 for none.
    ['url', +!!url, 1],
  ] as const)
    if (!(value <= max && (value > 0 || (name === 'jitterRatio' && value === 0))))
      throw fail('ERR_KS_INVALID_OPTION', name);

  const g = globalThis as unknown as Window & typeof globalThis;
  const listeners = new Set<KsListener>();
  const players = new Set<() => void>();
  // Each re-checks the wall clock; `visibilitychange` bubbles from the document.
  const wakeEvents = ['pageshow', 'online', 'focus', 'visibilitychange'];

  let session: KsRouteBody | undefined;
  let same: boolean | undefined; // the last answer brought nothing newer: ask for `renew=1` next time
  // From this tab's own last answer: who it is for ("partnerId,type,userId"), the server's
  // clock minus the wall and the monotonic clocks, and the longest lifetime it has given.
  let who: string | undefined;
  // Set before the first session is adopted.
  let off: number;
  let moff: number;
  let life = 0;
  let pending: Promise<string> | undefined;
  let request = new AbortController(); // of the request under way (or the last one)
  let timer: unknown;
  let active: boolean | undefined; // keep a session alive (getKs or refresh was called, no 401/clear since)
  let stopped: boolean | undefined;
  let generation = 0; // bumped by clear/stop: late answers are dropped
  let failures = 0;
  let retryAt = 0;
  let renewAt = 0; // local time of the next proactive renewal (kept after an expiry: the floor holds)
  let lastCheck = now();
  let reason: KsClientErrorCode; // why the request under way may fail (set by each load)

  const emit = (event: KsEvent, to: Set<KsListener> = listeners) => {
    for (const listener of to)
      try {
        listener(event);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
  };
  /**
   * Life left in the current KS: the lower of the wall-clock and the monotonic estimate. The
   * offsets change only with an answer of this tab's own, whose session replaces the current.
   */
  const left = () =>
    session ? Math.min(session.expiresAt - off - now(), session.expiresAt - moff - monotonic()) : 0;
  const usable = () => left() > minRemainingMs;

  const adopt = (s: KsRouteBody, local?: boolean) => {
    const again = s.ks === session?.ks;
    // From another tab: every tab keeps the greatest session it has seen, ordered by
    // (expiresAt, ks), so all tabs converge. What a tab fetched itself always replaces.
    if (
      !local &&
      (again || (session && (session.expiresAt - s.expiresAt || (session.ks > s.ks ? 1 : -1)) > 0))
    )
      return;
    // Before `switch`: what its listeners ask the client is the new account's.
    session = s;
    if (local) {
      const id = idOf(s);
      if (who && who !== id) emit({ type: 'switch', session: s });
      who = id;
      life = Math.max(life, s.expiresAt - s.serverTime);
    }
    // The server gave our own KS back: the next renewal asks for `renew=1`.
    same = again;
    renewAt =
      now() + Math.max(minRenewIntervalMs, left() * (refreshAtFraction - random() * jitterRatio));
    failures = retryAt = 0;
    // Not after a `switch` listener cleared the client: that session is not held.
    if (!again && session) {
      if (local) post({ t: 's', s });
      emit({ type: 'ks', session: s });
    }
    schedule();
  };

  const drop = (broadcast?: boolean) => {
    generation++;
    // The request under way is cut short: a call from now on makes its own.
    session = pending = undefined;
    active = false;
    failures = retryAt = renewAt = 0;
    request.abort();
    if (broadcast) post({ t: 'c' });
    emit({ type: 'clear' });
    schedule();
  };

  /**
   * A session from another tab: adopted when it is a KS of this tab's partner, user and type
   * (v2 hides the type and the user: the session's own fields stand for them) whose expiry is
   * within the longest lifetime the server has given. Another user's session of the same
   * partner drops ours: the account was switched, and our next request says to whom.
   * Anything else is dropped and reported. A tab that holds no session trusts none (below).
   */
  const receive = (s: KsRouteBody) => {
    const id = isSession(s) ? idOf(s) : '';
    try {
      if (
        // Its partner (and, v1, type) are its KS's; its partner and type are ours; and it
        // expires within the longest lifetime the server has given (plus a minute: this
        // tab's estimate of the server's clock is off by up to half a round trip, and
        // Kaltura counts whole seconds).
        id.startsWith(`${partnerOf(s.ks)},`) &&
        who!.startsWith(`${s.partnerId},${s.type},`) &&
        s.expiresAt < now() + off + life + 60_000
      )
        return id === who ? adopt(s) : drop();
    } catch {}
    emit({ type: 'error', error: fail('ERR_KS_RESPONSE') });
  };

  const [post, renew, closeTabs] = connectTabs(
    `kaltura-ks:${url}`,
    crossTab,
    requestTimeoutMs,
    timers,
    random,
    // A tab that holds no session trusts no other tab's: not before its own first answer
    // (it does not know its user), nor after a clear (here or in another tab), a 401 or
    // another user's session. What another tab posted before a logout could reach this
    // tab after it, and be handed to whoever signs in next.
    (s) => session && receive(s),
    drop,
  );

  const load = (force = same, rejected?: string): Promise<string> =>
    (pending ||= (async () => {
      const gen = generation;
      // Set here, not in `run`: what fails before `run` (a claim that cannot be posted)
      // is no timeout of an earlier request.
      reason = 'ERR_KS_NETWORK';
      const before = session;
      const fresh = () => session !== before && usable();
      const run = async () => {
        if (gen !== generation) throw 0;
        if (fresh()) return session!.ks;
        request = new AbortController();
        const h = timers.setTimeout(() => {
          reason = 'ERR_KS_TIMEOUT';
          request.abort();
        }, requestTimeoutMs);
        const sent = now();
        const msent = monotonic();
        try {
          const res = await fetchKs(force ? `${url}${url.includes('?') ? '&' : '?'}renew=1` : url, {
            credentials: 'include',
            cache: 'no-store',
            ...init,
            // A refused KS goes in a header (never in a URL).
            ...(rejected && { headers: { ...init?.headers, 'X-Kaltura-Rejected-Ks': rejected } }),
            signal: request.signal,
          });
          // serverTime was stamped about half a round trip before we received it.
          const o = sent + now();
          const mo = msent + monotonic();
          const body = (await res.json().catch(() => undefined)) as KsRouteBody | undefined;
          // Timed out while reading the body: reported as `reason` below.
          if (request.signal.aborted) throw 0;
          const { status } = res;
          if (!res.ok) {
            const e = fail(
              status === 401
                ? 'ERR_KS_NO_USER'
                : status === 403
                  ? 'ERR_KS_FORBIDDEN'
                  : status === 503
                    ? 'ERR_KS_UNAVAILABLE'
                    : 'ERR_KS_HTTP',
              status,
              status,
            );
            const after = +res.headers.get('retry-after')!;
            if (after > 0) e.retryAfterMs = after * 1000;
            throw e;
          }
          if (!isSession(body)) throw fail('ERR_KS_RESPONSE', status, status);
          // Cleared while under way: reported as ERR_KS_ABORTED below.
          if (gen !== generation) throw 0;
          off = body.serverTime - o / 2;
          moff = body.serverTime - mo / 2;
          adopt(body, true);
          // A `switch` listener cleared (or stopped) the client: not this call's KS.
          if (gen !== generation) throw 0;
          return body.ks;
        } finally {
          timers.clearTimeout(h);
        }
      };
      try {
        // One tab renews for all (cross-tab.ts).
        return await renew(run, who, fresh);
      } catch (x) {
        if (gen !== generation) throw fail('ERR_KS_ABORTED');
        // Not an answer: the request failed (or timed out, as `reason` says).
        const e = x instanceof KsClientError ? x : fail(reason, '', undefined, x);
        // Equal jitter: core's backoffDelay, copied (an import would cost the bundle bytes);
        // packages/testing/src/backoff.test.ts checks that they agree.
        const d = Math.min(maxMs, baseMs * 2 ** failures++);
        retryAt =
          now() + Math.min(maxMs, Math.max(d / 2 + (random() * d) / 2, e.retryAfterMs ?? 0));
        if (e.code === 'ERR_KS_NO_USER') drop(true);
        emit({ type: 'error', error: e });
        throw e;
      } finally {
        // Unless a clear forgot it (a call since then may have made its own).
        // biome-ignore lint/suspicious/noAssignInExpressions: fewer bytes (size.test.ts)
        gen - generation || (pending = undefined);
        schedule();
      }
    })());

  function check() {
    const n = now();
    // The local clock was turned back: renew now, which measures the clocks again.
    if (n < lastCheck - 1_000) retryAt = renewAt = n;
    lastCheck = n;
    if (!active || pending) return schedule();
    const due = n >= Math.max(renewAt, retryAt);
    // Expired, and no renewal may start now (backoff or the floor): report it.
    if (session && left() <= 0 && !due) {
      session = undefined;
      emit({ type: 'error', error: fail('ERR_KS_EXPIRED') });
    }
    if (due) load().catch(() => {});
    else schedule();
  }

  function schedule() {
    timers.clearTimeout(timer);
    if (stopped || !active || pending) return;
    const n = now();
    let due = Math.max(renewAt, retryAt);
    if (session) due = Math.min(due, n + left());
    // A delay below 0 counts as 0.
    timer = timers.setTimeout(check, Math.min(due - n, checkIntervalMs));
  }

  const wake = (e: Event) => {
    if (e.type === 'online') retryAt = 0;
    check();
  };
  for (const type of wakeEvents) g.addEventListener?.(type, wake);

  const subscribe = (listener: KsListener) => {
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  };
  /** Runs a public call, which keeps the session alive from then on. */
  const start = (f: () => Promise<string>) => {
    if (stopped) return Promise.reject(fail('ERR_KS_ABORTED'));
    active = true;
    return f();
  };
  const getKs = () => start(async () => (usable() ? session!.ks : load()));
  const reportRejected = (ks = session?.ks) =>
    start(() => (ks && ks === session?.ks ? load(false, ks) : getKs()));

  return {
    getKs,
    get current() {
      return left() > 0 ? session : undefined;
    },
    get timing() {
      return session && { expiresAt: now() + left(), renewAt: Math.max(renewAt, retryAt) };
    },
    refresh: () => start(() => load(true)),
    reportRejected,
    subscribe,
    clear: () => drop(true),
    // Idempotent: a second call finds nothing left to undo.
    stop() {
      stopped = true;
      generation++;
      timers.clearTimeout(timer);
      request.abort();
      for (const type of wakeEvents) g.removeEventListener?.(type, wake);
      closeTabs();
      listeners.clear();
      // Last, each called as a listener is: a player that throws while being detached
      // stops neither the teardown above nor the other players' detaching.
      emit(0 as never, players);
    },
    attachPlayer(player) {
      return attach(
        player,
        (apply) => {
          if (session) apply(session.ks);
          return subscribe((e) =>
            e.type === 'ks' ? apply(e.session.ks) : e.type === 'clear' && apply(''),
          );
        },
        reportRejected,
        players,
      );
    },
  };
}
