import { describe, expect, it } from 'vitest';
import { KalturaApiError, KsError } from '../errors.js';
import { createKsIssuer } from './issuer.js';
import { createMemoryStoreHub } from './memory-store.js';
import type { KsMinter, MintRequest } from './minter.js';
import type { KsIssuerOptions } from './options.js';
import type { KsIssuerEvent, KsSession } from './types.js';

const PARTNER = 4949;
const START = 1_800_000_000_000;
const HOUR = 3_600_000;
const TOKEN_VALUE = '00112233445566778899aabbccddeeff';

type Answer = 'ok' | 'down' | 'token-deleted' | 'hash';

/** Kaltura, as the minter sees it: answers per the current `answer`, counting calls. */
function kaltura(now: () => number) {
  const calls: MintRequest[] = [];
  let answer: Answer = 'ok';
  let n = 0;
  const held = new Map<string, { release(): void; fail(): void }>();
  const minter: KsMinter = {
    kind: 'app-token',
    async mint(request) {
      calls.push(request);
      const gate = held.get(request.userId);
      if (gate !== undefined) {
        await new Promise<void>((resolve, reject) => {
          gate.release = resolve;
          gate.fail = () => reject(new KsError('ERR_KS_NETWORK', 'Kaltura is down'));
        });
      }
      if (answer === 'down') throw new KsError('ERR_KS_NETWORK', 'Kaltura is down');
      if (answer === 'token-deleted') {
        throw new KalturaApiError({
          kalturaCode: 'APP_TOKEN_NOT_ACTIVE',
          kalturaMessage: 'Application token id "0_tk" not active',
          service: 'appToken',
          action: 'startSession',
        });
      }
      if (answer === 'hash') {
        throw new KalturaApiError({
          kalturaCode: 'INVALID_APP_TOKEN_HASH',
          kalturaMessage: 'Invalid application token hash',
        });
      }
      n++;
      const issuedAt = now();
      return {
        ks: `ks-${n}`,
        partnerId: PARTNER,
        userId: request.userId,
        type: request.type,
        privileges: request.privileges,
        issuedAt,
        expiresAt: issuedAt + request.expiresInSeconds * 1000,
      } satisfies KsSession;
    },
  };
  return {
    minter,
    calls,
    set(next: Answer) {
      answer = next;
    },
    /** The next mint for this user waits until `release()` or `fail()`. */
    hold(userId: string) {
      const gate = { release() {}, fail() {} };
      held.set(userId, gate);
      return {
        release: () => {
          held.delete(userId);
          gate.release();
        },
        fail: () => {
          held.delete(userId);
          gate.fail();
        },
      };
    },
  };
}

function setup(overrides: Partial<KsIssuerOptions> = {}) {
  let t = START;
  const now = () => t;
  const k = kaltura(now);
  const events: KsIssuerEvent[] = [];
  const issuer = createKsIssuer({
    partnerId: PARTNER,
    minter: k.minter,
    now,
    random: () => 0.5,
    onEvent: (event) => events.push(event),
    ...overrides,
  });
  return {
    issuer,
    k,
    events,
    advance: (ms: number) => {
      t += ms;
    },
    now,
  };
}

