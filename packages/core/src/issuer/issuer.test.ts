import { AsyncLocalStorage } from 'node:async_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KalturaApiError, KsError } from '../errors.js';
import { verifyKs } from '../ks/verify.js';
import { createKsIssuer } from './issuer.js';
import type { KsMinter, MintRequest } from './minter.js';
import type { KsIssuerOptions } from './options.js';
import type { KsIssuerEvent, KsSession } from './types.js';

const SECRET = 'issuer-test-admin-secret-0000000';
const PARTNER = 4242;
const START = 1_700_000_000_000; // never start a fake clock at 0

function clock() {
  let t = START;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
    set: (ms: number) => {
      t = ms;
    },
  };
}

/** A minter whose answers the test controls, counting calls. */
function scriptedMinter(now: () => number, lifetimeSeconds = 3600) {
  const calls: MintRequest[] = [];
  const signals: AbortSignal[] = [];
  let n = 0;
  let behaviour: 'ok' | 'fail' | 'hang' | 'refuse' = 'ok';
  const pending: Array<() => void> = [];
  let gate: Promise<void> | undefined;
  const minter: KsMinter & { end: (s: KsSession) => Promise<void> } = {
    kind: 'scripted',
    ended: [] as string[],
    async mint(request: MintRequest, signal: AbortSignal) {
      calls.push(request);
      signals.push(signal);
      if (gate) await gate;
      if (behaviour === 'fail') throw new KsError('ERR_KS_NETWORK', 'Kaltura is down');
      // Kaltura answers, but refuses this request (here: any user whose id starts with "bad").
      if (behaviour === 'refuse' && request.userId.startsWith('bad')) {
        throw new KalturaApiError({
          kalturaCode: 'INVALID_FIELD_VALUE',
          kalturaMessage: 'value in field [userId] is not valid',
        });
      }
      if (behaviour === 'hang') return new Promise<KsSession>(() => {});
      n++;
      const issuedAt = now();
      return {
        ks: `ks-${n}`,
        partnerId: PARTNER,
        userId: request.userId,
        type: request.type,
        privileges: request.privileges,
        issuedAt,
        expiresAt: issuedAt + lifetimeSeconds * 1000,
      };
    },
    async end(session: KsSession) {
      (minter as unknown as { ended: string[] }).ended.push(session.ks);
    },
  } as never;
  return {
    minter,
    calls,
    signals,
    ended: () => (minter as unknown as { ended: string[] }).ended,
    set: (b: typeof behaviour) => {
      behaviour = b;
    },
    hold: () => {
      gate = new Promise<void>((resolve) => pending.push(resolve));
    },
    release: () => {
      gate = undefined;
      for (const resolve of pending.splice(0)) resolve();
    },
  };
}

function setup(overrides: Partial<KsIssuerOptions> = {}) {
  const c = clock();
  const script = scriptedMinter(c.now);
  const events: KsIssuerEvent[] = [];
  const issuer = createKsIssuer({
    partnerId: PARTNER,
    minter: script.minter,
    now: c.now,
    random: () => 0.5,
    onEvent: (e) => events.push(e),
    ...overrides,
  });
  return { c, script, events, issuer };
}

afterEach(() => {
  vi.useRealTimers();
});

