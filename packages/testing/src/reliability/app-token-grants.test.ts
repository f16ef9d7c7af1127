import { KsType, verifyKs } from '@kaltura-ks/core';
import {
  createKalturaClient,
  type KalturaAppTokenInput,
  type KalturaClient,
} from '@kaltura-ks/core/client';
import type { KsIssuerEvent } from '@kaltura-ks/core/issuer';
import { type Emulator, startEmulator } from '@kaltura-ks/emulator';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RouteApp, startRoute, testClock } from './support.js';

/**
 * What an app token makes of a request, end to end: the emulator answers as Kaltura does
 * (spec §9.7: the token's sessionUserId and sessionType override the caller's, and a
 * caller's server privilege is dropped unless the token grants it with `*`), and the
 * route must hand out only a KS for that user, with the privileges asked — or say why not.
 */

const PARTNER = 5501;
const ADMIN_SECRET = 'app-token-grants-admin-secret-7e21';
const HOUR = 3_600_000;

const clock = testClock();
let emulator: Emulator;
let admin: KalturaClient;
const opened: RouteApp[] = [];

beforeAll(async () => {
  emulator = await startEmulator({
    partners: [{ id: PARTNER, adminSecret: ADMIN_SECRET, userSecret: 'grants-user-secret' }],
    now: clock.now,
  });
  admin = createKalturaClient({ serviceUrl: emulator.url, partnerId: PARTNER });
  admin.ks = await admin.session.start({
    secret: ADMIN_SECRET,
    type: KsType.ADMIN,
    expiresInSeconds: 86_400 * 7,
  });
});

afterEach(async () => {
  emulator.faults.clear();
  await Promise.all(opened.splice(0).map((app) => app.close()));
});

afterAll(async () => {
  await admin?.close();
  await emulator?.close();
});

/** The README's server snippet, on the emulator, with an app token made with `input`. */
async function readmeRoute(
  input: KalturaAppTokenInput,
  extra: { onEvent?: (event: KsIssuerEvent) => void; onWarning?: (m: string) => void } = {},
) {
  const token = await admin.appToken.add({ hashType: 'SHA256', ...input });
  const route = await startRoute({
    partnerId: PARTNER,
    serviceUrl: emulator.url,
    appToken: { id: token.id, token: token.token, hashType: 'SHA256' },
    privileges: () => ({ sview: '*' }),
    appId: 'app.example.com',
    now: clock.now,
    ...extra,
  });
  opened.push(route);
  return { route, token };
}

/** The route's answer for a user, from its engine (no socket). */
async function answerFor(route: RouteApp, user: string) {
  const request = { method: 'GET', headers: { 'x-user': user } };
  const context = await route.engine.context(request as never);
  return route.engine.respond(request as never, context, request);
}

async function worksAtKaltura(ks: string): Promise<boolean> {
  try {
    await admin.request('baseEntry', 'list', {}, { ks });
    return true;
  } catch {
    return false;
  }
}

describe("the README's snippet with an app token", () => {
  it('with a token made by `app-token add --session-privileges sview:*` every KS carries what it asks; without, none is handed out — 503, and the event names sview', async () => {
    const events: KsIssuerEvent[] = [];
    const { route } = await readmeRoute({}, { onEvent: (event) => events.push(event) });
    const answer = await route.get('alice');
    expect(answer.status).toBe(503);
    expect(answer.json.error.code).toBe('ERR_KS_NOT_GRANTED');
    expect(answer.text).not.toContain('sview'); // what the token lacks is for the server's logs
    const failed = events.find((event) => event.type === 'mint-error');
    expect(failed).toMatchObject({
      error: {
        code: 'ERR_KS_NOT_GRANTED',
        message: expect.stringContaining('left out privileges that were asked: sview'),
      },
    });
    expect((failed as { error: Error }).error.message).toContain('--session-privileges');

    // The token the README makes: `kaltura-ks app-token add --hash-type SHA256 --session-privileges 'sview:*'`.
    const granted = await readmeRoute({ sessionPrivileges: 'sview:*' });
    const { token } = granted;
    const served = await granted.route.get('alice');
    expect(served.status, served.text).toBe(200);
    const fields = verifyKs(served.json.ks, {
      secrets: ADMIN_SECRET,
      partnerId: PARTNER,
      now: clock.now,
    });
    expect(fields).toMatchObject({
      userId: 'alice',
      type: KsType.USER,
      privileges: `sessionid:${token.id},apptoken:${token.id},sview:*,appid:app.example.com`,
    });
    expect(await worksAtKaltura(served.json.ks)).toBe(true);
  });
});

