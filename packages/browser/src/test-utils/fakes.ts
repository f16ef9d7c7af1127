/**
 * Fakes for the browser client's tests: a clock with timers, fetch, BroadcastChannel,
 * Web Locks and DOM event targets. Nothing here sleeps for real: time moves only when
 * a test calls `advance`, `sleep` or `set`.
 */
import { vi } from 'vitest';
import type { KsSession, TimerProvider } from '../client.js';

/** Lets every queued promise callback run (the fakes settle in microtasks only). */
export async function flush(rounds = 50): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A wall clock, a monotonic clock (`performance.now`) and timers that fire only when the
 * test moves time. Time passing moves both clocks; setting the wall clock or sleeping
 * moves the wall clock alone.
 */
export class FakeClock {
  private readonly timers = new Map<number, FakeTimer>();
  private seq = 0;
  /** The monotonic clock, ms from an arbitrary origin. */
  ticks = 5_000;

  constructor(public time = 1_700_000_000_000) {}

  readonly now = (): number => this.time;
  readonly monotonic = (): number => this.ticks;

  readonly provider: TimerProvider = {
    setTimeout: (fn, ms) => {
      const id = ++this.seq;
      this.timers.set(id, { at: this.time + Math.max(0, ms), seq: id, fn });
      return id;
    },
    clearTimeout: (handle) => {
      this.timers.delete(handle as number);
    },
  };

  /** How many timers are pending. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward, firing each timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await flush();
    for (;;) {
      let next: [number, FakeTimer] | undefined;
      for (const entry of this.timers)
        if (
          entry[1].at <= end &&
          (!next ||
            entry[1].at < next[1].at ||
            (entry[1].at === next[1].at && entry[1].seq < next[1].seq))
        )
          next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.move(next[1].at);
      next[1].fn();
      await flush();
    }
    this.move(end);
    await flush();
  }

  private move(to: number): void {
    if (to > this.time) {
      this.ticks += to - this.time;
      this.time = to;
    }
  }

  /**
   * The machine sleeps: the wall clock moves but timers do not count the time
   * (as in browsers that suspend timers), so each fires `ms` later than planned;
   * nor does the monotonic clock (Chromium on Linux and macOS).
   */
  sleep(ms: number): void {
    this.time += ms;
    for (const t of this.timers.values()) t.at += ms;
  }

  /** Someone sets the system clock (timers keep their monotonic schedule). */
  set(time: number): void {
    const delta = time - this.time;
    this.time = time;
    for (const t of this.timers.values()) t.at += delta;
  }
}

export interface FakeReply {
  status?: number;
  body?: unknown;
  /** Raw text instead of JSON (to send garbage). */
  text?: string;
  headers?: Record<string, string>;
}

export interface FetchCall {
  url: string;
  init: RequestInit;
  at: number;
}

/** A fetch that answers from `handler`, honours the abort signal and records calls. */
export function fakeFetch(
  clock: FakeClock,
  handler: (call: FetchCall) => FakeReply | Promise<FakeReply>,
) {
  const calls: FetchCall[] = [];
  const fn = (url: string, init: RequestInit): Promise<Response> => {
    const call = { url, init, at: clock.now() };
    calls.push(call);
    return new Promise<Response>((resolve, reject) => {
      init.signal?.addEventListener('abort', () =>
        reject(new DOMException('The operation was aborted.', 'AbortError')),
      );
      Promise.resolve()
        .then(() => handler(call))
        .then((r) => {
          const headers = new Map(
            Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
          );
          const status = r.status ?? 200;
          resolve({
            ok: status >= 200 && status < 300,
            status,
            headers: { get: (k: string) => headers.get(k.toLowerCase()) ?? null },
            json: async () => JSON.parse(r.text ?? JSON.stringify(r.body)),
          } as unknown as Response);
        }, reject);
    });
  };
  return Object.assign(fn, { calls });
}

/** Resolves after `ms` of fake time (for slow answers). */
export function delay(clock: FakeClock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.provider.setTimeout(resolve, ms));
}

/**
 * A KS server on the fake clock: a plain GET returns its cached KS while that has more
 * than `renewWindowMs` left (default: half its lifetime, as the real route keeps "most of
 * its life"), `renew=1` mints a new one.
 */
export function fakeServer(
  clock: FakeClock,
  {
    lifetimeMs = 3_600_000,
    skewMs = 0,
    renewWindowMs = undefined as number | undefined,
  }: { lifetimeMs?: number | undefined; skewMs?: number | undefined; renewWindowMs?: number } = {},
) {
  let n = 0;
  let cached: KsSession | undefined;
  const server = {
    minted: 0,
    /** Who the cookie names: change it to sign in as someone else. */
    userId: 'alice',
    /** Lifetime of the next KS minted. */
    lifetimeMs,
    /** The server's clock minus the page's wall clock (move it when a test turns the page's clock). */
    skewMs,
    get current() {
      return cached;
    },
    mint(): KsSession {
      server.minted++;
      const serverTime = clock.now() + server.skewMs;
      cached = {
        // "v2|12345|" and bytes: a KS v2 of partner 12345, as far as anyone without the secret can tell.
        ks: `djJ8MTIzNDV8ks-${++n}`,
        partnerId: 12345,
        userId: server.userId,
        type: 0,
        privileges: 'sview:*',
        expiresAt: serverTime + server.lifetimeMs,
        serverTime,
      };
      return cached;
    },
    handle(call: FetchCall): FakeReply {
      const serverTime = clock.now() + server.skewMs;
      const window = renewWindowMs ?? server.lifetimeMs / 2;
      if (
        !cached ||
        cached.userId !== server.userId ||
        call.url.includes('renew=1') ||
        cached.expiresAt - serverTime <= window
      )
        server.mint();
      return { body: { ...cached, serverTime } };
    },
  };
  return server;
}