/** Lets every promise that can settle now settle (a background mint's failure, say). */
function settled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('local signing (the default with adminSecret)', () => {
  it('mints a USER KS that verifies, with exactly the user and privileges asked', async () => {
    const c = clock();
    const issuer = createKsIssuer({ partnerId: PARTNER, adminSecret: SECRET, now: c.now });
    expect(issuer.kind).toBe('local');
    const session = await issuer.getKs({
      userId: 'alice',
      privileges: { sview: '*', appid: 'app.example.com' },
    });
    const fields = verifyKs(session.ks, { secrets: SECRET, partnerId: PARTNER, now: c.now });
    expect(fields).toMatchObject({
      userId: 'alice',
      type: 0,
      privileges: 'sview:*,appid:app.example.com',
      validUntil: START / 1000 + 3600,
    });
    expect(session).toMatchObject({
      partnerId: PARTNER,
      userId: 'alice',
      type: 0,
      expiresAt: START + 3_600_000,
      issuedAt: START,
    });
  });

  it('serves the cached KS to the same request, in any privilege order', async () => {
    const issuer = createKsIssuer({ partnerId: PARTNER, adminSecret: SECRET });
    const a = await issuer.getKs({ userId: 'alice', privileges: 'sview:*,appid:x' });
    const b = await issuer.getKs({ userId: 'alice', privileges: { appid: 'x', sview: '*' } });
    expect(b).toBe(a);
    const other = await issuer.getKs({ userId: 'bob', privileges: 'sview:*,appid:x' });
    const admin = await issuer.getKs({ userId: 'alice', type: 2, privileges: 'sview:*,appid:x' });
    const more = await issuer.getKs({ userId: 'alice', privileges: 'sview:*,appid:x,list' });
    expect(new Set([a.ks, other.ks, admin.ks, more.ks]).size).toBe(4);
    expect(issuer.size).toBe(4);
  });

  it('refuses injection before signing: ";" in a v1 user id, a bad privilege, type 1', async () => {
    const issuer = createKsIssuer({ partnerId: PARTNER, adminSecret: SECRET, ksVersion: 1 });
    await expect(issuer.getKs({ userId: 'mallory;edit:*' })).rejects.toMatchObject({
      code: 'ERR_KS_INVALID_FIELD',
    });
    await expect(issuer.getKs({ userId: 'm', privileges: 'sview:*;edit:*' })).rejects.toMatchObject(
      {
        code: 'ERR_KS_INVALID_FIELD',
      },
    );
    await expect(issuer.getKs({ userId: 'm', type: 1 as never })).rejects.toMatchObject({
      code: 'ERR_KS_INVALID_OPTION',
    });
    expect(issuer.size).toBe(0);
  });
});

