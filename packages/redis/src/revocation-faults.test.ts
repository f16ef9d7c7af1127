/**
 * A revocation is never lost: Redis refusing or not answering it — out of
 * memory, a read-only replica, an ACL that forbids the script, a hang — is
 * followed by recovery, and at no point does the revoking instance serve the
 * revoked KS; once Redis is back, the revocation lands by itself (retried
 * with back-off, not only on a reconnection) and no instance serves it.
 *
 * And no other instance does either: the revoking instance announces what
 * Redis refused (PUBLISH, which Redis takes while it refuses writes) until
 * Redis takes it; an instance that was running drops its copies and refuses
 * Redis's, and one started meanwhile serves nothing from Redis until it has
 * listened long enough to have heard.
 */
import {
  ANNOUNCE_INTERVAL_MS,
  type KsHeardRevocation,
  type KsIssuer,
  type KsSharedStore,
} from '@kaltura-ks/core/issuer';
import {
  delegate,
  eventsOf,
  type IssuerFleet,
  issuerFleet,
  type RedisSpace,
  redisSpace,
} from '@kaltura-ks/testing/shared-store';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort, type RedisServer, startRedisServer } from './test-utils/redis-server.js';

let server: RedisServer;
let admin: ReturnType<typeof createClient>;
let prefixes = 0;
const open: IssuerFleet<RedisSpace>[] = [];
/** Until a retry lands: the back-off reaches its 5 s cap; a loaded machine adds to it. */
const landing = { timeout: 20_000, interval: 50 };

beforeAll(async () => {
  server = await startRedisServer();
  admin = createClient({ url: server.url });
  admin.on('error', () => {});
  await admin.connect();
  await admin.configSet('maxmemory-policy', 'noeviction');
  await admin.sendCommand(['ACL', 'SETUSER', 'kstore', 'on', '>kstore-pw', '~*', '&*', '+@all']);
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});
afterAll(async () => {
  admin?.destroy();
  await server?.stop();
});

async function fleet(
  size: number,
  url = () => server.url,
  keyPrefix = `faults-${++prefixes}:`,
): Promise<IssuerFleet<RedisSpace> & { keyPrefix: string }> {
  const f = await issuerFleet(size, {
    open: () =>
      redisSpace({
        url: () => url(),
        keyPrefix,
        store: { failFastAfterMs: 500, reconnectAfterMs: 1_000 },
      }),
    storeTimeoutMs: 500,
    lockWaitMs: 2_000,
  });
  open.push(f);
  return { ...f, keyPrefix };
}

/** The store's default: a new subscription serves nothing from Redis for two announcements. */
const CATCH_UP_MS = 2 * ANNOUNCE_INTERVAL_MS;

interface Instances {
  fleet: IssuerFleet<RedisSpace>;
  issuers: KsIssuer[];
  /** What each instance's store told its issuer, in order. */
  heard: Array<Array<{ userId: string | null; heard: KsHeardRevocation | undefined }>>;
}

/**
 * Instances with the store's default catch-up, on the fleet's clock (so a
 * test moves it past the catch-up only once it knows what was heard), with
 * what their stores tell them recorded. `waitReady: false` for instances
 * started while Redis does not answer.
 */
async function instances(
  size: number,
  options: {
    url: () => string;
    keyPrefix: string;
    waitReady?: boolean;
    wrap?: (store: KsSharedStore, i: number) => KsSharedStore;
  },
): Promise<Instances> {
  const heard: Instances['heard'] = Array.from({ length: size }, () => []);
  const f = await issuerFleet(size, {
    open: (now) => {
      const space = redisSpace({
        url: () => options.url(),
        keyPrefix: options.keyPrefix,
        store: {
          failFastAfterMs: 500,
          reconnectAfterMs: 1_000,
          revocationCatchUpMs: CATCH_UP_MS,
          now,
        },
      });
      return options.waitReady === false ? { ...space, ready: async () => {} } : space;
    },
    wrap: (store, i) => {
      const listening = delegate(store, {
        onRevoke: (partnerId, listener) =>
          store.onRevoke(partnerId, (userId, told) => {
            heard[i]!.push({ userId, heard: told });
            listener(userId, told);
          }),
      });
      return options.wrap?.(listening, i) ?? listening;
    },
    storeTimeoutMs: 500,
    lockWaitMs: 2_000,
  });
  open.push(f);
  return { fleet: f, issuers: f.issuers, heard };
}

/** Until the instance has heard `userId`'s revocation announced (not confirmed) by another. */
async function hearsAnnounced(log: Instances['heard'][number], userId: string | null) {
  await vi.waitFor(
    () =>
      expect(log).toContainEqual({
        userId,
        heard: expect.objectContaining({ confirmed: false }),
      }),
    landing,
  );
}

