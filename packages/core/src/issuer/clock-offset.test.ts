import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KalturaClient } from '../client/types.js';
import { createKs } from '../ks/create.js';
import { verifyKs } from '../ks/verify.js';
import { createKsIssuer } from './issuer.js';
import type { KsIssuerOptions } from './options.js';
import type { KsIssuerEvent } from './types.js';

const SECRET = 'clock-offset-admin-secret-0123456789';
const PARTNER = 4747;
const START = 1_800_000_000_000; // never start a fake clock at 0
const MINUTE = 60_000;

afterEach(() => {
  vi.useRealTimers();
});

/** This server's clock, and Kaltura's `skewMs` ahead of it (behind when negative). */
function clocks(skewMs: number) {
  let local = START;
  let skew = skewMs;
  return {
    local: () => local,
    kaltura: () => local + skew,
    advance: (ms: number) => {
      local += ms;
    },
    setSkew: (ms: number) => {
      skew = ms;
    },
  };
}

type Clocks = ReturnType<typeof clocks>;

/**
 * A Kaltura client stand-in whose `system.getTime` reads Kaltura's clock in whole seconds,
 * as Kaltura does. `appToken` answers issue KSs on Kaltura's clock.
 */
function fakeKaltura(c: Clocks) {
  const calls = { getTime: 0, startSession: 0 };
  let getTime: () => Promise<number> = async () => Math.floor(c.kaltura() / 1000);
  const client = {
    system: {
      getTime: async () => {
        calls.getTime++;
        return getTime();
      },
    },
    session: { end: async () => {} },
    async startAppTokenSession(params: { userId: string; expiresInSeconds: number }) {
      calls.startSession++;
      const validUntil = Math.floor(c.kaltura() / 1000) + params.expiresInSeconds;
      return {
        ks: createKs({ secret: SECRET, partnerId: PARTNER, userId: params.userId, validUntil }),
        partnerId: PARTNER,
        userId: params.userId,
        expiry: validUntil,
        sessionType: 0,
        privileges: '',
      };
    },
    close: async () => {},
  };
  return {
    client: client as unknown as KalturaClient,
    calls,
    answer(next: () => Promise<number>) {
      getTime = next;
    },
  };
}

function localIssuer(c: Clocks, overrides: Partial<KsIssuerOptions> = {}) {
  const kaltura = fakeKaltura(c);
  const events: KsIssuerEvent[] = [];
  const issuer = createKsIssuer({
    partnerId: PARTNER,
    adminSecret: SECRET,
    client: kaltura.client,
    now: c.local,
    expiresInSeconds: 600,
    onEvent: (event) => events.push(event),
    ...overrides,
  });
  return { issuer, kaltura, events };
}

/** Checks a KS as Kaltura would at `atLocalMs` on this server's clock. */
function validAtKaltura(c: Clocks, ks: string, atLocalMs: number): boolean {
  const kalturaNow = atLocalMs + (c.kaltura() - c.local());
  try {
    verifyKs(ks, { secrets: SECRET, partnerId: PARTNER, now: () => kalturaNow });
    return true;
  } catch {
    return false;
  }
}