describe('TTL-aware refresh (lifetime 3600 s: renew at 80 %, never under 60 s left)', () => {
  it('is fresh before the renewal point: no mint', async () => {
    const { c, script, issuer } = setup();
    const first = await issuer.getKs({ userId: 'u' });
    c.advance(2_879_999);
    expect(await issuer.getKs({ userId: 'u' })).toBe(first);
    expect(script.calls).toHaveLength(1);
  });

  it('inside the renewal window: serves the current KS at once while one background refresh runs', async () => {
    const { c, script, issuer, events } = setup();
    const first = await issuer.getKs({ userId: 'u' });
    c.advance(2_880_000);
    script.hold();
    const served = await Promise.all([1, 2, 3].map(() => issuer.getKs({ userId: 'u' })));
    expect(served.every((s) => s === first)).toBe(true);
    expect(script.calls).toHaveLength(2); // one background refresh for three requests
    expect(events.filter((e) => e.type === 'refresh')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'hit' && e.stale)).toHaveLength(3);
    script.release();
    await vi.waitFor(async () => expect((await issuer.getKs({ userId: 'u' })).ks).toBe('ks-2'));
  });

  it('fresh: true waits for the new KS inside the renewal window', async () => {
    const { c, issuer } = setup();
    await issuer.getKs({ userId: 'u' });
    c.advance(3_000_000);
    expect((await issuer.getKs({ userId: 'u' }, { fresh: true })).ks).toBe('ks-2');
  });

  it('fresh: true counts a KS as due a tenth of its lifetime early, so a page renewing at ~80 % gets a new one', async () => {
    const { c, issuer } = setup();
    const first = await issuer.getKs({ userId: 'u' });
    c.advance(2_519_999); // just under 70 %
    expect(await issuer.getKs({ userId: 'u' }, { fresh: true })).toBe(first);
    c.advance(1);
    expect(await issuer.getKs({ userId: 'u' })).toBe(first); // still fresh for server-side callers
    expect((await issuer.getKs({ userId: 'u' }, { fresh: true })).ks).toBe('ks-2');
  });

  it('never serves a KS with less than the minimum remaining life: the request waits for a new one', async () => {
    const { c, script, issuer } = setup();
    await issuer.getKs({ userId: 'u' });
    script.set('fail');
    c.advance(2_900_000);
    expect((await issuer.getKs({ userId: 'u' })).ks).toBe('ks-1'); // background refresh fails: still valid
    await settled();
    c.advance(3_540_000 - 2_900_000); // 60 s before expiry
    script.set('ok');
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const next = await issuer.getKs({ userId: 'u' });
    expect(next.ks).toBe('ks-2');
    expect(next.expiresAt - c.now()).toBeGreaterThan(60_000);
  });

  it('never serves an expired KS, even when Kaltura is down: 503-style ERR_KS_UNAVAILABLE', async () => {
    const { c, script, issuer } = setup();
    await issuer.getKs({ userId: 'u' });
    script.set('fail');
    c.advance(3_600_000);
    const error = await issuer.getKs({ userId: 'u' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KsError);
    expect((error as KsError).code).toBe('ERR_KS_UNAVAILABLE');
    expect(((error as KsError).cause as KsError).code).toBe('ERR_KS_NETWORK');
  });

  it('forceRefresh mints again, but not for a KS younger than minForcedRefreshIntervalMs', async () => {
    const { c, script, issuer } = setup();
    await issuer.getKs({ userId: 'u' });
    expect((await issuer.getKs({ userId: 'u' }, { forceRefresh: true })).ks).toBe('ks-1');
    c.advance(10_000);
    expect((await issuer.getKs({ userId: 'u' }, { forceRefresh: true })).ks).toBe('ks-2');
    expect(script.calls).toHaveLength(2);
  });

  it('drops entries when their KS expires', async () => {
    const { c, issuer, events } = setup();
    await issuer.getKs({ userId: 'u' });
    c.advance(3_600_000);
    expect(issuer.peek({ userId: 'u' })).toBeUndefined();
    expect(events.some((e) => e.type === 'evict' && e.reason === 'expired')).toBe(true);
  });

  it('derives the minimum remaining life from short lifetimes (60 s → 6 s), renewing at 48 s', async () => {
    const c = clock();
    const script = scriptedMinter(c.now, 60);
    const issuer = createKsIssuer({
      partnerId: PARTNER,
      minter: script.minter,
      now: c.now,
      expiresInSeconds: 60,
    });
    await issuer.getKs({ userId: 'u' });
    c.advance(47_999);
    await issuer.getKs({ userId: 'u' });
    expect(script.calls).toHaveLength(1);
    c.advance(1);
    await issuer.getKs({ userId: 'u' });
    expect(script.calls).toHaveLength(2);
  });
});

