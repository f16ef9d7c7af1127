import { afterEach, describe, expect, it, vi } from 'vitest';
import { setupClient } from './test-utils/client.js';
import { delay, installBrowser } from './test-utils/fakes.js';

const HOUR = 3_600_000;

/** A tab (cross-tab on, as by default) whose route answers after 200 ms. */
function signedInTab() {
  installBrowser();
  return setupClient({
    lifetimeMs: HOUR,
    crossTab: true,
    handler: async (call, clock, server) => {
      await delay(clock, 200);
      return server.handle(call);
    },
  });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

// `switch` is where an app reloads the signed-in user's interface (README): whatever that
// reload asks the client then must be the new account's, never the previous one's.
describe('a switch listener', () => {
  it("asking the client for its KS and session gets the new account's, not the previous one's", async () => {
    const { clock, server, client } = signedInTab();
    const first = client.getKs();
    await clock.advance(1_000);
    const aliceKs = await first;

    const seen: { current?: string; ks?: Promise<string> }[] = [];
    client.subscribe((e) => {
      if (e.type === 'switch') seen.push({ current: client.current?.userId, ks: client.getKs() });
    });
    server.userId = 'bob';
    const renewed = client.refresh();
    await clock.advance(1_000);
    const bobKs = await renewed;

    expect(bobKs).not.toBe(aliceKs);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.current).toBe('bob');
    expect(await seen[0]!.ks).toBe(bobKs);
    client.stop();
  });
});

describe('a switch listener that clears the client', () => {
  it("leaves it cleared: no `ks` event hands the new account's KS out after the clear", async () => {
    const { clock, server, client } = signedInTab();
    const first = client.getKs();
    await clock.advance(1_000);
    await first;

    const types: string[] = [];
    client.subscribe((e) => {
      types.push(e.type);
      if (e.type === 'switch') client.clear();
    });
    server.userId = 'bob';
    const renewed = client.refresh().catch((e: unknown) => e);
    await clock.advance(1_000);
    await renewed;
    expect(types).toEqual(['switch', 'clear']);
    expect(client.current).toBeUndefined();
    client.stop();
  });

  // clear() promises that the calls under way reject with ERR_KS_ABORTED (README): the
  // refresh whose answer brought the switch is one of them; stop() the same.
  it.each(['clear', 'stop'] as const)(
    'a listener that calls %s() there rejects the refresh under way with ERR_KS_ABORTED, not the new account’s KS',
    async (method) => {
      const { clock, server, client } = signedInTab();
      const first = client.getKs();
      await clock.advance(1_000);
      await first;

      client.subscribe((e) => {
        if (e.type === 'switch') client[method]();
      });
      server.userId = 'bob';
      const renewed = client.refresh().then(
        (ks) => ({ ks }),
        (error: unknown) => ({ error }),
      );
      await clock.advance(1_000);
      expect(await renewed).toEqual({
        error: expect.objectContaining({ code: 'ERR_KS_ABORTED' }),
      });
      client.stop();
    },
  );
});
