import { createKsClient, type KsClientOptions, type KsRouteBody } from '@kaltura-ks/browser';

export const START = 1_800_000_000_000;
const HOUR = 3_600_000;

/** Timers that never fire on their own: the tests drive the client by hand. */
export function heldTimers() {
  const pending = new Map<number, { fn: () => void; ms: number }>();
  let id = 0;
  return {
    pending,
    /** Runs the short timers pending now, once each: the client's cross-tab waits (50 ms). */
    fire() {
      for (const [handle, { fn, ms }] of [...pending]) {
        if (ms > 100) continue;
        pending.delete(handle);
        fn();
      }
    },
    setTimeout: (fn: () => void, ms: number) => {
      pending.set(++id, { fn, ms });
      return id;
    },
    clearTimeout: (handle: unknown) => {
      pending.delete(handle as number);
    },
  };
}

/** The `n`th KS of a user: KS v2's shape (`v2|partnerId|…` in base64), as tabs check it. */
export const fakeKs = (userId: string, n: number) => btoa(`v2|4242|${userId}-${n}`);

/** A KS route: each call mints the next KS for `userId`, or answers `status` with no user. */
export function fakeRoute({ userId = 'alice' } = {}) {
  let n = 0;
  const calls: string[] = [];
  const route = {
    calls,
    status: 200,
    fetch: async (url: string): Promise<Response> => {
      calls.push(url);
      if (route.status !== 200) {
        return Response.json(
          { error: { code: 'ERR_KS_NO_USER', message: 'Nobody is signed in' } },
          { status: route.status },
        );
      }
      const session: KsRouteBody = {
        ks: fakeKs(userId, ++n),
        partnerId: 4242,
        userId,
        type: 0,
        privileges: 'sview:*',
        expiresAt: START + HOUR,
        serverTime: START,
      };
      return Response.json(session);
    },
  };
  return route;
}

export function testClient(route = fakeRoute(), extra: KsClientOptions = {}) {
  const timers = heldTimers();
  const client = createKsClient({
    fetch: route.fetch,
    now: () => START,
    timers,
    crossTab: false,
    ...extra,
  });
  return { client, route, timers };
}