describe('single flight and failures', () => {
  it('500 concurrent requests for one key cause exactly one mint and one KS', async () => {
    const { script, issuer } = setup();
    script.hold();
    const all = Array.from({ length: 500 }, () =>
      issuer.getKs({ userId: 'same', privileges: 'sview:*' }),
    );
    script.release();
    const sessions = await Promise.all(all);
    expect(script.calls).toHaveLength(1);
    expect(new Set(sessions.map((s) => s.ks)).size).toBe(1);
  });

  it('never caches a failed mint, and backs off instead of hammering Kaltura', async () => {
    const { c, script, issuer, events } = setup();
    script.set('fail');
    await expect(issuer.getKs({ userId: 'u' })).rejects.toMatchObject({
      code: 'ERR_KS_UNAVAILABLE',
    });
    // Within the back-off: fail fast, no call to Kaltura — for every user: Kaltura is down for all.
    for (const userId of ['u', 'other']) {
      await expect(issuer.getKs({ userId })).rejects.toMatchObject({
        code: 'ERR_KS_UNAVAILABLE',
      });
    }
    expect(script.calls).toHaveLength(1);
    const failure = events.find((e) => e.type === 'mint-error');
    expect(failure).toMatchObject({ consecutiveFailures: 1, retryAt: START + 750 });
    // Kaltura is back: once the back-off is over, the next request (any user's) mints.
    script.set('ok');
    c.advance(750);
    expect((await issuer.getKs({ userId: 'other' })).userId).toBe('other');
    expect((await issuer.getKs({ userId: 'u' })).userId).toBe('u');
    expect(issuer.size).toBe(2);
  });

  it('a request Kaltura refuses backs off alone: other users are not held back', async () => {
    const { c, script, issuer, events } = setup();
    script.set('refuse');
    await expect(issuer.getKs({ userId: 'bad-user' })).rejects.toMatchObject({
      code: 'ERR_KS_UNAVAILABLE',
    });
    expect((await issuer.getKs({ userId: 'good-user' })).userId).toBe('good-user');
    // The refused request itself backs off: no second call within it.
    await expect(issuer.getKs({ userId: 'bad-user' })).rejects.toMatchObject({
      code: 'ERR_KS_UNAVAILABLE',
    });
    expect(script.calls.map((call) => call.userId)).toEqual(['bad-user', 'good-user']);
    expect(events.find((e) => e.type === 'mint-error')).toMatchObject({
      consecutiveFailures: 1,
      retryAt: START + 750,
    });
    c.advance(750);
    await issuer.getKs({ userId: 'bad-user' }).catch(() => {});
    expect(script.calls).toHaveLength(3);
  });

  it('backs off exponentially with jitter, up to the cap', async () => {
    const { c, script, issuer, events } = setup({ failureBackoff: { baseMs: 100, maxMs: 400 } });
    script.set('fail');
    for (let i = 0; i < 5; i++) {
      await issuer.getKs({ userId: 'u' }).catch(() => {});
      c.advance(1_000);
    }
    const delays = events.flatMap((e) =>
      e.type === 'mint-error' ? [e.retryAt - (START + 1_000 * (e.consecutiveFailures - 1))] : [],
    );
    expect(delays).toEqual([75, 150, 300, 300, 300]);
  });

  it('ends a mint at mintTimeoutMs from its start: every caller gets ERR_KS_UNAVAILABLE then, its signal aborts, a late answer is not served', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { script, issuer, events } = setup({ mintTimeoutMs: 5_000 });
    script.hold();
    const first = issuer.getKs({ userId: 'u' }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(4_000);
    let joinedAnswer: unknown;
    const joined = issuer.getKs({ userId: 'u' }).then(
      () => {},
      (e: unknown) => {
        joinedAnswer = e;
      },
    );
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await first).toMatchObject({ code: 'ERR_KS_UNAVAILABLE' });
    // The caller who joined a second before the deadline gets it too: the flight's, not 5 s more.
    expect(joinedAnswer).toMatchObject({ code: 'ERR_KS_UNAVAILABLE' });
    expect(script.signals[0]?.aborted).toBe(true);
    expect(events.filter((e) => e.type === 'mint-error')).toMatchObject([
      { error: { code: 'ERR_KS_TIMEOUT' }, consecutiveFailures: 1 },
    ]);
    script.release();
    await joined;
    await settled();
    expect(issuer.size).toBe(0);
    expect(script.calls).toHaveLength(1);
  });

  it('a hung mint is never joined after its deadline: once Kaltura is back, the first request after the back-off is served', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { c, script, issuer, events } = setup({ mintTimeoutMs: 5_000 });
    script.set('hang'); // never answers, and ignores its signal
    const first = issuer.getKs({ userId: 'u' }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await first).toMatchObject({ code: 'ERR_KS_UNAVAILABLE' });
    // The back-off started when the caller got its answer, on the issuer's clock.
    expect(events.find((e) => e.type === 'mint-error')).toMatchObject({ retryAt: START + 750 });
    script.set('ok');
    c.advance(750);
    const [second] = await Promise.all([
      issuer.getKs({ userId: 'u' }).catch((e: unknown) => e),
      vi.advanceTimersByTimeAsync(5_000),
    ]);
    expect(second).toMatchObject({ ks: 'ks-1', userId: 'u' });
    expect(script.calls).toHaveLength(2);
  });

  it('stops waiting when the caller aborts', async () => {
    const { script, issuer } = setup();
    script.hold();
    const controller = new AbortController();
    const waiting = issuer
      .getKs({ userId: 'u' }, { signal: controller.signal })
      .catch((e: unknown) => e);
    controller.abort();
    expect(await waiting).toMatchObject({ code: 'ERR_KS_ABORTED' });
    script.release();
  });

  it('a throwing event listener does not break issuing', async () => {
    const { issuer } = setup({
      onEvent: () => {
        throw new Error('listener bug');
      },
    });
    expect((await issuer.getKs({ userId: 'u' })).ks).toBe('ks-1');
  });
});

