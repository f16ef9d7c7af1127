import { KsType } from '@kaltura-ks/core';
import { createKsIssuer, type KsIssuer } from '@kaltura-ks/core/issuer';
import { type Emulator, startEmulator } from '@kaltura-ks/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAppTokens } from './support.js';

/**
 * Hardening (core issuer; was a gap): the issuer signs, or asks an app token for, a USER KS
 * for the anonymous user (`''` or `'0'`) carrying `widget:1`. Kaltura classifies such a KS
 * as a widget session and never checks it for revocation (spec §4.7, §6): deleting the
 * app token — the one way an account owner can cut an integration off — does not revoke
 * it, nor does `session.end`. The route already refuses the anonymous ids
 * (`createKsEngine`: "A signed-in user cannot have the anonymous user id"), but server
 * code calling `issuer.getKs()` directly is not protected.
 *
 * The fix: in `Issuer.#normalize` (packages/core/src/issuer/issuer.ts), after the
 * privileges are formatted, throw `ERR_KS_INVALID_FIELD` when the type is USER, the user
 * id is `''` or `'0'`, and the parsed privileges contain the name `widget` ("an anonymous
 * KS with widget:1 can never be revoked; use session.startWidgetSession for widget
 * sessions").
 */

const PARTNER = 5309;
const ADMIN_SECRET = 'unrevocable-widget-admin-secret-7c';
let emulator: Emulator;
let issuers: KsIssuer[] = [];

beforeAll(async () => {
  emulator = await startEmulator({
    partners: [{ id: PARTNER, adminSecret: ADMIN_SECRET, userSecret: 'unrevocable-user' }],
  });
  const [token] = await addAppTokens(emulator.url, PARTNER, ADMIN_SECRET, [{}]);
  issuers = [
    createKsIssuer({ partnerId: PARTNER, adminSecret: ADMIN_SECRET }),
    createKsIssuer({ partnerId: PARTNER, appToken: token!, serviceUrl: emulator.url }),
  ];
});

afterAll(async () => {
  await Promise.all(issuers.map((issuer) => issuer.close()));
  await emulator?.close();
});

describe('the issuer and anonymous widget-style sessions', () => {
  it.each([
    ['', 'widget:1,view:*'],
    ['0', 'widget:1'],
    ['', { widget: 1 }],
  ])('refuses user %j with privileges %j, for every way to mint', async (userId, privileges) => {
    for (const issuer of issuers) {
      await expect(
        issuer.getKs({ userId, type: KsType.USER, privileges }),
        issuer.kind,
      ).rejects.toMatchObject({ code: 'ERR_KS_INVALID_FIELD' });
    }
  });
});
