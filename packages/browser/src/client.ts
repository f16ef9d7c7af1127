import { KsClientError, type KsClientErrorCode } from './errors.js';
import { attach, type KalturaPlayerLike } from './player.js';

/** What the KS route answers with (epoch milliseconds on the server's clock). */
export interface KsSession {
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

export type KsEvent =
  | { type: 'ks'; session: KsSession }
  | { type: 'error'; error: KsClientError }
  /** The session was dropped: `clear()` here or in another tab, or a 401. */
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
  /** Merged into every request; default `{ credentials: 'include', cache: 'no-store' }`. */
  init?: RequestInit;
  /** Renew when this fraction of the lifetime left at receipt has passed. Default 0.8. */
  renewAtFraction?: number;
  /** Renew up to this fraction of that lifetime earlier, at random. Default 0.05. */
  jitterRatio?: number;
  /** Floor on the time from receiving a KS to renewing it. Default 10 000 ms. */
  minRenewIntervalMs?: number;
  /** `getKs()` fetches rather than hand out a KS with less life left. Default 10 000 ms. */
  minValidityMs?: number;
  /** Longest timer: the wall clock is checked at least this often. Default 30 000 ms. */
  checkIntervalMs?: number;
  /** Backoff after failures: `baseMs` doubled per failure, jittered, capped at `maxMs`. */
  retry?: { baseMs?: number; maxMs?: number };
  /** Abort a request after this long. Default 10 000 ms. */
  requestTimeoutMs?: number;
  /** Share one KS and one renewal between the tabs of this origin. Default true. */
  crossTab?: boolean;
  /** The clock, epoch ms. Default `Date.now`. */
  now?: () => number;
  timers?: TimerProvider;
  /** In [0, 1); for the jitter. Default `Math.random`. */
  random?: () => number;
}

export interface KsClient {
  /** A KS with at least `minValidityMs` left; concurrent calls share one request. */
  getKs(): Promise<string>;
  /** The latest session while it is valid, synchronously. */
  readonly current: KsSession | undefined;
  /**
   * When the current KS expires and when the next renewal is due, on the local
   * clock (epoch ms, corrected for the server's clock); for countdowns.
   */
  readonly timing: { expiresAt: number; renewAt: number } | undefined;
  /** Asks the server for a new KS now (`?renew=1`). */
  refresh(): Promise<string>;
  /** Reports each new KS, each error and each clear. Returns an unsubscribe function. */
  subscribe(listener: KsListener): () => void;
  /** Forgets the session (logout) in every tab. */
  clear(): void;
  /** Removes every timer and listener and detaches players; pending calls reject. */
  stop(): void;
  /** Keeps a Kaltura Player on the current KS; returns a detach function. */
  attachPlayer(player: KalturaPlayerLike): () => void;
}

type Message =
  | { t: 's'; s: KsSession; o: number } // a session, with the sender's clock offset
  | { t: 'q' } // a tab asks for the current session
  | { t: 'c' } // clear
  | { t: 'r'; id: number } // a tab claims the renewal (election without Web Locks)
  | { t: 'b' }; // "I am renewing" (election without Web Locks)

interface State {
  session: KsSession;
  /** Server clock minus local clock, ms. */
  off: number;
  /** Local expiry, ms. */
  exp: number;
  /** The last answer brought nothing newer: ask for `renew=1` next time. */
  same: boolean;
}

const ELECTION_MS = 50;
/** setTimeout overflows above 2^31 − 1 ms. */
const MAX_DELAY = 2 ** 31 - 1;

const isSession = (b: KsSession | undefined): b is KsSession =>
  typeof b?.ks === 'string' &&
  b.ks !== '' &&
  typeof b.userId === 'string' &&
  typeof b.privileges === 'string' &&
  (b.type === 0 || b.type === 2) &&
  Number.isFinite(b.partnerId) &&
  Number.isFinite(b.serverTime) &&
  Number.isFinite(b.expiresAt) &&
  b.expiresAt > b.serverTime;

const fail = (code: KsClientErrorCode, message: string, status?: number, cause?: unknown) =>
  new KsClientError(code, `kaltura-ks: ${message}`, status, cause);