describe('how a request that missed ended (miss-result)', () => {
  const results = (events: KsIssuerEvent[]) =>
    events.flatMap((e) => (e.type === 'miss-result' ? [e] : []));

  it('new when it got a new KS, error with the code the caller got', async () => {
    const { script, issuer, events } = setup();
    await issuer.getKs({ userId: 'u' });
    expect(results(events)).toEqual([
      { type: 'miss-result', key: expect.objectContaining({ userId: 'u' }), outcome: 'new' },
    ]);
    script.set('fail');
    const error = await issuer.getKs({ userId: 'v' }).catch((e: unknown) => e);
    expect(results(events)[1]).toEqual({
      type: 'miss-result',
      key: expect.objectContaining({ userId: 'v' }),
      outcome: 'error',
      error,
    });
    expect(error).toMatchObject({ code: 'ERR_KS_UNAVAILABLE' });
    // A hit is a hit, and nothing more.
    await issuer.getKs({ userId: 'u' });
    expect(results(events)).toHaveLength(2);
  });

  it('fallback when no new KS could be had and the still-valid one was served', async () => {
    const { c, script, issuer, events } = setup();
    const first = await issuer.getKs({ userId: 'u' });
    c.advance(3_000_000); // in the renewal window: `fresh` waits for a new one
    script.set('fail');
    expect(await issuer.getKs({ userId: 'u' }, { fresh: true })).toBe(first);
    expect(results(events).map((e) => e.outcome)).toEqual(['new', 'fallback']);
  });
});

describe('aroundMint: where each mint runs', () => {
  it("runs each mint inside the hook, so the minter sees the hook's async context", async () => {
    const context = new AsyncLocalStorage<string>();
    const seen: Array<string | undefined> = [];
    const infos: unknown[] = [];
    const c = clock();
    const script = scriptedMinter(c.now);
    const issuer = createKsIssuer({
      partnerId: PARTNER,
      now: c.now,
      minter: {
        kind: script.minter.kind,
        mint: (request, signal) => {
          seen.push(context.getStore());
          return script.minter.mint(request, signal);
        },
      },
      aroundMint: (mint, info) => {
        infos.push(info);
        return context.run(`mint for ${info.key.userId}`, mint);
      },
    });
    expect((await issuer.getKs({ userId: 'u', privileges: 'sview:1_x' })).ks).toBe('ks-1');
    await issuer.getKs({ userId: 'u', privileges: 'sview:1_x' }); // a hit: no mint
    expect(seen).toEqual(['mint for u']);
    expect(infos).toEqual([
      {
        kind: 'scripted',
        key: { partnerId: PARTNER, userId: 'u', type: 0, privileges: 'sview:1_x' },
      },
    ]);
  });

  it("the hook's promise settles with the mint, and gives no KS", async () => {
    const settledWith: unknown[] = [];
    const { script, issuer } = setup({
      aroundMint: (mint) =>
        mint().then(
          (value) => void settledWith.push(value),
          (error: unknown) => {
            settledWith.push(error);
            throw error;
          },
        ),
    });
    await issuer.getKs({ userId: 'u' });
    script.set('refuse');
    await expect(issuer.getKs({ userId: 'bad' })).rejects.toThrow();
    expect(settledWith).toEqual([
      undefined,
      expect.objectContaining({ kalturaCode: 'INVALID_FIELD_VALUE' }),
    ]);
  });

  it.each<[string, NonNullable<KsIssuerOptions['aroundMint']>]>([
    [
      'throws',
      () => {
        throw new Error('hook bug');
      },
    ],
    [
      'rejects without minting',
      async () => {
        throw new Error('hook bug');
      },
    ],
    ['never calls mint()', async () => {}],
    ["swallows the mint's failure", (mint) => mint().catch(() => {})],
    ['does not wait for the mint', async (mint) => void mint()],
    [
      'calls mint() twice',
      async (mint) => {
        await mint();
        await mint();
      },
    ],
  ])(
    'a hook that %s changes neither whether a mint runs nor its outcome',
    async (_, aroundMint) => {
      const { script, issuer, events } = setup({ aroundMint });
      expect((await issuer.getKs({ userId: 'u' })).ks).toBe('ks-1');
      script.set('fail');
      await expect(issuer.getKs({ userId: 'v' })).rejects.toMatchObject({
        code: 'ERR_KS_UNAVAILABLE',
      });
      expect(script.calls.map((r) => r.userId)).toEqual(['u', 'v']);
      expect(events.find((e) => e.type === 'mint-error')).toMatchObject({
        error: { code: 'ERR_KS_NETWORK' },
      });
    },
  );
});

