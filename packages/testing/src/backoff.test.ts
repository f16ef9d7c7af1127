/**
 * One back-off formula: the issuer, the Kaltura API client and the Redis
 * store call core's `backoffDelay`; the browser client keeps its own copy
 * (a shared module would cost its bundle ~16 bytes gzipped), which must
 * agree with it.
 */
import { backoffDelay } from '@kaltura-ks/core/internal';
import { describe, expect, it } from 'vitest';
import { createKsClient } from '../../browser/src/client.js';
import { FakeClock, fakeFetch, fakeServer } from '../../browser/src/test-utils/fakes.js';
import { reconnectDelay } from '../../redis/src/redis-store.js';

const HOUR = 3_600_000;

describe('back-off across packages', () => {
  it.each([0, 0.25, 0.5, 0.875])(
    "the browser client's retries are core's backoffDelay (equal jitter), up to its rounding, random = %s",
    async (r) => {
      const [baseMs, maxMs] = [1_000, 16_000];
      const clock = new FakeClock();
      const server = fakeServer(clock, { lifetimeMs: 10 * HOUR });
      let fail = false;
      const fetch = fakeFetch(clock, (call) =>
        fail ? { status: 500, body: { error: { code: 'X', message: 'x' } } } : server.handle(call),
      );
      const client = createKsClient({
        fetch,
        now: clock.now,
        monotonic: clock.monotonic,
        timers: clock.provider,
        random: () => r,
        crossTab: false,
        failureBackoff: { baseMs, maxMs },
      });
      await client.getKs();
      fail = true;
      await clock.advance(0.8 * 10 * HOUR + 200_000);
      client.stop();
      const failed = fetch.calls.slice(1);
      const gaps = failed.slice(1).map((c, i) => c.at - failed[i]!.at);
      // The browser does not round (a timer takes fractions): equal up to core's rounding.
      expect(gaps.slice(0, 7).map(Math.round)).toEqual(
        [1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, baseMs, maxMs, () => r)),
      );
    },
  );

  it("the Redis store's reconnections are core's equal jitter from 50 ms, as they were", () => {
    for (const maxMs of [2_000, 50, 60_000])
      for (let retries = 0; retries <= 20; retries++)
        for (const r of [0, 0.001, 0.25, 0.5, 0.75, 0.999_999]) {
          // The formula the store had before it called core's.
          const ceiling = Math.min(maxMs, 50 * 2 ** retries);
          expect(reconnectDelay(retries, maxMs, () => r)).toBe(
            Math.round(ceiling / 2 + (r * ceiling) / 2),
          );
        }
  });
});