export function createKsClient({
  url = '/kaltura/ks',
  fetch: fetchKs = (u, i) => fetch(u, i),
  init,
  renewAtFraction = 0.8,
  jitterRatio = 0.05,
  minRenewIntervalMs = 10_000,
  minValidityMs = 10_000,
  checkIntervalMs = 30_000,
  retry: { baseMs = 1_000, maxMs = 60_000 } = {},
  requestTimeoutMs = 10_000,
  crossTab = true,
  now = Date.now,
  timers = {
    setTimeout: (f, ms) => setTimeout(f, ms),
    clearTimeout: (h) => clearTimeout(h as number),
  },
  random = Math.random,
}: KsClientOptions = {}): KsClient {
  // Every number must be positive (jitterRatio may be 0) and at most its bound.
  for (const [name, value, max] of [
    ['renewAtFraction', renewAtFraction, 1],
    ['jitterRatio', jitterRatio, renewAtFraction],
    ['minRenewIntervalMs', minRenewIntervalMs, MAX_DELAY],
    ['minValidityMs', minValidityMs, MAX_DELAY],
    ['checkIntervalMs', checkIntervalMs, MAX_DELAY],
    ['retry.maxMs', maxMs, MAX_DELAY],
    ['retry.baseMs', baseMs, maxMs],
    ['requestTimeoutMs', requestTimeoutMs, MAX_DELAY],
  ] as const)
    if (!(value <= max && (value > 0 || (value === 0 && name === 'jitterRatio'))))
      throw fail('ERR_KS_INVALID_OPTION', `invalid option ${name}`);
  if (!url) throw fail('ERR_KS_INVALID_OPTION', 'invalid option url');

  const g = globalThis as unknown as Window & typeof globalThis;
  const name = `kaltura-ks:${url}`;
  const channel =
    crossTab && typeof BroadcastChannel === 'function' ? new BroadcastChannel(name) : undefined;
  const locks = crossTab ? g.navigator?.locks : undefined;
  const listeners = new Set<KsListener>();
  const handles = new Set<unknown>();
  const players = new Set<() => void>();
  /** Resolved when a session arrives (or on stop): ends a wait early. */
  const waiters = new Set<() => void>();
  const wakeEvents = [
    [g, 'pageshow'],
    [g, 'online'],
    [g, 'focus'],
    [g.document, 'visibilitychange'],
  ] as const;

  let state: State | undefined;
  let pending: Promise<string> | undefined;
  let request: AbortController | undefined;
  let timer: unknown;
  let active = false; // keep a session alive (getKs or refresh was called, no 401/clear since)
  let stopped = false;
  let generation = 0; // bumped by clear/stop: late answers are dropped
  let failures = 0;
  let retryAt = 0;
  let renewAt = 0; // local time of the next proactive renewal (kept after an expiry: the floor holds)
  let lastCheck = now();
  let claim = 0; // our election ticket, 0 when not electing
  let lost = false;
  let busy = false;

  const later = (f: () => void, ms: number) => {
    const h = timers.setTimeout(() => {
      handles.delete(h);
      f();
    }, ms);
    handles.add(h);
    return h;
  };
  const cancel = (h: unknown) => {
    timers.clearTimeout(h);
    handles.delete(h);
  };
  /** Resolves after `ms`, or as soon as a session arrives, or on stop. */
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stopped) return resolve();
      const done = () => {
        cancel(h);
        waiters.delete(done);
        resolve();
      };
      const h = later(done, ms);
      waiters.add(done);
    });
  const emit = (event: KsEvent) => {
    for (const listener of listeners)
      try {
        listener(event);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
  };
  const post = (m: Message) => stopped || channel?.postMessage(m);
  const usable = () => !!state && now() < state.exp - minValidityMs;

  const adopt = (session: KsSession, off: number, local?: boolean) => {
    const prev = state?.session;
    // Sessions are ordered by (expiresAt, serverTime, ks); every tab keeps the greatest it
    // has seen, so all tabs converge. `keep`: the answer brings nothing new and greater.
    const again = prev?.ks === session.ks;
    const keep =
      !!prev &&
      (again ||
        (prev.expiresAt - session.expiresAt ||
          prev.serverTime - session.serverTime ||
          (prev.ks > session.ks ? 1 : -1)) > 0);
    if (keep && !local) return;
    const n = now();
    const next = keep ? prev : session;
    const exp = next.expiresAt - off;
    // The server gave our own KS back: the next renewal asks for `renew=1`.
    state = { session: next, off, exp, same: again };
    renewAt =
      n + Math.max(minRenewIntervalMs, (exp - n) * (renewAtFraction - random() * jitterRatio));
    lastCheck = n;
    failures = retryAt = 0;
    if (!keep) {
      if (local) post({ t: 's', s: next, o: off });
      emit({ type: 'ks', session: next });
    }
    for (const w of waiters) w();
    schedule();
  };

  const drop = (broadcast?: boolean) => {
    generation++;
    state = undefined;
    active = false;
    failures = retryAt = renewAt = 0;
    request?.abort();
    if (broadcast) post({ t: 'c' });
    emit({ type: 'clear' });
    schedule();
  };

  /** Runs `f` as the one tab renewing: Web Locks, else a BroadcastChannel election. */
  const lead = async <T>(f: (waited?: boolean) => Promise<T>): Promise<T> => {
    if (locks) {
      // Uncontended: renew at once. Otherwise queue behind the tab that is renewing.
      const r = await locks.request(name, { ifAvailable: true }, async (l: unknown) =>
        l ? [await f()] : 0,
      );
      return r ? (r as [T])[0] : (locks.request(name, () => f(true)) as Promise<T>);
    }
    if (channel) {
      lost = false;
      claim = random() + Number.MIN_VALUE;
      post({ t: 'r', id: claim });
      await wait(ELECTION_MS);
      claim = 0;
      // Another tab is renewing: wait for its session (or for it to give up).
      if (lost) await wait(requestTimeoutMs + ELECTION_MS);
    }
    busy = true;
    try {
      return await f();
    } finally {
      busy = false;
    }
  };

  const fetchSession = async (force: boolean, gen: number): Promise<string> => {
    const controller = new AbortController();
    request = controller;
    let reason: KsClientErrorCode = 'ERR_KS_NETWORK';
    const h = later(() => {
      reason = 'ERR_KS_TIMEOUT';
      controller.abort();
    }, requestTimeoutMs);
    const sent = now();
    try {
      const res = await fetchKs(force ? `${url}${url.includes('?') ? '&' : '?'}renew=1` : url, {
        credentials: 'include',
        cache: 'no-store',
        ...init,
        signal: controller.signal,
      }).catch((e: unknown) => {
        throw fail(
          reason,
          reason === 'ERR_KS_TIMEOUT' ? 'request timed out' : 'network error',
          undefined,
          e,
        );
      });
      const received = now();
      const body = (await res.json().catch(() => undefined)) as KsSession | undefined;
      if (controller.signal.aborted) throw fail(reason, 'request timed out');
      const { status } = res;
      if (!res.ok) {
        const e =
          status === 401
            ? fail('ERR_KS_NO_USER', 'nobody is signed in', status)
            : status === 403
              ? fail('ERR_KS_FORBIDDEN', 'KS refused', status)
              : status === 503
                ? fail('ERR_KS_UNAVAILABLE', 'KS unavailable', status)
                : fail('ERR_KS_HTTP', `unexpected HTTP status ${status}`, status);
        const after = Number(res.headers.get('retry-after'));
        if (after > 0) e.retryAfterMs = after * 1000;
        throw e;
      }
      if (!isSession(body)) throw fail('ERR_KS_RESPONSE', 'malformed KS response', status);
      if (gen !== generation) throw fail('ERR_KS_ABORTED', 'aborted');
      // serverTime was stamped about half a round trip before we received it.
      adopt(body, body.serverTime - (sent + received) / 2, true);
      return state!.session.ks;
    } finally {
      cancel(h);
    }
  };

  const load = (force = !!state?.same): Promise<string> =>
    (pending ||= (async () => {
      const gen = generation;
      const before = state;
      const fresh = () => state !== before && usable();
      try {
        if (channel && !state) {
          // A tab that joins later asks the others before fetching.
          post({ t: 'q' });
          await wait(ELECTION_MS);
          if (gen !== generation) throw 0;
        }
        return fresh()
          ? state!.session.ks
          : await lead(async (waited) => {
              // The renewing tab posts its KS before letting go of the lock, but the browser
              // may grant us the lock first: give that message a moment to arrive.
              if (waited && !fresh()) await wait(ELECTION_MS);
              if (gen !== generation) throw 0;
              return fresh() ? state!.session.ks : fetchSession(force, gen);
            });
      } catch (x) {
        if (gen !== generation) throw fail('ERR_KS_ABORTED', 'aborted', undefined, x);
        const e =
          x instanceof KsClientError ? x : fail('ERR_KS_NETWORK', 'network error', undefined, x);
        const d = Math.min(maxMs, baseMs * 2 ** failures++);
        retryAt =
          now() + Math.min(maxMs, Math.max(d / 2 + (random() * d) / 2, e.retryAfterMs ?? 0));
        if (e.code === 'ERR_KS_NO_USER') drop(true);
        emit({ type: 'error', error: e });
        throw e;
      } finally {
        pending = undefined;
        schedule();
      }
    })());

  function check() {
    const n = now();
    // The local clock was turned back: our expiry estimate is too late; renew now.
    if (n < lastCheck - 1_000) renewAt = n;
    lastCheck = n;
    if (!active || pending) return schedule();
    const due = n >= Math.max(renewAt, retryAt);
    // Expired, and no renewal may start now (backoff or the floor): report it.
    if (state && n >= state.exp && !due) {
      state = undefined;
      emit({ type: 'error', error: fail('ERR_KS_EXPIRED', 'KS expired without a replacement') });
    }
    if (due) load().catch(() => {});
    else schedule();
  }

  function schedule() {
    if (timer !== undefined) cancel(timer);
    timer = undefined;
    if (stopped || !active || pending) return;
    let due = Math.max(renewAt, retryAt);
    if (state) due = Math.min(due, state.exp);
    timer = later(check, Math.max(0, Math.min(due - now(), checkIntervalMs)));
  }

  const wake = (e: Event) => {
    if (e.type === 'online') retryAt = 0;
    check();
  };
  for (const [target, type] of wakeEvents) target?.addEventListener?.(type, wake);

  if (channel)
    channel.onmessage = ({ data: m }: MessageEvent<Message>) => {
      if (m.t === 's' && isSession(m.s) && Number.isFinite(m.o)) adopt(m.s, m.o);
      else if (m.t === 'q' && usable()) post({ t: 's', s: state!.session, o: state!.off });
      else if (m.t === 'c') drop();
      else if (m.t === 'b') lost ||= !!claim;
      else if (m.t === 'r') {
        // Renewing: the claimant waits for our session. Claiming: the smaller ticket wins,
        // and a later claimant may have missed our claim, so we repeat it.
        if (busy) post({ t: 'b' });
        else if (m.id < claim) lost = true;
        else if (claim) post({ t: 'r', id: claim });
      }
    };

  const subscribe = (listener: KsListener) => {
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  };

  return {
    getKs() {
      if (stopped) return Promise.reject(fail('ERR_KS_ABORTED', 'stopped'));
      active = true;
      return usable() ? Promise.resolve(state!.session.ks) : load();
    },
    get current() {
      return state && now() < state.exp ? state.session : undefined;
    },
    get timing() {
      return state && { expiresAt: state.exp, renewAt: Math.max(renewAt, retryAt) };
    },
    refresh() {
      if (stopped) return Promise.reject(fail('ERR_KS_ABORTED', 'stopped'));
      active = true;
      return load(true);
    },
    subscribe,
    clear: () => drop(true),
    stop() {
      if (stopped) return;
      stopped = true;
      generation++;
      request?.abort();
      for (const detach of players) detach();
      for (const h of handles) timers.clearTimeout(h);
      handles.clear();
      for (const w of waiters) w();
      for (const [target, type] of wakeEvents) target?.removeEventListener?.(type, wake);
      channel?.close();
      listeners.clear();
    },
    attachPlayer(player) {
      const detach = attach(player, (apply) => {
        if (state) apply(state.session.ks);
        return subscribe((e) =>
          e.type === 'ks' ? apply(e.session.ks) : e.type === 'clear' && apply(''),
        );
      });
      players.add(detach);
      return () => {
        players.delete(detach);
        detach();
      };
    },
  };
}
