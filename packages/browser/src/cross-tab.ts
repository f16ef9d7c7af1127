// The tabs of an origin: what they tell each other over a BroadcastChannel, the one renewal
// at a time (Web Locks, else an election over the channel), and what a tab checks in
// another's session before it believes it. What to do with a session is the client's.
import type { KsRouteBody, TimerProvider } from './client.js';

/** What the tabs of an origin tell each other. */
export type TabMessage =
  | { t: 's'; s: KsRouteBody } // a session
  | { t: 'c' } // clear
  // Election without Web Locks: a tab claims the renewal with a ticket; 0 is "I am renewing".
  | { t: 'r'; id: number };

/** How long a claim waits for a smaller ticket, and a lock holder's session for its message. */
export const ELECTION_MS = 50;

/**
 * What a KS shows without a secret: `partnerId,type` for v1 (clear text), the partner id
 * alone for v2 (the rest is encrypted). Throws on what is not base64. Another tab's session
 * is checked against it before it is believed.
 */
export const partnerOf = (ks: string) => {
  // v1: signature|partnerId;partnerId;validUntil;type;…  v2: v2|partnerId|encrypted
  const f = atob(ks.replace(/-/g, '+').replace(/_/g, '/')).split(/[;|]/);
  return f[0] === 'v2' ? f[1] : `${f[1]},${f[4]}`;
};

/** Whom a session is for: `partnerId,type,userId`. */
export const idOf = (s: KsRouteBody) => `${[s.partnerId, s.type, s.userId]}`;

/**
 * Joins the tabs' channel `name`. Returns `[post, renew, close]`: `post` tells the other
 * tabs; `renew` runs a renewal as the one tab renewing, or after the tab that is; `close`
 * leaves (a wait under way ends, `post` and `renew` then act alone). The other tabs'
 * sessions go to `hear`, their clears to `forget`. Without BroadcastChannel, or with
 * `enabled` false, the tab is on its own. `timeoutMs` is the longest a renewal takes.
 */
export const connectTabs = (
  name: string,
  enabled: boolean,
  timeoutMs: number,
  timers: TimerProvider,
  random: () => number,
  hear: (s: KsRouteBody) => void,
  forget: () => void,
) => {
  const g = globalThis as unknown as Window & typeof globalThis;
  let channel = enabled && g.BroadcastChannel ? new BroadcastChannel(name) : undefined;
  const locks = channel && g.navigator?.locks;
  // Our ticket: a claim while electing, 0 while renewing (it beats every claim), else none.
  let ticket: number | undefined;
  let lost: boolean | undefined; // set before each election
  /**
   * Ends the wait under way early (the latest: the client renews once at a time, but a
   * renewal that a clear cut short may still wait beside the next; its wait ends by its
   * timer, and then its renewal rejects). Left set when that wait is over: calling it again
   * does nothing.
   */
  let waiter: (() => void) | undefined;

  /** Resolves after `ms`, or as soon as another tab posts a session, or on close. */
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      if (!channel) return resolve();
      const h = timers.setTimeout(
        // biome-ignore lint/suspicious/noAssignInExpressions: fewer bytes (size.test.ts)
        (waiter = () => {
          timers.clearTimeout(h);
          resolve();
        }),
        ms,
      );
    });
  const post = (m: TabMessage) => channel?.postMessage(m);

  if (channel)
    channel.onmessage = ({ data: m }: MessageEvent<TabMessage>) => {
      if (m.t === 's') {
        hear(m.s);
        // The renewing tab is done: a wait for it ends, whatever it brought.
        waiter?.();
      } else if (m.t === 'c') forget();
      else if (m.t === 'r') {
        // The smaller ticket wins. Ours is repeated to a greater one: a later claimant may
        // have missed it, and while we renew it is 0, so the claimant waits for our session.
        // Never to an equal one: two tabs renewing at once (both 0) would answer each
        // other's every message. (With no ticket, neither: comparing with undefined is false.)
        if (m.id < ticket!) lost = true;
        else if (ticket! < m.id) post({ t: 'r', id: ticket! });
      }
    };

  /**
   * Runs `run` as the one tab renewing, or after the tab that is: `run` then finds that
   * tab's session (`ready()` says it has come) and answers with it. `who` is whom this
   * tab's session is for: a tab that does not know it yet runs at once (it would not trust
   * what another tab's renewal brings).
   */
  const renew = async (
    run: () => Promise<string>,
    who: string | undefined,
    ready: () => boolean,
  ) => {
    if (who && locks) {
      // `run`'s promise once it has started: what a failed lock request cannot lose.
      let running: Promise<string> | undefined;
      try {
        // Uncontended: renew at once (`run` resolves with a KS, never ''). Otherwise queue
        // behind the tab that is renewing.
        await ((await locks.request(name, { ifAvailable: true }, (lock) => {
          // biome-ignore lint/suspicious/noAssignInExpressions: fewer bytes (size.test.ts)
          return lock && (running = run());
        })) ||
          locks.request(name, async () => {
            // The renewing tab posts its KS before letting go of the lock, but the browser
            // may grant us the lock first: give that message a moment to arrive.
            if (!ready()) await wait(ELECTION_MS);
            // biome-ignore lint/suspicious/noAssignInExpressions: fewer bytes (size.test.ts)
            return (running = run());
          }));
      } catch {}
      // Web Locks denied before `run` (SecurityError in an opaque origin, a sandboxed
      // iframe, or with storage blocked): renew without them, as a browser that has none.
      if (running) return running;
    }
    if (who && channel) {
      lost = false;
      // biome-ignore lint/suspicious/noAssignInExpressions: fewer bytes (size.test.ts)
      post({ t: 'r', id: (ticket = random() + 1e-9) });
      await wait(ELECTION_MS);
      ticket = undefined;
      // Another tab is renewing: wait for its session (or for it to give up).
      if (lost) await wait(timeoutMs + ELECTION_MS);
    }
    ticket = 0;
    try {
      return await run();
    } finally {
      ticket = undefined;
    }
  };

  const close = () => {
    waiter?.();
    channel?.close();
    channel = undefined;
  };
  return [post, renew, close] as const;
};