describe('what the server issued vs what was asked', () => {
  it('stores what the minter returned (an app token may add to it) under the key that was asked', async () => {
    const c = clock();
    const events: KsIssuerEvent[] = [];
    const minter: KsMinter = {
      kind: 'override',
      async mint(request) {
        return {
          ks: 'overridden',
          partnerId: PARTNER,
          userId: request.userId,
          type: 0,
          privileges: `sessionid:0_t,apptoken:0_t,${request.privileges}`,
          issuedAt: c.now(),
          expiresAt: c.now() + 600_000, // the token shortened it
        };
      },
    };
    const issuer = createKsIssuer({
      partnerId: PARTNER,
      minter,
      now: c.now,
      onEvent: (e) => events.push(e),
    });
    const session = await issuer.getKs({ userId: 'asked', privileges: 'sview:*' });
    expect(session).toMatchObject({
      userId: 'asked',
      privileges: 'sessionid:0_t,apptoken:0_t,sview:*',
    });
    // The mint event says what the KS carries beyond the request.
    expect(events.find((e) => e.type === 'mint')).toMatchObject({
      key: { userId: 'asked', privileges: 'sview:*' },
      extraPrivileges: 'sessionid:0_t,apptoken:0_t',
    });
    expect(issuer.peek({ userId: 'asked', privileges: 'sview:*' })).toBe(session);
    // Renewal follows the real lifetime: 80 % of 600 s.
    c.advance(479_999);
    expect(issuer.peek({ userId: 'asked', privileges: 'sview:*' })).toBe(session);
  });
});

