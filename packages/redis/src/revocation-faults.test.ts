/**
 * A revocation is never lost: Redis refusing or not answering it — out of
 * memory, a read-only replica, an ACL that forbids the script, a hang — is
 * followed by recovery, and at no point does the revoking instance serve the
 * revoked KS; once Redis is back, the revocation lands by itself (retried
 * with back-off, not only on a reconnection) and no instance serves it.
 */
import type { KsIssuer } from '@kaltura-ks/core/issuer';
import {
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
