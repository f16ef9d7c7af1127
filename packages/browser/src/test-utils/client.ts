/**
 * One client on the fakes, the set-up every single-tab test of the browser client shares:
 * a fake clock, the fake KS server (or a handler of the test's own) behind a fake fetch,
 * no cross-tab, no jitter, and every event recorded.
 */
import { createKsClient, type KsClientOptions, type KsEvent } from '../client.js';
import { FakeClock, type FakeReply, type FetchCall, fakeFetch, fakeServer } from './fakes.js';

export interface ClientSetupOptions extends KsClientOptions {
  /** The fake server's KS lifetime. */
  lifetimeMs?: number;
  /** The fake server's clock minus the page's. */
  skewMs?: number;
  /** Answers the route instead of the fake server (which it may still call). */
  handler?: (
    call: FetchCall,
    clock: FakeClock,
    server: ReturnType<typeof fakeServer>,
  ) => FakeReply | Promise<FakeReply>;
  /** The fake clock's first reading (epoch ms). */
  startAt?: number;
}

export function setupClient(options: ClientSetupOptions = {}) {
  const { lifetimeMs, skewMs, handler, startAt, ...rest } = options;
  const clock = new FakeClock(startAt);
  const server = fakeServer(clock, { lifetimeMs, skewMs });
  const fetch = fakeFetch(clock, (call) =>
    handler ? handler(call, clock, server) : server.handle(call),
  );
  const client = createKsClient({
    fetch,
    now: clock.now,
    monotonic: clock.monotonic,
    timers: clock.provider,
    random: () => 0,
    crossTab: false,
    ...rest,
  });
  const events: KsEvent[] = [];
  client.subscribe((e) => events.push(e));
  const errors = () => events.flatMap((e) => (e.type === 'error' ? [e.error.code] : []));
  return { clock, server, fetch, client, events, errors };
}