describe('revoke, clear and bounds', () => {
  it('revoke drops every session of one user, discards their mints in flight, and can end them', async () => {
    const { script, issuer, events } = setup();
    const a = await issuer.getKs({ userId: 'alice' });
    await issuer.getKs({ userId: 'alice', privileges: 'list' });
    await issuer.getKs({ userId: 'bob' });
    script.hold();
    const inFlight = issuer.getKs({ userId: 'alice', privileges: 'edit:x' });
    expect(await issuer.revoke('alice', { endSession: true })).toEqual({
      revoked: 2,
      ended: 2,
      reach: 'fleet',
    });
    script.release();
    await inFlight;
    expect(issuer.peek({ userId: 'alice' })).toBeUndefined();
    expect(issuer.peek({ userId: 'alice', privileges: 'edit:x' })).toBeUndefined();
    expect(issuer.peek({ userId: 'bob' })).toBeDefined();
    expect(script.ended()).toContain(a.ks);
    expect(events.filter((e) => e.type === 'evict' && e.reason === 'revoked')).toHaveLength(2);
    expect(await issuer.revoke('nobody')).toEqual({ revoked: 0, ended: 0, reach: 'fleet' });
  });

  it.each([
    ['revoke', (issuer: ReturnType<typeof setup>['issuer']) => issuer.revoke('alice')],
    ['clear', (issuer: ReturnType<typeof setup>['issuer']) => issuer.clear()],
  ])('a request after %s does not join the mint that was in flight before it', async (_, drop) => {
    const { script, issuer } = setup();
    script.hold();
    const before = issuer.getKs({ userId: 'alice' });
    expect(script.calls).toHaveLength(1);
    await drop(issuer);
    const after = issuer.getKs({ userId: 'alice' });
    script.release();
    const [a, b] = await Promise.all([before, after]);
    expect(script.calls).toHaveLength(2);
    expect(b.ks).not.toBe(a.ks);
    expect(issuer.peek({ userId: 'alice' })?.ks).toBe(b.ks);
  });

  it('reports a session it could not end at Kaltura as end-error, without the KS, and still resolves', async () => {
    const { script, issuer, events } = setup();
    const a = await issuer.getKs({ userId: 'alice' });
    const b = await issuer.getKs({ userId: 'alice', privileges: 'list' });
    let calls = 0;
    (script.minter as { end: (s: KsSession) => Promise<void> }).end = (session) => {
      calls++;
      // One rejects, the other throws before returning a promise.
      if (session.ks === a.ks)
        return Promise.reject(new KsError('ERR_KS_NETWORK', 'Kaltura is down'));
      throw new Error('end exploded');
    };
    expect(await issuer.revoke('alice', { endSession: true })).toEqual({
      revoked: 2,
      ended: 0,
      reach: 'fleet',
    });
    expect(calls).toBe(2);
    const failed = events.filter((e) => e.type === 'end-error');
    expect(failed).toHaveLength(2);
    for (const event of failed) {
      expect(event).toMatchObject({ key: { partnerId: PARTNER, userId: 'alice' } });
      expect(event.type === 'end-error' && event.error).toBeInstanceOf(KsError);
      const text = JSON.stringify(event);
      expect(text).not.toContain(a.ks);
      expect(text).not.toContain(b.ks);
    }
    expect(failed.map((e) => e.type === 'end-error' && e.error.code).sort()).toEqual([
      'ERR_KS_NETWORK',
      'ERR_KS_UNAVAILABLE',
    ]);
  });

  it('clear drops everything', async () => {
    const { issuer, events } = setup();
    await issuer.getKs({ userId: 'a' });
    await issuer.getKs({ userId: 'b' });
    await issuer.clear();
    expect(issuer.size).toBe(0);
    expect(events.filter((e) => e.type === 'evict' && e.reason === 'cleared')).toHaveLength(2);
  });

  it("revoke finds a user's sessions as they come and go (one, several, one evicted), and events name them", async () => {
    const { issuer, events } = setup({ max: 4 });
    await issuer.getKs({ userId: 'alice', privileges: 'edit:a,edit:b' }); // v1 and v2 key forms differ
    await issuer.getKs({ userId: 'alice', privileges: 'list' });
    await issuer.getKs({ userId: 'alice', type: 2 });
    await issuer.getKs({ userId: 'bob' });
    await issuer.getKs({ userId: 'carol' }); // evicts alice's first
    const capacity = events.filter((e) => e.type === 'evict' && e.reason === 'capacity');
    expect(capacity.map((e) => e.type === 'evict' && e.key)).toEqual([
      { partnerId: PARTNER, userId: 'alice', type: 0, privileges: 'edit:a/b' },
    ]);
    expect(await issuer.revoke('alice')).toEqual({ revoked: 2, ended: 0, reach: 'fleet' });
    const revoked = events.filter((e) => e.type === 'evict' && e.reason === 'revoked');
    expect(revoked.map((e) => e.type === 'evict' && e.key)).toEqual([
      { partnerId: PARTNER, userId: 'alice', type: 0, privileges: 'list' },
      { partnerId: PARTNER, userId: 'alice', type: 2, privileges: '' },
    ]);
    expect((await issuer.revoke('alice')).revoked).toBe(0);
    await issuer.getKs({ userId: 'alice' });
    expect((await issuer.revoke('alice')).revoked).toBe(1);
    expect((await issuer.revoke('bob')).revoked).toBe(1);
    expect(issuer.peek({ userId: 'carol' })).toBeDefined();
  });

  it('max bounds the cache, evicting the least recently used', async () => {
    const { issuer, events } = setup({ max: 3 });
    for (const userId of ['a', 'b', 'c', 'd', 'e']) await issuer.getKs({ userId });
    expect(issuer.size).toBe(3);
    expect(issuer.peek({ userId: 'a' })).toBeUndefined();
    expect(issuer.peek({ userId: 'e' })).toBeDefined();
    expect(events.filter((e) => e.type === 'evict' && e.reason === 'capacity')).toHaveLength(2);
  });
});

