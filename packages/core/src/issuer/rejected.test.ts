import { describe, expect, it } from 'vitest';
import { KsError } from '../errors.js';
import { createKs } from '../ks/create.js';
import { createKsIssuer } from './issuer.js';
import { createMemoryStoreHub } from './memory-store.js';
import type { KsMinter } from './minter.js';
import type { KsIssuerOptions } from './options.js';
import type { KsIssuerEvent, KsRejectOutcome, KsSession } from './types.js';

const START = 1_700_000_000_000;

/**
 * An issuer whose minter plays Kaltura: it mints `ks-1`, `ks-2`… (or, with `realKs`, real
 * KSs, which a shared store's reader checks), and refuses the KSs the test ended (`end`), as
 * Kaltura refuses a KS after `session.end`.
 */
function setup(options: { noAccepts?: boolean; realKs?: boolean } & Partial<KsIssuerOptions> = {}) {
  const { noAccepts, realKs, ...issuerOptions } = options;
  let t = START;
  const now = () => t;
  let n = 0;
  const ended = new Set<string>();
  const asked: string[] = [];
  let askFails = false;
  let hold: Promise<void> | undefined;
  const minter: KsMinter = {
    kind: 'kaltura-like',
    async mint(request) {
      n++;
      return {
        ks: realKs
          ? createKs({
              secret: 'rejected-test-admin-secret-00000',
              partnerId: 1,
              userId: request.userId,
              privileges: request.privileges,
              now,
            })
          : `ks-${n}`,
        partnerId: 1,
        userId: request.userId,
        type: request.type,
        privileges: request.privileges,
        issuedAt: now(),
        expiresAt: now() + 3_600_000,
      };
    },
    ...(noAccepts
      ? {}
      : {
          async accepts(session: KsSession) {
            asked.push(session.ks);
            await hold;
            if (askFails) throw new Error('Kaltura is down');
            return !ended.has(session.ks);
          },
        }),
  };
  const events: KsIssuerEvent[] = [];
  const issuer = createKsIssuer({
    partnerId: 1,
    minter,
    now,
    onEvent: (e) => events.push(e),
    ...issuerOptions,
  });
  let release = () => {};
  return {
    issuer,
    asked,
    minted: () => n,
    end: (ks: string) => ended.add(ks),
    advance: (ms: number) => {
      t += ms;
    },
    failAsking: () => {
      askFails = true;
    },
    holdAsking: () => {
      hold = new Promise<void>((r) => {
        release = r;
      });
      return () => release();
    },
    outcomes: () =>
      events.flatMap((e) => (e.type === 'rejected' ? [[e.key.userId, e.outcome]] : [])) as [
        string,
        KsRejectOutcome,
      ][],
    events,
  };
}

const alice = { userId: 'alice' };

