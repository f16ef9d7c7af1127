import type { KsError } from '@kaltura-ks/core';
import { storeKey as key } from '@kaltura-ks/testing/shared-store';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CommandBreaker } from './breaker.js';
import { createRedisStore } from './redis-store.js';
import type { RedisStore } from './store.js';
import { type RedisServer, startRedisServer } from './test-utils/redis-server.js';

/** Resolves once the event loop has gone round: this turn is over, its writes are made. */
const turnOver = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The clock the breaker reads and its timers, faked; `setImmediate` (a turn of the loop) is real. */
function fakeClock(): void {
  vi.useFakeTimers({ toFake: ['performance', 'setTimeout', 'clearTimeout'] });
}

afterEach(() => {
  vi.useRealTimers();
});

describe("the breaker's clock starts when a command is written (a real Redis)", () => {
  let server: RedisServer;
  let stores = 0;

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    server?.resume();
    await server?.stop();
  });

  async function storeOn(failFastAfterMs: number) {
    const reported: Error[] = [];
    const store = createRedisStore({
      revocationCatchUpMs: 0,
      url: server.url,
      keyPrefix: `breaker-${++stores}:`,
      failFastAfterMs,
      reconnectAfterMs: false,
      onError: (error) => reported.push(error),
    });
    await store.ready;
    return { store, reported };
  }

  /**
   * One turn of the event loop, 600 ms of this process's work on the faked clock (12 times
   * failFastAfterMs), that calls the store 200 times as a cold storm's burst of `getKs` does:
   * node-redis writes them all once the turn is over.
   */
  function busyTurn(store: RedisStore): Promise<unknown>[] {
    const replies: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      replies.push(store.get(key(`user-${i}`)));
      vi.advanceTimersByTime(3);
    }
    return replies;
  }

  it('a long synchronous turn issuing many commands is not a Redis that does not answer', async () => {
    const { store, reported } = await storeOn(50);
    fakeClock();
    try {
      const replies = busyTurn(store);
      // The turn is over: the commands are written. A request arriving now is not refused as
      // if Redis had left them unanswered for 50 ms: it has had them for no time at all.
      await turnOver();
      const late = store.get(key('late'));
      for (const reply of [...replies, late])
        await expect(reply).resolves.toMatchObject({ session: undefined });
      expect(reported).toEqual([]);
      // Nothing left to trip on later either: every command was answered.
      vi.advanceTimersByTime(1_000);
      await turnOver();
      await expect(store.get(key('later'))).resolves.toMatchObject({ session: undefined });
      expect(reported).toEqual([]);
    } finally {
      vi.useRealTimers();
      await store.close();
    }
  });

  it('a Redis that never answers still trips it failFastAfterMs after the busy turn wrote its commands', async () => {
    const { store, reported } = await storeOn(50);
    fakeClock();
    server.pause(); // SIGSTOP: the connection stays up, nothing answers
    const replies: Promise<unknown>[] = [];
    try {
      replies.push(...busyTurn(store).map((reply) => reply.catch((error: unknown) => error)));
      await turnOver();
      // 49 ms after the write: not yet, commands still go out (to wait behind the others).
      vi.advanceTimersByTime(49);
      await turnOver();
      replies.push(store.get(key('queued')).catch((error: unknown) => error));
      expect(reported).toEqual([]);
      vi.advanceTimersByTime(1);
      // The deadline's check runs after the I/O waiting to be read (none: Redis is stopped).
      await turnOver();
      await expect(store.get(key('refused'))).rejects.toMatchObject({ code: 'ERR_KS_TIMEOUT' });
      expect(reported.map((error) => (error as KsError).code)).toEqual(['ERR_KS_TIMEOUT']);
      server.resume();
      // Redis answers: every command sent before the breaker opened is answered after all.
      for (const reply of replies) expect(await reply).toMatchObject({ session: undefined });
      await expect(store.get(key('after'))).resolves.toMatchObject({ session: undefined });
    } finally {
      vi.useRealTimers();
      server.resume();
      await store.close();
    }
  });
});

describe("the breaker's clock for a command behind others", () => {
  /** A connection whose answers the test gives, one command at a time. */
  function connection() {
    const pending = new Map<string, (reply: unknown) => void>();
    const reported: KsError[] = [];
    const breaker = new CommandBreaker({
      send: (args) =>
        new Promise((resolve) => {
          pending.set(args[0]!, resolve);
        }),
      failFastAfterMs: 50,
      reconnect: undefined,
      reconnectAfterMs: 10_000,
      report: (error) => reported.push(error),
    });
    const answer = async (command: string) => {
      pending.get(command)!('OK');
      await Promise.resolve(); // the breaker hears it (a microtask later)
    };
    const send = (command: string) => breaker.sendCommand([command], 'key');
    /** The commands that went out to Redis (not refused by the breaker). */
    const sent = () => [...pending.keys()];
    return { breaker, answer, send, sent, reported };
  }

  it("starts when the command before it is answered: until then it waits on that one's clock", async () => {
    fakeClock();
    const { breaker, answer, send, sent, reported } = connection();
    try {
      void send('A');
      const b = send('B');
      await turnOver();
      vi.advanceTimersByTime(40);
      // Redis took 40 ms over A: B was behind it, in Redis's queue or in node-redis's (a write
      // held back until the socket drained) — B's 50 ms start now.
      await answer('A');
      vi.advanceTimersByTime(40); // A's deadline passed (answered): B's is 10 ms away
      await turnOver();
      void send('C');
      vi.advanceTimersByTime(9);
      await turnOver();
      void send('D');
      expect(sent()).toEqual(['A', 'B', 'C', 'D']);
      expect(reported).toEqual([]);
      vi.advanceTimersByTime(1);
      await turnOver();
      await expect(send('E')).rejects.toMatchObject({ code: 'ERR_KS_TIMEOUT' });
      await answer('B');
      expect(await b).toBe('OK');
    } finally {
      breaker.close();
    }
  });

  it("answers to other commands (another node of a cluster) do not hold back the oldest one's clock", async () => {
    fakeClock();
    const { breaker, answer, send, reported } = connection();
    try {
      void send('A'); // on a master that hangs
      void send('B'); // on another, which answers
      await turnOver();
      vi.advanceTimersByTime(40);
      await answer('B');
      vi.advanceTimersByTime(10);
      await turnOver();
      await expect(send('C')).rejects.toMatchObject({ code: 'ERR_KS_TIMEOUT' });
      expect(reported).toHaveLength(1);
    } finally {
      breaker.close();
    }
  });
});