describe('options are validated once, naming the option', () => {
  it.each<[string, Partial<KsIssuerOptions>, string]>([
    ['no way to mint', { minter: undefined }, 'exactly one way'],
    ['two ways to mint', { adminSecret: SECRET }, 'exactly one way'],
    ['a fraction of 1', { refreshAtFraction: 1 }, 'refreshAtFraction'],
    [
      'a minimum remaining life as long as the lifetime',
      { minRemainingMs: 3_600_000 },
      'minRemainingMs',
    ],
    ['a negative timeout', { mintTimeoutMs: -1 }, 'mintTimeoutMs'],
    ['max 0', { max: 0 }, 'max'],
    ['a fractional lifetime', { expiresInSeconds: 1.5 }, 'expiresInSeconds'],
    ['a partner id that is not a number', { partnerId: '1' as never }, 'partnerId'],
    ['an aroundMint that is not a function', { aroundMint: {} as never }, 'aroundMint'],
  ])('%s', (_, overrides, message) => {
    const c = clock();
    const base = { partnerId: PARTNER, minter: scriptedMinter(c.now).minter };
    expect(() => createKsIssuer({ ...base, ...overrides })).toThrow(
      expect.objectContaining({
        code: 'ERR_KS_INVALID_OPTION',
        message: expect.stringContaining(message),
      }),
    );
  });
});

describe('session.start with a secret that cannot read the KS', () => {
  it('warns once that the expiry is taken as asked', async () => {
    const c = clock();
    const warnings: string[] = [];
    // Kaltura answers with a KS v2 encrypted with the admin secret, which the issuer does not have.
    const opaque = (await import('../ks/create.js')).createKs({
      secret: 'the-admin-secret',
      partnerId: PARTNER,
      validUntil: START / 1000 + 600,
    });
    const client = {
      session: { start: async () => opaque, end: async () => {} },
      close: async () => {},
    } as never;
    const issuer = createKsIssuer({
      partnerId: PARTNER,
      sessionStart: { secret: 'the-user-secret' },
      client,
      now: c.now,
      onWarning: (m) => warnings.push(m),
    });
    const session = await issuer.getKs({ userId: 'u' });
    await issuer.getKs({ userId: 'v' });
    // As asked, counted from the start of Kaltura's second (which may have begun up to 1 s ago).
    expect(session.expiresAt).toBe(START + 3_599_000);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('expiresInSeconds');
    expect(warnings[0]).not.toContain('the-user-secret');
  });
});

describe('getCachedKs: the synchronous half of getKs', () => {
  it('answers what getKs would answer at once, and nothing when a mint is needed', async () => {
    const { c, script, events, issuer } = setup();
    expect(issuer.getCachedKs({ userId: 'u' })).toBeUndefined();
    expect(script.calls).toHaveLength(0); // never mints
    const minted = await issuer.getKs({ userId: 'u' });
    expect(issuer.getCachedKs({ userId: 'u' })).toBe(minted);
    expect(events.filter((e) => e.type === 'hit')).toHaveLength(1);
    // In the renewal window: served at once while one background refresh runs…
    c.advance(2_880_000);
    expect(issuer.getCachedKs({ userId: 'u' })).toBe(minted);
    expect(script.calls).toHaveLength(2);
    // …but not to a caller that keeps the KS for a lifetime (fresh), nor past expiry.
    expect(issuer.getCachedKs({ userId: 'u' }, { fresh: true })).toBeUndefined();
    c.advance(3_600_000);
    expect(issuer.getCachedKs({ userId: 'u' })).toBeUndefined();
    await issuer.close();
  });

  it('does not serve a forced refresh from the cache', async () => {
    const { c, issuer } = setup();
    await issuer.getKs({ userId: 'u' });
    c.advance(60_000);
    expect(issuer.getCachedKs({ userId: 'u' }, { forceRefresh: true })).toBeUndefined();
    await issuer.close();
  });
});
