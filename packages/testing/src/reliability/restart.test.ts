import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KsError, KsType, verifyKs } from '@kaltura-ks/core';
import { createKalturaClient, type KalturaClient } from '@kaltura-ks/core/client';
import { createKsIssuer, type KsIssuer } from '@kaltura-ks/core/issuer';
import { type Emulator, startEmulator } from '@kaltura-ks/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAppTokens, testClock } from './support.js';

/**
 * Kaltura (the emulator with `persistPath`) goes away and comes back on the same port
 * mid-run. One issuer, minting through an app token, lives through it all: it serves
 * what it has while Kaltura is down, fails new users promptly, and mints again once
 * Kaltura is back — no restart. App tokens, a token deleted before the restart and a
 * KS ended before it keep their state.
 */

const PARTNER = 5302;
const ADMIN_SECRET = 'restart-admin-secret-41c7e2a9d0';
const MINT_TIMEOUT_MS = 300;
const BACKOFF_MS = 1_000;

const clock = testClock();
const dir = mkdtempSync(join(tmpdir(), 'ks-restart-'));
const persistPath = join(dir, 'state.json');
let emulator: Emulator;
let issuer: KsIssuer;
let client: KalturaClient;

beforeAll(async () => {
  emulator = await startEmulator({
    partners: [{ id: PARTNER, adminSecret: ADMIN_SECRET, userSecret: 'restart-user-secret' }],
    persistPath,
    now: clock.now,
  });
});

afterAll(async () => {
  await Promise.all([issuer?.close(), client?.close(), emulator?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

/** What Kaltura says of a KS: `ok`, or its error code (INVALID_KS for an ended one). */
async function kalturaAccepts(ks: string): Promise<string> {
  try {
    await client.request('baseEntry', 'list', {}, { ks });
    return 'ok';
  } catch (error) {
    return (error as { kalturaCode?: string }).kalturaCode ?? String(error);
  }
}

describe('Kaltura restarted mid-run (emulator with persistPath, same port)', () => {
  it('keeps app tokens and revocations, and the issuer recovers without a restart', async () => {
    const [kept, deleted] = await addAppTokens(emulator.url, PARTNER, ADMIN_SECRET, [{}, {}]);
    issuer = createKsIssuer({
      partnerId: PARTNER,
      appToken: kept!,
      serviceUrl: emulator.url,
      now: clock.now,
      mintTimeoutMs: MINT_TIMEOUT_MS,
      failureBackoff: { baseMs: BACKOFF_MS, maxMs: BACKOFF_MS },
    });
    client = createKalturaClient({ serviceUrl: emulator.url, partnerId: PARTNER, retry: false });
    const admin = await client.session.start({ secret: ADMIN_SECRET, type: KsType.ADMIN });

    // Before the restart: a KS ended at Kaltura, and a KS of a token that is then deleted.
    const ended = await issuer.getKs({ userId: 'ended' });
    await issuer.revoke('ended', { endSession: true });
    const ofDeleted = await client.startAppTokenSession({
      appTokenId: deleted!.id,
      appTokenValue: deleted!.token,
      userId: 'orphan',
    });
    await client.appToken.delete(deleted!.id, { ks: admin });
    const cached = await issuer.getKs({ userId: 'cached' });
    expect(await kalturaAccepts(ended.ks)).toBe('INVALID_KS');
    expect(await kalturaAccepts(ofDeleted.ks)).toBe('INVALID_KS');
    expect(await kalturaAccepts(cached.ks)).toBe('ok');

    const { port } = emulator;
    await emulator.close();

    // Kaltura is down: what is cached is served, a new user fails promptly — ended by the
    // refused connection (the client's last attempt) or by mintTimeoutMs, whichever comes first.
    // Said by the cause, not by a wall-clock bound: the timeout's answer read 307 ms, and a
    // loaded machine runs that timer later than any bound close to it (550 ms was).
    expect((await issuer.getKs({ userId: 'cached' })).ks).toBe(cached.ks);
    const refused = await issuer.getKs({ userId: 'newcomer' }).then(
      () => expect.unreachable('a new user was served while Kaltura was down'),
      (error: KsError) => error,
    );
    expect(refused).toMatchObject({ code: 'ERR_KS_UNAVAILABLE' });
    expect((refused.cause as KsError).message).toMatch(
      new RegExp(
        `connection failed \\(ECONNREFUSED [^)]*\\) \\(after \\d attempts\\)$|within mintTimeoutMs \\(${MINT_TIMEOUT_MS} ms\\)$`,
      ),
    );

    emulator = await startEmulator({ port, persistPath, now: clock.now });
    expect(emulator.port).toBe(port);
    expect(emulator.generatedPartner).toBe(false);
    clock.advance(BACKOFF_MS + 1);

    // The same issuer mints again, through the same (persisted) app token.
    const newcomer = await issuer.getKs({ userId: 'newcomer' });
    expect(
      verifyKs(newcomer.ks, { secrets: ADMIN_SECRET, partnerId: PARTNER, now: clock.now }),
    ).toMatchObject({
      userId: 'newcomer',
      privileges: expect.stringContaining(`sessionid:${kept!.id}`),
    });
    expect((await issuer.getKs({ userId: 'cached' })).ks).toBe(cached.ks);

    // What was revoked before the restart stays revoked; what was valid stays valid.
    expect(await kalturaAccepts(ended.ks)).toBe('INVALID_KS');
    expect(await kalturaAccepts(ofDeleted.ks)).toBe('INVALID_KS');
    expect(await kalturaAccepts(cached.ks)).toBe('ok');
    expect(await kalturaAccepts(newcomer.ks)).toBe('ok');
    await expect(
      client.startAppTokenSession({ appTokenId: deleted!.id, appTokenValue: deleted!.token }),
    ).rejects.toMatchObject({ kalturaCode: 'APP_TOKEN_NOT_ACTIVE' });
  });
});
