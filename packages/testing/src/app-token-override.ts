import type { Server } from 'node:http';
import { KsType } from '@kaltura-ks/core';
import { createKalturaClient } from '@kaltura-ks/core/client';
import type { HasHeaders } from '@kaltura-ks/core/http';
import { type Emulator, startEmulator } from '@kaltura-ks/emulator';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterHarness, headerUser, serve, stop } from './harness.js';

/**
 * An app token with `sessionType: ADMIN` makes Kaltura issue an ADMIN KS whatever type
 * was asked for. The issuer checks what Kaltura issued against what was asked before the
 * KS reaches anyone: a USER request never gets the ADMIN KS — not the browser (whatever
 * `allowAdminKs` says), not server code.
 */
export function appTokenOverrideContract<Req extends HasHeaders>(
  harness: AdapterHarness<Req>,
): void {
  describe(`${harness.name}: an app token that overrides the session type`, () => {
    const secret = 'known-bugs-admin-secret-3e9f21a4';
    let emulator: Emulator;
    let server: Server;
    let close: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      emulator = await startEmulator({
        partners: [{ id: 4301, adminSecret: secret, userSecret: 'known-bugs-user-secret-77c0d5' }],
      });
      const client = createKalturaClient({ serviceUrl: emulator.url, partnerId: 4301 });
      client.ks = await client.session.start({ secret, type: KsType.ADMIN });
      const token = await client.appToken.add({ hashType: 'SHA256', sessionType: KsType.ADMIN });
      await client.close();
      const app = harness.createApp({
        partnerId: 4301,
        serviceUrl: emulator.url,
        appToken: { id: token.id, token: token.token, hashType: 'SHA256' },
        getUser: headerUser(),
        onWarning: () => {},
      });
      close = app.close;
      server = await serve(app.target);
    });
    afterAll(async () => {
      await stop(server);
      await close?.();
      await emulator.close();
    });

    it('never hands out the ADMIN KS Kaltura issued for a USER request: 503 ERR_KS_NOT_GRANTED', async () => {
      const res = await request(server).get('/kaltura/ks').set('x-test-user', 'alice');
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('ERR_KS_NOT_GRANTED');
      expect(res.body.ks).toBeUndefined();
      // Server code does not get it either.
      const handler = await request(server).get('/api/ks').set('x-test-user', 'alice');
      expect(handler.body).toEqual({ error: 'ERR_KS_NOT_GRANTED' });
    });
  });
}