/** A KS v1 as Kaltura writes it: `signature|partnerId;partnerId;validUntil;type;rand;userId;…`, base64. */
export function ksV1(partnerId: number, type: number, userId: string, validUntilSeconds = 2e9) {
  return btoa(
    `${'0'.repeat(40)}|${partnerId};${partnerId};${validUntilSeconds};${type};1;${userId};;;`,
  );
}

type Listener = (event: { type: string }) => void;

/** An event target that counts its listeners; events bubble to `parent`, as the document's reach the window. */
export class FakeTarget {
  readonly listeners = new Map<string, Set<Listener>>();
  visibilityState: 'visible' | 'hidden' = 'visible';

  constructor(readonly parent?: FakeTarget) {}

  readonly addEventListener = (type: string, fn: Listener): void => {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(fn);
  };

  readonly removeEventListener = (type: string, fn: Listener): void => {
    this.listeners.get(type)?.delete(fn);
  };

  dispatch(type: string): void {
    for (const fn of this.listeners.get(type) ?? []) fn({ type });
    this.parent?.dispatch(type);
  }

  get count(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }
}

/** BroadcastChannel instances that talk to each other through one hub. */
export class FakeBroadcastHub {
  readonly open = new Set<FakeChannel>();
  readonly log: unknown[] = [];

  readonly Channel = (() => {
    const hub = this;
    return class extends FakeChannel {
      constructor(name: string) {
        super(hub, name);
      }
    };
  })();
}

class FakeChannel {
  onmessage: ((event: { data: unknown }) => void) | null = null;
  closed = false;

  constructor(
    readonly hub: FakeBroadcastHub,
    readonly name: string,
  ) {
    hub.open.add(this);
  }

  postMessage(data: unknown): void {
    if (this.closed) throw new DOMException('closed', 'InvalidStateError');
    this.hub.log.push(data);
    const copy = structuredClone(data);
    for (const other of this.hub.open)
      if (other !== this && other.name === this.name)
        queueMicrotask(() => other.closed || other.onmessage?.({ data: copy }));
  }

  close(): void {
    this.closed = true;
    this.hub.open.delete(this);
  }
}

/** `navigator.locks` with the exclusive, queued semantics of the Web Locks API. */
export class FakeLocks {
  readonly held = new Set<string>();
  private readonly queues = new Map<string, Array<() => void>>();
  granted = 0;

  request<T>(
    name: string,
    optionsOrCallback: { ifAvailable?: boolean } | ((lock: unknown) => Promise<T>),
    maybeCallback?: (lock: unknown) => Promise<T>,
  ): Promise<T> {
    const callback = (maybeCallback ?? optionsOrCallback) as (lock: unknown) => Promise<T>;
    const options = maybeCallback ? (optionsOrCallback as { ifAvailable?: boolean }) : {};
    if (options.ifAvailable && this.held.has(name)) return Promise.resolve(callback(null));
    return new Promise<T>((resolve, reject) => {
      const run = () => {
        this.held.add(name);
        this.granted++;
        Promise.resolve()
          .then(() => callback({ name }))
          .then(resolve, reject)
          .finally(() => {
            this.held.delete(name);
            this.queues.get(name)?.shift()?.();
          });
      };
      if (this.held.has(name)) {
        if (!this.queues.has(name)) this.queues.set(name, []);
        this.queues.get(name)!.push(run);
      } else run();
    });
  }
}

export interface Browser {
  window: FakeTarget;
  document: FakeTarget;
  hub: FakeBroadcastHub;
  locks: FakeLocks | undefined;
}

/**
 * Installs the browser globals the client looks for: window events, `document`,
 * `BroadcastChannel` and (unless `noLocks`) `navigator.locks`. Undo with
 * `vi.unstubAllGlobals()`.
 */
export function installBrowser({ noLocks = false } = {}): Browser {
  const window = new FakeTarget();
  const document = new FakeTarget(window);
  const hub = new FakeBroadcastHub();
  const locks = noLocks ? undefined : new FakeLocks();
  vi.stubGlobal('addEventListener', window.addEventListener);
  vi.stubGlobal('removeEventListener', window.removeEventListener);
  vi.stubGlobal('document', document);
  vi.stubGlobal('BroadcastChannel', hub.Channel);
  vi.stubGlobal('navigator', { onLine: true, locks });
  return { window, document, hub, locks };
}