/** Asks each issuer for alice's KS a few times: none may answer the revoked one. */
async function neverServes(issuers: KsIssuer[], revoked: string): Promise<void> {
  for (let round = 0; round < 3; round++) {
    for (const issuer of issuers)
      expect((await issuer.getKs({ userId: 'alice' })).ks).not.toBe(revoked);
  }
}

interface Fault {
  /** Redis refuses the revocation (`instance`), or takes it all the same (`fleet`). */
  reach: 'fleet' | 'instance';
  /** The URL the revoking instance connects with. */
  url?: () => string;
  inject(): Promise<void>;
  recover(): Promise<void>;
}

const faults: Record<string, Fault> = {
  'out of memory (maxmemory 1, noeviction): a revocation frees memory, so Redis takes it': {
    reach: 'fleet',
    inject: async () => {
      await admin.configSet('maxmemory', '1');
    },
    recover: async () => {
      await admin.configSet('maxmemory', '0');
    },
  },
  'a read-only replica (READONLY)': {
    reach: 'instance',
    inject: async () => {
      // A replica of a master that is not there: it keeps its data and refuses every write.
      await admin.sendCommand(['REPLICAOF', '127.0.0.1', String(await freePort())]);
    },
    recover: async () => {
      await admin.sendCommand(['REPLICAOF', 'NO', 'ONE']);
    },
  },
  'an ACL that forbids scripts (NOPERM)': {
    reach: 'instance',
    url: () => server.url.replace('redis://', 'redis://kstore:kstore-pw@'),
    inject: async () => {
      await admin.sendCommand(['ACL', 'SETUSER', 'kstore', '-@scripting']);
    },
    recover: async () => {
      await admin.sendCommand(['ACL', 'SETUSER', 'kstore', '+@scripting']);
    },
  },
  'a Redis that does not answer (SIGSTOP: every call times out)': {
    reach: 'instance',
    inject: async () => server.pause(),
    recover: async () => server.resume(),
  },
};

interface FleetFault {
  /** What the revoking instance does: a revocation Redis refuses under this fault. */
  revoke(a: KsIssuer): Promise<unknown>;
  /** Who is revoked (`null`: everything). */
  userId: string | null;
  url?: () => string;
  /** Redis answers nothing: no announcement travels, nor does a new instance subscribe, until it is back. */
  silent?: boolean;
  inject(): Promise<void>;
  recover(): Promise<void>;
}

const fleetFaults: Record<string, FleetFault> = {
  'out of memory (maxmemory 1, noeviction): clear() is refused, PUBLISH is not': {
    revoke: (a) => a.clear(),
    userId: null,
    inject:
      faults[
        'out of memory (maxmemory 1, noeviction): a revocation frees memory, so Redis takes it'
      ]!.inject,
    recover:
      faults[
        'out of memory (maxmemory 1, noeviction): a revocation frees memory, so Redis takes it'
      ]!.recover,
  },
  'a read-only replica (READONLY): the script is refused, PUBLISH is not': {
    revoke: (a) => a.revoke('alice', { endSession: true }),
    userId: 'alice',
    ...faults['a read-only replica (READONLY)']!,
  },
  'an ACL that forbids scripts but allows the channel (NOPERM): PUBLISH goes through': {
    revoke: (a) => a.revoke('alice', { endSession: true }),
    userId: 'alice',
    ...faults['an ACL that forbids scripts (NOPERM)']!,
  },
  'a Redis that does not answer (SIGSTOP): nothing travels until it is back': {
    revoke: (a) => a.revoke('alice', { endSession: true }),
    userId: 'alice',
    silent: true,
    ...faults['a Redis that does not answer (SIGSTOP: every call times out)']!,
  },
};