describe('a token that makes Kaltura issue something else than asked', () => {
  it.each([
    [
      "sessionUserId '0' with view:*,widget:1 (an anonymous widget session, never revocable)",
      { sessionUserId: '0', sessionPrivileges: 'view:*,widget:1,sview:*' },
      'sessionUserId',
    ],
    [
      "sessionUserId 'ceo' (everyone would get ceo's KS)",
      { sessionUserId: 'ceo', sessionPrivileges: 'sview:*' },
      'sessionUserId',
    ],
    [
      'sessionType 2 (an ADMIN KS for a USER request)',
      { sessionType: KsType.ADMIN, sessionPrivileges: 'sview:*' },
      'sessionType',
    ],
  ] as const)(
    '%s: 503 ERR_KS_NOT_GRANTED for every user, the event says what to change',
    async (_, input, field) => {
      const events: KsIssuerEvent[] = [];
      const { route } = await readmeRoute(input as KalturaAppTokenInput, {
        onEvent: (event) => events.push(event),
      });
      for (const user of ['alice', 'bob']) {
        const answer = await route.get(user);
        expect(answer.status).toBe(503);
        expect(answer.json).toEqual({
          error: { code: 'ERR_KS_NOT_GRANTED', message: expect.any(String) },
        });
        expect(answer.json.ks).toBeUndefined();
      }
      const failed = events.find((event) => event.type === 'mint-error') as { error: Error };
      expect(failed.error.message).toContain(field);
      expect(route.engine.issuer.size).toBe(0);
    },
  );
});

describe('credentials that are gone', () => {
  it('after appToken.delete: nothing minted with the token is served; Kaltura is probed slowly, once per partner', async () => {
    const events: KsIssuerEvent[] = [];
    const { route, token } = await readmeRoute(
      { sessionPrivileges: 'sview:*' },
      { onEvent: (event) => events.push(event) },
    );
    const users = Array.from({ length: 10 }, (_, i) => `user-${i}`);
    const first = await route.get('user-0');
    expect(first.status).toBe(200);
    for (const user of users.slice(1)) expect((await route.get(user)).status).toBe(200);

    await admin.appToken.delete(token.id); // revokes every KS the token made, at Kaltura
    expect(await worksAtKaltura(first.json.ks)).toBe(false);
    emulator.resetStats();

    // Until a mint meets the refusal, nothing says the cached KSs died: a new user's mint does.
    const revealed = await route.get('newcomer');
    expect(revealed.status).toBe(503);
    expect(revealed.json.error.code).toBe('ERR_KS_CREDENTIALS');

    // From then on, every user asking every 15 s for 2 hours (the route's engine in process:
    // 4,800 answers): none gets a KS Kaltura refuses.
    const statuses = new Map<string, number>();
    for (let elapsed = 0; elapsed < 2 * HOUR; elapsed += 15_000) {
      clock.advance(15_000);
      for (const user of users) {
        const answer = await answerFor(route, user);
        const body = JSON.parse(answer.body);
        const code: string = body.error?.code ?? String(answer.status);
        statuses.set(code, 1 + (statuses.get(code) ?? 0));
        if (answer.status === 200) expect(await worksAtKaltura(body.ks)).toBe(true);
      }
    }
    expect([...statuses.keys()]).toEqual(['ERR_KS_CREDENTIALS']);
    const attempts = emulator.stats()['appToken.startSession'] ?? 0;
    // 10 s doubling to 2 minutes between probes: about 60 in 2 hours (it was 255 for one user).
    expect(attempts).toBeGreaterThan(5);
    expect(attempts).toBeLessThanOrEqual(2 * 60 + 5);
    expect(events.find((event) => event.type === 'credentials-rejected')).toMatchObject({
      kalturaCode: 'APP_TOKEN_NOT_ACTIVE',
    });
  });

  it('a wrong hash type: with no onEvent, the first failure is logged once, naming INVALID_APP_TOKEN_HASH', async () => {
    const warnings: string[] = [];
    const token = await admin.appToken.add({ hashType: 'SHA256', sessionPrivileges: 'sview:*' });
    const route = await startRoute({
      partnerId: PARTNER,
      serviceUrl: emulator.url,
      appToken: { id: token.id, token: token.token }, // hashType left out: SHA1
      now: clock.now,
      onWarning: (message) => warnings.push(message),
    });
    opened.push(route);
    for (let i = 0; i < 5; i++) {
      expect((await route.get(`user-${i}`)).status).toBe(503);
      clock.advance(60_000);
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('INVALID_APP_TOKEN_HASH');
    expect(warnings[0]).toContain('hashType');
    expect(warnings[0]).not.toContain(token.token);
  });

  it('once they work again, the next probe serves every user', async () => {
    const { route } = await readmeRoute({ sessionPrivileges: 'sview:*' });
    emulator.faults.set({
      service: 'appToken',
      action: 'startSession',
      mode: 'kaltura-error',
      code: 'APP_TOKEN_NOT_ACTIVE',
      args: ['0_x'],
    });
    for (const user of ['a', 'b', 'c']) {
      expect((await route.get(user)).json.error.code).toBe('ERR_KS_CREDENTIALS');
    }
    emulator.faults.clear();
    clock.advance(2 * 60_000); // past the next probe
    for (const user of ['a', 'b', 'c']) expect((await route.get(user)).status).toBe(200);
  });
});
