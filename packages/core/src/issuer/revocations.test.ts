import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKs } from '../ks/create.js';
import { createKsIssuer } from './issuer.js';
import { createMemoryStoreHub } from './memory-store.js';
import {
  ANNOUNCE_INTERVAL_MS,
  HEARD_REVOCATIONS_MAX,
  HeardRevocations,
  PENDING_REVOCATIONS_MAX,
  PendingRevocations,
} from './revocations.js';
import type { KsPendingRevocation } from './store.js';
import type { KsSession } from './types.js';

const START = 1_700_000_000_000;

afterEach(() => {
  vi.useRealTimers();
});

/** A session issued at `issuedAt` (its KS is real, the secret a test one). */
function issued(userId: string, issuedAt: number): KsSession {
  return {
    ks: createKs({ secret: 'revocations-test-admin-secret-00', partnerId: 1, userId }),
    partnerId: 1,
    userId,
    type: 0,
    privileges: '',
    issuedAt,
    expiresAt: issuedAt + 3_600_000,
  };
}

describe('pending revocations', () => {
  it('beyond PENDING_REVOCATIONS_MAX users pending, revokes everything instead', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let t = START;
    const sent: (string | null)[] = [];
    const pending = new PendingRevocations({
      now: () => t,
      random: () => 0.5,
      send: async (userId) => {
        sent.push(userId);
        return undefined;
      },
      announce: async () => {},
      onConfirmed: async () => {},
      onPending: () => {},
    });
    for (let i = 0; i < PENDING_REVOCATIONS_MAX; i++) await pending.submit(`u${i}`, false);
    expect(pending.size).toBe(PENDING_REVOCATIONS_MAX);
    t += 1_000;
    await pending.submit('one-too-many', false);
    expect(pending.size).toBe(PENDING_REVOCATIONS_MAX + 1); // everything counts as one
    const session = issued('anyone', t - 1);
    expect(pending.refuses(session, 'anyone')).toBe(true);
    expect(pending.refuses({ ...session, issuedAt: t + 1 }, 'anyone')).toBe(false);
    await pending.close();
  });
});

describe('announcing pending revocations to the fleet', () => {
  it('announces a refused revocation before submit resolves, again every interval, and stops once confirmed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const t = START;
    let refusing = true;
    const sent: Array<[string | null, number]> = [];
    const announced: KsPendingRevocation[][] = [];
    const pending = new PendingRevocations({
      now: () => t,
      random: () => 0.5,
      send: async (userId, at) => {
        sent.push([userId, at]);
        return refusing ? undefined : [];
      },
      announce: async (revocations) => {
        announced.push([...revocations]);
      },
      onConfirmed: async () => {},
      onPending: () => {},
    });
    const outcome = await pending.submit('alice', false);
    expect(outcome.reach).toBe('instance');
    expect(announced).toEqual([[{ userId: 'alice', at: START }]]);
    // The store is asked with the time of the revocation, which its broadcast carries.
    expect(sent).toEqual([['alice', START]]);
    await pending.submit('bob', false);
    announced.length = 0;
    await vi.advanceTimersByTimeAsync(ANNOUNCE_INTERVAL_MS);
    expect(announced).toEqual([
      [
        { userId: 'alice', at: START },
        { userId: 'bob', at: START },
      ],
    ]);
    await vi.advanceTimersByTimeAsync(ANNOUNCE_INTERVAL_MS * 2);
    expect(announced).toHaveLength(3);
    refusing = false;
    await vi.advanceTimersByTimeAsync(10_000); // the retries land
    expect(pending.size).toBe(0);
    announced.length = 0;
    await vi.advanceTimersByTimeAsync(ANNOUNCE_INTERVAL_MS * 3);
    expect(announced).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    await pending.close();
  });

  it('a confirmed revocation is never announced', async () => {
    const announced: unknown[] = [];
    const pending = new PendingRevocations({
      now: () => START,
      random: () => 0.5,
      send: async () => [],
      announce: async (revocations) => {
        announced.push(revocations);
      },
      onConfirmed: async () => {},
      onPending: () => {},
    });
    expect((await pending.submit('alice', false)).reach).toBe('fleet');
    expect(announced).toEqual([]);
    await pending.close();
  });
});