describe('a revocation Redis refuses or does not answer, across the fleet', () => {
  it.each(Object.entries(fleetFaults))(
    '%s',
    async (_, fault) => {
      const url = fault.url ?? (() => server.url);
      const keyPrefix = `fleet-faults-${++prefixes}:`;
      // A's retries land only when the test lets them: Redis is back, the retry not yet there.
      let retriesLand = true;
      const ab = await instances(2, {
        url,
        keyPrefix,
        wrap: (store, i) =>
          i !== 0
            ? store
            : delegate(store, {
                revoke: async (partnerId, userId, at) => {
                  if (!retriesLand) throw new Error('the retry has not landed yet');
                  return store.revoke(partnerId, userId, at);
                },
              }),
      });
      ab.fleet.advance(CATCH_UP_MS);
      const [a, b] = ab.issuers as [KsIssuer, KsIssuer];
      // A minted alice's KS; B served it from Redis and holds it.
      const revoked = (await a.getKs({ userId: 'alice' })).ks;
      expect((await b.getKs({ userId: 'alice' })).ks).toBe(revoked);

      await fault.inject();
      let recovered = false;
      try {
        // C starts during the outage.
        const c = await instances(1, { url, keyPrefix, waitReady: !fault.silent });
        const [issuerC] = c.issuers as [KsIssuer];
        await neverServes([issuerC], revoked);

        expect(await fault.revoke(a)).toMatchObject({ reach: 'instance' });
        if (!fault.silent) {
          // B hears the announcement and drops its copy; C hears it (again) within an interval.
          await vi.waitFor(() => expect(b.peek({ userId: 'alice' })).toBeUndefined(), landing);
          await hearsAnnounced(c.heard[0]!, fault.userId);
          // Past its catch-up, C reads Redis — which still holds alice's KS — and refuses it.
          c.fleet.advance(CATCH_UP_MS);
        }
        await neverServes(fault.silent ? [a, issuerC] : [a, b, issuerC], revoked);

        retriesLand = false;
        await fault.recover();
        recovered = true;
        // Redis is back, A's retry has not landed: Redis still holds alice's KS.
        if (fault.silent) {
          await vi.waitFor(() => expect(b.peek({ userId: 'alice' })).toBeUndefined(), landing);
          await hearsAnnounced(c.heard[0]!, fault.userId);
          c.fleet.advance(CATCH_UP_MS);
        }
        // D starts now: it refuses what it cannot know yet, then what it heard.
        const d = await instances(1, { url, keyPrefix });
        const [issuerD] = d.issuers as [KsIssuer];
        await neverServes([issuerD], revoked);
        await hearsAnnounced(d.heard[0]!, fault.userId);
        d.fleet.advance(CATCH_UP_MS);
        await neverServes([a, b, issuerC, issuerD], revoked);

        // The retry lands; every instance hears the confirmation, and still none serves it.
        retriesLand = true;
        await vi.waitFor(
          () =>
            expect(eventsOf(ab.fleet.events[0]!, 'revoke-confirmed')).toContainEqual(
              expect.objectContaining({ userId: fault.userId }),
            ),
          landing,
        );
        await neverServes([a, b, issuerC, issuerD], revoked);
        const e = await instances(1, { url, keyPrefix });
        e.fleet.advance(CATCH_UP_MS);
        await neverServes(e.issuers, revoked);
      } finally {
        retriesLand = true;
        if (!recovered) await fault.recover();
      }
    },
    60_000,
  );
});

describe('a revocation Redis refuses or does not answer', () => {
  it.each(Object.entries(faults))('%s', async (_, fault) => {
    // A revokes; B served alice before; both connect as the fault needs.
    const f = await fleet(2, fault.url);
    const [a, b] = f.issuers as [KsIssuer, KsIssuer];
    const revoked = (await a.getKs({ userId: 'alice' })).ks;
    expect((await b.getKs({ userId: 'alice' })).ks).toBe(revoked);

    await fault.inject();
    let recovered = false;
    try {
      const result = await a.revoke('alice', { endSession: true });
      expect(result).toMatchObject({ revoked: 1, ended: 1, reach: fault.reach });
      f.advance(1_000);
      // While Redis still holds alice's KS, the revoking instance never serves it.
      await neverServes([a], revoked);
      await fault.recover();
      recovered = true;
      if (fault.reach === 'instance') {
        expect(eventsOf(f.events[0]!, 'revoke-pending')[0]).toMatchObject({ userId: 'alice' });
        // Until the retry lands, still never.
        await neverServes([a], revoked);
        await vi.waitFor(
          () =>
            expect(eventsOf(f.events[0]!, 'revoke-confirmed')).toContainEqual(
              expect.objectContaining({ userId: 'alice' }),
            ),
          landing,
        );
      }
    } finally {
      if (!recovered) await fault.recover();
    }
    // Landed: every instance — the revoker, the one that served alice, a fresh one — mints anew.
    await vi.waitFor(() => expect(b.peek({ userId: 'alice' })?.ks).not.toBe(revoked), landing);
    const fresh = await fleet(1, undefined, f.keyPrefix);
    await neverServes([a, b, ...fresh.issuers], revoked);
    // The KS was ended at Kaltura once, when the revocation was made.
    expect(f.ended).toEqual([revoked]);
  });

  it('clear() under out of memory is refused, kept, and lands once memory is back', async () => {
    const f = await fleet(2);
    const [a, b] = f.issuers as [KsIssuer, KsIssuer];
    const revoked = (await b.getKs({ userId: 'alice' })).ks;
    await admin.configSet('maxmemory', '1');
    try {
      expect(await a.clear()).toEqual({ reach: 'instance' });
      f.advance(1_000);
      await neverServes([a], revoked);
    } finally {
      await admin.configSet('maxmemory', '0');
    }
    await vi.waitFor(
      () =>
        expect(eventsOf(f.events[0]!, 'revoke-confirmed')).toContainEqual(
          expect.objectContaining({ userId: null }),
        ),
      landing,
    );
    await vi.waitFor(() => expect(b.peek({ userId: 'alice' })).toBeUndefined(), landing);
    const fresh = await fleet(1, undefined, f.keyPrefix);
    await neverServes([a, b, ...fresh.issuers], revoked);
  });
});