describe('GetKsOptions.rejectedKs: a KS that Kaltura refused', () => {
  it('is replaced at once when Kaltura refuses it, however young', async () => {
    const t = setup();
    const first = await t.issuer.getKs(alice);
    t.advance(1_000); // far inside minForcedRefreshIntervalMs
    t.end(first.ks);
    const next = await t.issuer.getKs(alice, { rejectedKs: first.ks });
    expect(next.ks).toBe('ks-2');
    expect(t.asked).toEqual(['ks-1']);
    expect(t.outcomes()).toEqual([['alice', 'replaced']]);
    // The new KS is the one served from now on.
    expect((await t.issuer.getKs(alice)).ks).toBe('ks-2');
    expect(t.issuer.peek(alice)?.ks).toBe('ks-2');
  });

  it('changes nothing when Kaltura accepts it', async () => {
    const t = setup();
    const first = await t.issuer.getKs(alice);
    expect((await t.issuer.getKs(alice, { rejectedKs: first.ks })).ks).toBe(first.ks);
    expect(t.minted()).toBe(1);
    expect(t.outcomes()).toEqual([['alice', 'accepted']]);
  });

  it('asks Kaltura nothing about a KS that is not the one served: an old one, or another user’s', async () => {
    const t = setup();
    const a = await t.issuer.getKs(alice);
    const b = await t.issuer.getKs({ userId: 'bob' });
    t.end(a.ks);
    // bob reports alice's KS: bob gets his own, alice's is untouched.
    expect((await t.issuer.getKs({ userId: 'bob' }, { rejectedKs: a.ks })).ks).toBe(b.ks);
    expect((await t.issuer.getKs({ userId: 'bob' }, { rejectedKs: 'ks-999' })).ks).toBe(b.ks);
    expect(t.asked).toEqual([]);
    expect(t.issuer.peek(alice)?.ks).toBe(a.ks);
    expect(t.outcomes()).toEqual([
      ['bob', 'stale'],
      ['bob', 'stale'],
    ]);
  });

  it('asks Kaltura at most once per key every minForcedRefreshIntervalMs', async () => {
    const t = setup();
    const first = await t.issuer.getKs(alice);
    await t.issuer.getKs(alice, { rejectedKs: first.ks });
    t.advance(5_000);
    t.end(first.ks); // refused now, but the last check was 5 s ago
    expect((await t.issuer.getKs(alice, { rejectedKs: first.ks })).ks).toBe(first.ks);
    expect(t.asked).toEqual(['ks-1']);
    t.advance(5_000);
    expect((await t.issuer.getKs(alice, { rejectedKs: first.ks })).ks).toBe('ks-2');
    expect(t.outcomes().map(([, o]) => o)).toEqual(['accepted', 'limited', 'replaced']);
  });

  it('concurrent reports of one KS make one check and one mint', async () => {
    const t = setup();
    const first = await t.issuer.getKs(alice);
    t.end(first.ks);
    const release = t.holdAsking();
    const reports = Array.from({ length: 50 }, () =>
      t.issuer.getKs(alice, { rejectedKs: first.ks }),
    );
    release();
    const answers = await Promise.all(reports);
    expect(new Set(answers.map((s) => s.ks))).toEqual(new Set(['ks-2']));
    expect(t.asked).toEqual(['ks-1']);
    expect(t.minted()).toBe(2);
  });

  it('keeps the KS when asking Kaltura fails, and says so', async () => {
    const t = setup();
    const first = await t.issuer.getKs(alice);
    t.failAsking();
    expect((await t.issuer.getKs(alice, { rejectedKs: first.ks })).ks).toBe(first.ks);
    const event = t.events.find((e) => e.type === 'rejected');
    expect(event).toMatchObject({ outcome: 'check-error', error: { code: 'ERR_KS_UNAVAILABLE' } });
    expect(JSON.stringify(event)).not.toContain(first.ks);
  });

  it('without a way to ask Kaltura, counts as forceRefresh (and its interval)', async () => {
    const t = setup({ noAccepts: true });
    const first = await t.issuer.getKs(alice);
    expect((await t.issuer.getKs(alice, { rejectedKs: first.ks })).ks).toBe(first.ks);
    t.advance(10_000);
    expect((await t.issuer.getKs(alice, { rejectedKs: first.ks })).ks).toBe('ks-2');
    expect(t.outcomes().map(([, o]) => o)).toEqual(['unverifiable', 'unverifiable']);
  });

  it('drops the refused KS from the shared store too, so no instance serves it again', async () => {
    const hub = createMemoryStoreHub(() => START);
    const one = setup({ store: hub.store(), storeTimeoutMs: 100, realKs: true });
    const first = await one.issuer.getKs(alice);
    one.end(first.ks);
    const next = await one.issuer.getKs(alice, { rejectedKs: first.ks });
    expect(next.ks).not.toBe(first.ks);
    // A second instance (minting alike) reads the store: it finds the new KS, not the refused one.
    const other = createKsIssuer({
      partnerId: 1,
      minter: {
        kind: 'kaltura-like',
        mint: () => Promise.reject(new KsError('ERR_KS_UNAVAILABLE', 'not here')),
      },
      store: hub.store(),
      now: () => START,
      storeTimeoutMs: 100,
    });
    expect((await other.getKs(alice)).ks).toBe(next.ks);
    await other.close();
  });

  it('is answered only once Kaltura has been asked: getCachedKs leaves it to getKs', async () => {
    const t = setup();
    const first = await t.issuer.getKs(alice);
    expect(t.issuer.getCachedKs(alice, { rejectedKs: first.ks })).toBeUndefined();
    expect(t.issuer.getCachedKs(alice)).toBe(first);
  });

  it('refuses a rejectedKs that is not a string', async () => {
    const t = setup();
    await expect(t.issuer.getKs(alice, { rejectedKs: 42 as never })).rejects.toMatchObject({
      code: 'ERR_KS_INVALID_OPTION',
      message: expect.stringContaining('rejectedKs'),
    });
  });
});