describe("Kaltura's clock, measured once per issuer with system.getTime", () => {
  it.each([
    ['5 minutes ahead', 5 * MINUTE],
    ['5 minutes behind', -5 * MINUTE],
    ['an hour ahead', 60 * MINUTE],
  ])('Kaltura %s: a local KS is signed on its clock, and expiresAt is on ours', async (_, skew) => {
    const c = clocks(skew);
    const { issuer } = localIssuer(c);
    const session = await issuer.getKs({ userId: 'alice' });
    // Rounded up: Kaltura answers whole seconds, so at most a second more than the skew.
    expect(issuer.clockOffsetMs).toBeGreaterThan(skew);
    expect(issuer.clockOffsetMs).toBeLessThanOrEqual(skew + 1000);
    const { validUntil } = verifyKs(session.ks, {
      secrets: SECRET,
      partnerId: PARTNER,
      now: c.kaltura,
    });
    expect(validUntil * 1000 - c.kaltura()).toBeGreaterThanOrEqual(599_000);
    expect(session.expiresAt).toBe(validUntil * 1000 - issuer.clockOffsetMs);
    expect(session.expiresAt - session.issuedAt).toBeGreaterThan(598_000);
    expect(session.expiresAt - session.issuedAt).toBeLessThanOrEqual(600_000);
    // Kaltura takes it until expiresAt on our clock, and refuses it from validUntil on its own.
    expect(validAtKaltura(c, session.ks, session.expiresAt - 1)).toBe(true);
    expect(validAtKaltura(c, session.ks, validUntil * 1000 - skew)).toBe(false);
    await issuer.close();
  });

  it('an app token’s expiry (Kaltura’s clock) becomes an expiresAt on ours', async () => {
    const c = clocks(60 * MINUTE);
    const kaltura = fakeKaltura(c);
    const issuer = createKsIssuer({
      partnerId: PARTNER,
      appToken: { id: '0_token', token: '0123456789abcdef0123456789abcdef' },
      client: kaltura.client,
      now: c.local,
      expiresInSeconds: 600,
    });
    const session = await issuer.getKs({ userId: 'bob' });
    expect(session.expiresAt).toBe(
      (Math.floor(c.kaltura() / 1000) + 600) * 1000 - issuer.clockOffsetMs,
    );
    expect(session.expiresAt).toBeLessThanOrEqual(c.local() + 600_000);
    expect(validAtKaltura(c, session.ks, session.expiresAt - 1)).toBe(true);
    await issuer.close();
  });

  it('is read once for every user, and again every 10 minutes, in the background', async () => {
    const c = clocks(5 * MINUTE);
    const { issuer, kaltura, events } = localIssuer(c);
    await Promise.all(['a', 'b', 'c', 'd'].map((userId) => issuer.getKs({ userId })));
    expect(kaltura.calls.getTime).toBe(1);
    c.advance(9 * MINUTE);
    await issuer.getKs({ userId: 'e' });
    expect(kaltura.calls.getTime).toBe(1);
    c.advance(MINUTE);
    await issuer.getKs({ userId: 'f' });
    expect(kaltura.calls.getTime).toBe(2);
    expect(events.filter((e) => e.type === 'clock')).toHaveLength(2);
    await issuer.close();
  });

  it('kept current: when Kaltura turns out further ahead, sessions judged by the old offset are dropped', async () => {
    const c = clocks(0);
    const { issuer, events } = localIssuer(c, { expiresInSeconds: 3600 });
    const before = await issuer.getKs({ userId: 'alice' });
    c.setSkew(5 * MINUTE); // Kaltura's clock was stepped forward
    c.advance(10 * MINUTE);
    await issuer.getKs({ userId: 'bob' }); // starts the measurement that is due
    await vi.waitFor(() => expect(issuer.clockOffsetMs).toBeGreaterThan(5 * MINUTE));
    expect(events).toContainEqual({
      type: 'evict',
      key: expect.objectContaining({ userId: 'alice' }),
      reason: 'clock',
    });
    const after = await issuer.getKs({ userId: 'alice' });
    expect(after.ks).not.toBe(before.ks);
    expect(validAtKaltura(c, after.ks, after.expiresAt - 1)).toBe(true);
    await issuer.close();
  });

  it('a clock that cannot be read: the mint goes on with the last offset, reported, warned once', async () => {
    const c = clocks(5 * MINUTE);
    const warnings: string[] = [];
    const { issuer, kaltura } = localIssuer(c, {
      onEvent: undefined,
      onWarning: (message) => warnings.push(message),
    });
    await issuer.getKs({ userId: 'alice' });
    const offset = issuer.clockOffsetMs;
    kaltura.answer(async () => {
      throw new Error('Kaltura is down');
    });
    for (let i = 0; i < 3; i++) {
      c.advance(10 * MINUTE);
      const session = await issuer.getKs({ userId: `user-${i}` });
      expect(validAtKaltura(c, session.ks, session.expiresAt - 1)).toBe(true);
    }
    await vi.waitFor(() => expect(warnings).toHaveLength(1));
    expect(warnings[0]).toContain("Kaltura's clock could not be read");
    expect(issuer.clockOffsetMs).toBe(offset);
    await issuer.close();
  });

  it('does not believe an answer more than a day from this server’s clock: no KS is minted by it', async () => {
    const c = clocks(0);
    const { issuer, kaltura, events } = localIssuer(c);
    kaltura.answer(async () => 0);
    await expect(issuer.getKs({ userId: 'alice' })).rejects.toMatchObject({
      code: 'ERR_KS_UNAVAILABLE',
      cause: { code: 'ERR_KS_RESPONSE' },
    });
    expect(issuer.clockOffsetMs).toBe(0);
    expect(events.find((e) => e.type === 'clock-error')).toMatchObject({
      error: { code: 'ERR_KS_RESPONSE' },
    });
    await issuer.close();
  });

  it('a first mint waits for a hung clock reading only so long (half of mintTimeoutMs, at most 2 s, twice), then is refused', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const c = clocks(5 * MINUTE);
    const { issuer, kaltura, events } = localIssuer(c, { mintTimeoutMs: 2_000 });
    // Never answers until aborted: the issuer's own bound ends it.
    kaltura.answer(() => new Promise<number>(() => {}));
    const pending = issuer.getKs({ userId: 'alice' });
    const outcome = pending.then(
      () => 'minted',
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(1_000);
    expect(kaltura.calls.getTime).toBe(2); // the first timed out: read again at once
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await outcome).toMatchObject({
      code: 'ERR_KS_UNAVAILABLE',
      cause: { code: 'ERR_KS_TIMEOUT' },
    });
    expect(events.filter((e) => e.type === 'clock-error')).toHaveLength(2);
    await issuer.close();
  });
});

/**
 * A first `system.getTime` that fails: with it the offset stayed 0 until the retry 30 s
 * later, and a KS minted meanwhile could carry an expiresAt up to the real offset too late.
 */