const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('credentials Kaltura refuses (a deleted app token, a wrong hash type)', () => {
  it('stop every KS minted with them from being served: ERR_KS_CREDENTIALS for every user, with Kaltura’s code in the event', async () => {
    const { issuer, k, events, advance } = setup();
    await issuer.getKs({ userId: 'alice' });
    await issuer.getKs({ userId: 'bob' });
    k.set('token-deleted'); // appToken.delete: Kaltura revoked every KS the token made
    advance(0.85 * HOUR); // alice's KS is due for renewal: the refresh finds out
    expect((await issuer.getKs({ userId: 'alice' })).ks).toBe('ks-1');
    await settled();
    for (const userId of ['alice', 'bob', 'carol']) {
      await expect(issuer.getKs({ userId })).rejects.toMatchObject({
        code: 'ERR_KS_CREDENTIALS',
        message: expect.stringContaining('APP_TOKEN_NOT_ACTIVE'),
      });
    }
    expect(issuer.peek({ userId: 'bob' })).toBeUndefined();
    expect(issuer.size).toBe(0);
    expect(events).toContainEqual({
      type: 'evict',
      key: expect.objectContaining({ userId: 'bob' }),
      reason: 'credentials',
    });
    expect(events.find((e) => e.type === 'credentials-rejected')).toMatchObject({
      kalturaCode: 'APP_TOKEN_NOT_ACTIVE',
      error: { code: 'ERR_KS_CREDENTIALS' },
    });
    expect(k.calls).toHaveLength(3);
  });

  it('probe Kaltura once per partner, slowly: 50 users asking every 15 s for 2 hours', async () => {
    const { issuer, k, advance } = setup();
    k.set('token-deleted');
    const users = Array.from({ length: 50 }, (_, i) => `user-${i}`);
    const round = () =>
      Promise.all(users.map((userId) => issuer.getKs({ userId }).catch(() => {})));
    // Before the first refusal nobody knows: the first, concurrent, round asks for every user.
    await round();
    const first = k.calls.length;
    for (let elapsed = 15_000; elapsed < 2 * HOUR; elapsed += 15_000) {
      advance(15_000);
      await round();
    }
    // From then on one probe at a time, 10 s doubling to 2 minutes apart: at most about 60
    // in 2 hours for all 50 users (it was 255 for a single user).
    const probes = k.calls.length - first;
    expect(probes).toBeGreaterThan(10);
    expect(probes).toBeLessThanOrEqual(2 * 60 + 5);
  });

  it('once they work again, one probe’s success serves every user at once', async () => {
    const { issuer, k, events, advance } = setup();
    k.set('hash');
    const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    for (let round = 0; round < 6; round++) {
      await Promise.all(users.map((userId) => issuer.getKs({ userId }).catch(() => {})));
      advance(30_000);
    }
    k.set('ok'); // the operator fixed appToken.hashType
    const open = events.filter((e) => e.type === 'mint-error').at(-1)!;
    advance(Math.max(0, (open as { retryAt: number }).retryAt - (START + 6 * 30_000)));
    const before = k.calls.length;
    for (const userId of users) expect((await issuer.getKs({ userId })).userId).toBe(userId);
    expect(k.calls.length - before).toBe(users.length);
    expect(events.some((e) => e.type === 'credentials-accepted')).toBe(true);
  });

  it('without onEvent, each refusal is logged once, with Kaltura’s code and message and no secret', async () => {
    const warnings: string[] = [];
    const { issuer, k, advance } = setup({
      onEvent: undefined,
      onWarning: (message) => warnings.push(message),
    });
    k.set('hash');
    for (let i = 0; i < 5; i++) {
      await issuer.getKs({ userId: `u${i}` }).catch(() => {});
      advance(5 * 60_000);
    }
    k.set('token-deleted');
    for (let i = 0; i < 5; i++) {
      await issuer.getKs({ userId: `v${i}` }).catch(() => {});
      advance(5 * 60_000);
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('INVALID_APP_TOKEN_HASH');
    expect(warnings[0]).toContain('Invalid application token hash');
    expect(warnings[0]).toContain('hashType');
    expect(warnings[0]).not.toContain(TOKEN_VALUE);
  });

  it('with a shared store, no instance serves what was minted with them', async () => {
    let t = START;
    const now = () => t;
    const hub = createMemoryStoreHub(now);
    const a = kaltura(now);
    const b = kaltura(now);
    const options = { partnerId: PARTNER, now, random: () => 0.5 };
    const first = createKsIssuer({ ...options, minter: a.minter, store: hub.store() });
    const second = createKsIssuer({ ...options, minter: b.minter, store: hub.store() });
    const shared = await first.getKs({ userId: 'alice' });
    expect((await second.getKs({ userId: 'alice' })).ks).toBe(shared.ks);
    a.set('token-deleted');
    t += 0.85 * HOUR;
    await first.getKs({ userId: 'alice' }).catch(() => {});
    await settled();
    await expect(first.getKs({ userId: 'alice' })).rejects.toMatchObject({
      code: 'ERR_KS_CREDENTIALS',
    });
    expect(second.peek({ userId: 'alice' })).toBeUndefined();
    await Promise.all([first.close(), second.close()]);
  });

  it('session.start refusing a secret is the credentials’; refusing an ADMIN session, that request’s (the user secret makes USER ones only)', async () => {
    const refusing: KsMinter = {
      kind: 'session-start',
      async mint(request) {
        if (request.type === 2) {
          throw new KalturaApiError({
            kalturaCode: 'START_SESSION_ERROR',
            kalturaMessage: `Error while starting session for partner [${PARTNER}]`,
          });
        }
        return {
          ks: `ks-${request.userId}`,
          partnerId: PARTNER,
          userId: request.userId,
          type: request.type,
          privileges: request.privileges,
          issuedAt: START,
          expiresAt: START + HOUR,
        };
      },
    };
    const issuer = createKsIssuer({ partnerId: PARTNER, minter: refusing, now: () => START });
    await expect(issuer.getKs({ userId: 'root', type: 2 })).rejects.toMatchObject({
      code: 'ERR_KS_UNAVAILABLE',
      cause: { kalturaCode: 'START_SESSION_ERROR' },
    });
    expect((await issuer.getKs({ userId: 'alice' })).ks).toBe('ks-alice');
    // The same answer to a USER request: the secret itself is refused.
    const wrongSecret: KsMinter = {
      kind: 'session-start',
      async mint() {
        throw new KalturaApiError({
          kalturaCode: 'START_SESSION_ERROR',
          kalturaMessage: `Error while starting session for partner [${PARTNER}]`,
        });
      },
    };
    const refused = createKsIssuer({
      partnerId: PARTNER,
      minter: wrongSecret,
      now: () => START,
      onWarning: () => {},
    });
    await expect(refused.getKs({ userId: 'alice' })).rejects.toMatchObject({
      code: 'ERR_KS_CREDENTIALS',
    });
  });
});

describe('failing well under pressure', () => {
  it('without onEvent, the first failure of an outage is logged once, with its code', async () => {
    const warnings: string[] = [];
    const { issuer, k, advance } = setup({
      onEvent: undefined,
      onWarning: (message) => warnings.push(message),
    });
    k.set('down');
    for (let i = 0; i < 5; i++) {
      await issuer.getKs({ userId: `user-${i}` }).catch(() => {});
      advance(120_000);
    }
    expect(warnings).toEqual(['kaltura-ks: minting a KS failed (ERR_KS_NETWORK: Kaltura is down)']);
  });

  it('a caller whose mint fails gets the still-valid KS, even one evicted from the cache meanwhile', async () => {
    const { issuer, k, advance } = setup({ max: 1 });
    const old = await issuer.getKs({ userId: 'alice' });
    advance(0.75 * HOUR); // fresh for server code, due for a page (fresh: true)
    const gate = k.hold('alice');
    const waiting = issuer.getKs({ userId: 'alice' }, { fresh: true });
    await issuer.getKs({ userId: 'bob' }); // max 1: alice's KS leaves the cache
    expect(issuer.peek({ userId: 'alice' })).toBeUndefined();
    gate.fail();
    expect((await waiting).ks).toBe(old.ks);
  });

  it.each([10, 100])(
    'the back-off of a Kaltura outage survives eviction (max %i): 50 users × 5 rounds make one attempt',
    async (max) => {
      const { issuer, k, advance } = setup({ max });
      k.set('down');
      const users = Array.from({ length: 50 }, (_, i) => `user-${i}`);
      for (let round = 0; round < 5; round++) {
        for (const userId of users) await issuer.getKs({ userId }).catch(() => {});
        advance(100);
      }
      expect(k.calls).toHaveLength(1);
    },
  );

  it('once Kaltura is back, its first success serves every user: nobody waits out a back-off of their own', async () => {
    const { issuer, k, advance, now } = setup();
    k.set('down');
    // "early" hits the outage from its start, "later" from 30 s on; both ask every second.
    const asked: Record<string, number> = {};
    for (let second = 0; second < 93; second++) {
      if (second === 91) k.set('ok'); // Kaltura is back
      for (const userId of second >= 30 ? ['early', 'later'] : ['early']) {
        await issuer.getKs({ userId }).then(
          () => {
            asked[userId] = now();
          },
          () => {},
        );
      }
      advance(1_000);
    }
    expect(asked).toEqual({}); // still backing off from the outage
    // The first mint after the back-off succeeds; everyone is served at once, "later" too.
    expect((await issuer.getKs({ userId: 'early' })).userId).toBe('early');
    expect((await issuer.getKs({ userId: 'later' })).userId).toBe('later');
    expect((await issuer.getKs({ userId: 'newcomer' })).userId).toBe('newcomer');
    expect(k.calls.filter((call) => call.userId === 'later')).toHaveLength(1);
  });
});
