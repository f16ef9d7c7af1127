import { KsType, verifyKs } from '@kaltura-ks/core';
import { createKsEngine } from '@kaltura-ks/core/http';
import { createKsIssuer } from '@kaltura-ks/core/issuer';
import { describe, expect, it } from 'vitest';

/**
 * Regression (core issuer): a local issuer with `ksVersion: 1` validates and normalises the
 * privileges it is asked for with KS **v2** rules (`Issuer.#normalize` in
 * packages/core/src/issuer/issuer.ts: `const version = this.kind === 'local' ? 2 : 1`),
 * but signs a v1 KS, which keeps privileges verbatim and *merges* repeated names (spec
 * §5.3). Two consequences:
 *
 * 1. Privilege escalation through the cache: `edit:0_a,edit:0_b` (v1: edit on both) and
 *    `edit:0_b` have the same v2 normal form, so after a user has been given the first,
 *    asking for the second returns the cached KS — which also grants `edit:0_a`. Through
 *    the route this happens whenever the app's `privileges(user, req)` varies by request.
 * 2. Privileges that only v1 refuses (` edit:*`, with a space) pass the v2 check, fail
 *    in the v1 signer, and surface as `ERR_KS_UNAVAILABLE` (HTTP 503, with a failure
 *    back-off) instead of `ERR_KS_INVALID_FIELD` (400).
 *
 * The fix: keep the local KS version in the issuer (`options.ksVersion ?? 2`) and
 * use it in `#normalize`: `const version = this.kind === 'local' ? this.#localVersion : 1`.
 */

const PARTNER = 5305;
const SECRET = 'bug-v1-cache-key-admin-secret-3d9a';

function privilegesOf(ks: string): string {
  return verifyKs(ks, { secrets: SECRET, partnerId: PARTNER }).privileges;
}

describe('a local issuer minting KS v1', () => {
  it('never hands out a cached KS with more privileges than asked', async () => {
    const issuer = createKsIssuer({ partnerId: PARTNER, adminSecret: SECRET, ksVersion: 1 });
    try {
      const both = await issuer.getKs({ userId: 'u', privileges: 'edit:0_a,edit:0_b' });
      expect(privilegesOf(both.ks)).toBe('edit:0_a,edit:0_b');
      const one = await issuer.getKs({ userId: 'u', privileges: 'edit:0_b' });
      expect(privilegesOf(one.ks)).toBe('edit:0_b');
    } finally {
      await issuer.close();
    }
  });

  it('through the route: a page granting one entry never gets the KS of a page granting two', async () => {
    let asked = '';
    const engine = createKsEngine<{ headers: Record<string, string> }>({
      partnerId: PARTNER,
      adminSecret: SECRET,
      ksVersion: 1,
      getUser: () => ({ id: 'u' }),
      privileges: () => asked,
      onWarning: () => {},
    });
    const get = async () => {
      const req = { headers: {} };
      const answer = await engine.respond(req, await engine.context(req), {
        method: 'GET',
        headers: {},
      });
      return JSON.parse(answer.body) as { ks: string };
    };
    try {
      asked = 'sview:0_a,sview:0_b';
      expect(privilegesOf((await get()).ks)).toBe('sview:0_a,sview:0_b');
      asked = 'sview:0_b';
      expect(privilegesOf((await get()).ks)).toBe('sview:0_b');
    } finally {
      await engine.close();
    }
  });

  it('refuses privileges a v1 KS cannot carry as invalid input, not as an outage', async () => {
    const issuer = createKsIssuer({ partnerId: PARTNER, adminSecret: SECRET, ksVersion: 1 });
    try {
      await expect(
        issuer.getKs({ userId: 'u', type: KsType.USER, privileges: ' edit:*' }),
      ).rejects.toMatchObject({ code: 'ERR_KS_INVALID_FIELD' });
    } finally {
      await issuer.close();
    }
  });
});

describe('a remote issuer, which may meet a KS v1 or a KS v2 partner', () => {
  it('shares a KS only between requests that grant the same under both versions', async () => {
    const minted: string[] = [];
    const issuer = createKsIssuer({
      partnerId: PARTNER,
      minter: {
        kind: 'remote-like',
        async mint(request) {
          minted.push(request.privileges);
          const now = Date.now();
          return {
            ks: `ks-${minted.length}`,
            partnerId: PARTNER,
            userId: request.userId,
            type: request.type,
            privileges: request.privileges,
            issuedAt: now,
            expiresAt: now + request.expiresInSeconds * 1000,
          };
        },
      },
    });
    try {
      // v1 reads both as edit on 0_a and 0_b; v2 reads the first as edit on 0_b only.
      const merged = await issuer.getKs({ userId: 'u', privileges: 'edit:0_a,0_b' });
      const repeated = await issuer.getKs({ userId: 'u', privileges: 'edit:0_a,edit:0_b' });
      expect(repeated.ks).not.toBe(merged.ks);
      // Same meaning under both versions: one KS.
      const reordered = await issuer.getKs({ userId: 'u', privileges: 'sview:*,edit:0_a,0_b' });
      const again = await issuer.getKs({ userId: 'u', privileges: 'edit:0_a,0_b,sview:*' });
      expect(again.ks).toBe(reordered.ks);
      expect(minted).toEqual(['edit:0_a,0_b', 'edit:0_a,edit:0_b', 'sview:*,edit:0_a,0_b']);
    } finally {
      await issuer.close();
    }
  });
});