describe("Kaltura's clock not read at the first try", () => {
  const skews = [
    ['5 minutes ahead', 5 * MINUTE],
    ['5 minutes behind', -5 * MINUTE],
    ['an hour ahead', 60 * MINUTE],
  ] as const;

  /** getTime fails `failures` times (a network error), then reads Kaltura's clock. */
  function flaky(kaltura: ReturnType<typeof fakeKaltura>, c: Clocks, failures: number) {
    let left = failures;
    kaltura.answer(async () => {
      if (left-- > 0) throw new Error('ECONNRESET');
      return Math.floor(c.kaltura() / 1000);
    });
  }

  it.each(skews)(
    'Kaltura %s, local signing: the mint reads the clock again itself, and its expiresAt is never later than Kaltura’s',
    async (_, skew) => {
      const c = clocks(skew);
      const { issuer, kaltura } = localIssuer(c);
      flaky(kaltura, c, 1);
      const session = await issuer.getKs({ userId: 'alice' });
      expect(kaltura.calls.getTime).toBe(2);
      expect(issuer.clockOffsetMs).toBeGreaterThan(skew);
      expect(validAtKaltura(c, session.ks, session.expiresAt - 1)).toBe(true);
      await issuer.close();
    },
  );

  it.each(skews)(
    'Kaltura %s, app token: the offset a remote KS is judged by is read again after the answer',
    async (_, skew) => {
      const c = clocks(skew);
      const kaltura = fakeKaltura(c);
      flaky(kaltura, c, 1);
      const issuer = createKsIssuer({
        partnerId: PARTNER,
        appToken: { id: '0_token', token: '0123456789abcdef0123456789abcdef' },
        client: kaltura.client,
        now: c.local,
        expiresInSeconds: 600,
      });
      const session = await issuer.getKs({ userId: 'bob' });
      expect(kaltura.calls.getTime).toBe(2);
      expect(session.expiresAt).toBeLessThanOrEqual(c.local() + 600_000);
      expect(validAtKaltura(c, session.ks, session.expiresAt - 1)).toBe(true);
      await issuer.close();
    },
  );

  it('stepped over three lifetimes while getTime fails twice at first: no KS handed out is expired at Kaltura', async () => {
    const c = clocks(60 * MINUTE);
    const { issuer, kaltura } = localIssuer(c, { expiresInSeconds: 600 });
    flaky(kaltura, c, 2);
    // Both readings of the first mint fail: it is refused, typed, rather than signed by 0.
    await expect(issuer.getKs({ userId: 'alice' })).rejects.toMatchObject({
      code: 'ERR_KS_UNAVAILABLE',
    });
    let handedOut = 0;
    for (let t = 0; t < 3 * 600_000; t += 15_000) {
      c.advance(15_000);
      const session = await issuer.getKs({ userId: 'alice' }).catch(() => undefined);
      if (session === undefined) continue;
      handedOut++;
      expect(validAtKaltura(c, session.ks, c.local())).toBe(true);
      expect(validAtKaltura(c, session.ks, session.expiresAt - 1)).toBe(true);
    }
    expect(handedOut).toBeGreaterThan(110);
    await issuer.close();
  });

  it('a fixed kalturaClockOffsetMs, or no way to measure, mints at once without a reading', async () => {
    const c = clocks(0);
    const { issuer, kaltura } = localIssuer(c, { kalturaClockOffsetMs: 0 });
    kaltura.answer(async () => {
      throw new Error('never asked');
    });
    await expect(issuer.getKs({ userId: 'alice' })).resolves.toMatchObject({ userId: 'alice' });
    expect(kaltura.calls.getTime).toBe(0);
    await issuer.close();
  });
});

describe('kalturaClockOffsetMs: the offset where nothing can measure it', () => {
  it('signs and judges by the fixed offset, with no serviceUrl', async () => {
    const c = clocks(60 * MINUTE);
    const issuer = createKsIssuer({
      partnerId: PARTNER,
      adminSecret: SECRET,
      now: c.local,
      kalturaClockOffsetMs: 60 * MINUTE,
    });
    expect(issuer.clockOffsetMs).toBe(60 * MINUTE);
    const session = await issuer.getKs({ userId: 'alice' });
    expect(session.expiresAt).toBe(START + 3_600_000);
    expect(validAtKaltura(c, session.ks, session.expiresAt - 1)).toBe(true);
    await issuer.close();
  });

  it('wins over measuring, and is validated once, naming the option', async () => {
    const c = clocks(0);
    const { issuer, kaltura } = localIssuer(c, { kalturaClockOffsetMs: -2_000 });
    await issuer.getKs({ userId: 'alice' });
    expect(kaltura.calls.getTime).toBe(0);
    expect(issuer.clockOffsetMs).toBe(-2_000);
    await issuer.close();
    for (const bad of [Number.NaN, 'soon', 2 * 24 * 3_600_000]) {
      expect(() =>
        createKsIssuer({
          partnerId: PARTNER,
          adminSecret: SECRET,
          kalturaClockOffsetMs: bad as number,
        }),
      ).toThrow(
        expect.objectContaining({
          code: 'ERR_KS_INVALID_OPTION',
          message: expect.stringContaining('kalturaClockOffsetMs'),
        }),
      );
    }
  });
});