describe('revocations heard from the fleet', () => {
  const LIFETIME = 3_600_000;

  it('an announcement refuses what was issued before it until that instance confirms', () => {
    let t = START;
    const heard = new HeardRevocations(() => t, LIFETIME);
    expect(heard.hear('alice', { at: START, confirmed: false, from: 'a' })).toBe(true);
    expect(heard.refuses(issued('alice', START - 1), 'alice')).toBe(true);
    expect(heard.refuses(issued('alice', START), 'alice')).toBe(true);
    expect(heard.refuses(issued('alice', START + 1), 'alice')).toBe(false);
    expect(heard.refuses(issued('bob', START - 1), 'bob')).toBe(false);
    // A repeat is not news: the local KSs minted since are kept.
    t += 1_000;
    expect(heard.hear('alice', { at: START, confirmed: false, from: 'a' })).toBe(false);
    // Another instance's confirmation does not settle a's revocation…
    expect(heard.hear('alice', { at: t, confirmed: true, from: 'b' })).toBe(true);
    expect(heard.refuses(issued('alice', START - 1), 'alice')).toBe(true);
    // …nor does a's confirmation of an older one…
    expect(heard.hear('alice', { at: START - 5, confirmed: true, from: 'a' })).toBe(true);
    expect(heard.refuses(issued('alice', START - 1), 'alice')).toBe(true);
    // …a's confirmation of it does.
    expect(heard.hear('alice', { at: START, confirmed: true, from: 'a' })).toBe(true);
    expect(heard.refuses(issued('alice', START - 1), 'alice')).toBe(false);
    expect(heard.size).toBe(0);
  });

  it('an announcement of everything refuses every user; its confirmation settles the users too', () => {
    const heard = new HeardRevocations(() => START, LIFETIME);
    heard.hear('alice', { at: START - 10, confirmed: false, from: 'a' });
    heard.hear(null, { at: START, confirmed: false, from: 'a' });
    expect(heard.refuses(issued('bob', START - 1), 'bob')).toBe(true);
    expect(heard.refuses(issued('bob', START + 1), 'bob')).toBe(false);
    heard.hear(null, { at: START, confirmed: true, from: 'a' });
    expect(heard.refuses(issued('alice', START - 20), 'alice')).toBe(false);
    expect(heard.size).toBe(0);
  });

  it('a tombstone outlives no KS: once the longest lifetime has passed it is dropped', () => {
    let t = START;
    const heard = new HeardRevocations(() => t, LIFETIME);
    heard.hear('alice', { at: START, confirmed: false, from: 'a' });
    t += LIFETIME;
    expect(heard.refuses(issued('alice', START - 1), 'alice')).toBe(false);
    expect(heard.size).toBe(0);
    // An announcement already that old is not kept at all.
    expect(heard.hear('bob', { at: START, confirmed: false, from: 'a' })).toBe(false);
    expect(heard.size).toBe(0);
  });

  it('beyond HEARD_REVOCATIONS_MAX users, refuses everything issued before the newest instead', () => {
    const heard = new HeardRevocations(() => START, LIFETIME);
    for (let i = 0; i < HEARD_REVOCATIONS_MAX; i++)
      heard.hear(`u${i}`, { at: START - 1, confirmed: false, from: 'a' });
    expect(heard.hear('one-too-many', { at: START, confirmed: false, from: 'a' })).toBe(true);
    expect(heard.refuses(issued('anyone', START), 'anyone')).toBe(true);
    expect(heard.refuses(issued('anyone', START + 1), 'anyone')).toBe(false);
  });
});

describe('a store with announce', () => {
  it('is refused when announce is given but is not a function', () => {
    const store = { ...createMemoryStoreHub().store(), announce: 'yes' as unknown as undefined };
    expect(() =>
      createKsIssuer({ partnerId: 1, adminSecret: 'revocations-test-admin-secret-00', store }),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_KS_INVALID_OPTION',
        message: expect.stringMatching(/store\.announce/),
      }),
    );
  });
});
