import { describe, expect, it } from 'vitest';
import type { KalturaClient } from '../client/types.js';
import { createKs } from '../ks/create.js';
import { createKsIssuer } from './issuer.js';

/**
 * What `session.start` answers is input: with the user secret a KS v2 cannot be opened, but
 * its partner is in the clear, and a string that is no KS at all is not one to hand out.
 */

const PARTNER = 4242;
const START = 1_700_000_000_000;

function issuerAnswering(ks: string) {
  const client = {
    session: { start: async () => ks, end: async () => {} },
    close: async () => {},
  } as unknown as KalturaClient;
  return createKsIssuer({
    partnerId: PARTNER,
    sessionStart: { secret: 'the-user-secret' },
    client,
    now: () => START,
    onWarning: () => {},
  });
}

describe('session.start answers a KS the user secret cannot open', () => {
  it('serves a KS v2 of its own partner', async () => {
    const ks = createKs({ secret: 'admin', partnerId: PARTNER, validUntil: START / 1000 + 600 });
    const issuer = issuerAnswering(ks);
    expect((await issuer.getKs({ userId: 'alice' })).ks).toBe(ks);
    await issuer.close();
  });

  it('refuses a KS v2 of another partner (its partner id is in the clear): ERR_KS_NOT_GRANTED', async () => {
    const ks = createKs({ secret: 'admin', partnerId: 999, validUntil: START / 1000 + 600 });
    const issuer = issuerAnswering(ks);
    await expect(issuer.getKs({ userId: 'alice' })).rejects.toMatchObject({
      code: 'ERR_KS_NOT_GRANTED',
    });
    await issuer.close();
  });

  it('refuses an answer that is no KS at all (ERR_KS_RESPONSE under ERR_KS_UNAVAILABLE), without repeating it', async () => {
    const issuer = issuerAnswering('not-a-ks-at-all');
    const error = await issuer.getKs({ userId: 'alice' }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERR_KS_UNAVAILABLE',
      cause: expect.objectContaining({ code: 'ERR_KS_RESPONSE' }),
    });
    expect(String((error as Error).message)).not.toContain('not-a-ks-at-all');
    await issuer.close();
  });
});
