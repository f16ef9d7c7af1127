import { appTokenHash, KsType, verifyKs } from '@kaltura-ks/core';
import { createKalturaClient } from '@kaltura-ks/core/client';
import { jwtUser } from '@kaltura-ks/core/http';
import { type Emulator, startEmulator } from '@kaltura-ks/emulator';
import type { ExpressKalturaKsOptions } from '@kaltura-ks/express';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAppTokens, httpRequestOnce, type RouteApp, startRoute } from './support.js';

/**
 * Privilege and field injection (spec §6) through every entry point a caller controls:
 * the user id from a JWT claim, privileges from the app's function or a JWT claim, and
 * the `userId` / `sessionPrivileges` / `type` parameters of `appToken.startSession` sent
 * straight to the emulator. The partner signs KS **v1**, where a `;` in a field would
 * shift every later field (`mallory;disableentitlement,edit:*` becoming privileges).
 */

const PARTNER = 5307;
const ADMIN_SECRET = 'injection-admin-secret-5a0c93e1';
const JWT_SECRET = 'injection-jwt-secret-0123456789abcdef01';
const JWT_ISSUER = 'injection-tests';

/** User ids that would change a KS's meaning, or name nobody in particular. */
const HOSTILE_USER_IDS = [
  'mallory;disableentitlement,edit:*',
  'mallory;;;;;;',
  'mallory;1;2;3',
  '*',
  '',
  '0',
  'mallory\n',
  'mallory\u0000',
  'x'.repeat(101),
];
/** Privileges that would smuggle a field or a reserved name in. */
const HOSTILE_PRIVILEGES: unknown[] = [
  'sview:*;disableentitlement',
  'sview:*;;;;;edit:*',
  'edit:*\n',
  '_u:root',
  '_t:2,sview:*',
  { _u: 'root' },
  { edit: '*,disableentitlement' },
  { 'a;b': true },
  { sview: ['0_a', '0_b;edit:*'] },
  { '*': 'x' },
  '*:x',
  ' a b:1',
];

let emulator: Emulator;
let tokens: { open: { id: string; token: string }; fixed: { id: string; token: string } };

beforeAll(async () => {
  emulator = await startEmulator({
    partners: [
      { id: PARTNER, adminSecret: ADMIN_SECRET, userSecret: 'injection-user-secret', ksVersion: 1 },
    ],
  });
  const [open, fixed] = await addAppTokens(emulator.url, PARTNER, ADMIN_SECRET, [
    {},
    { sessionUserId: 'fixed-user', sessionType: KsType.USER, sessionPrivileges: 'sview:0_fixed' },
  ]);
  tokens = { open: open!, fixed: fixed! };
});

afterAll(async () => {
  await emulator?.close();
});

function fields(ks: string) {
  return verifyKs(ks, { secrets: ADMIN_SECRET, partnerId: PARTNER });
}

/** `appToken.startSession` as any HTTP client can send it: no validation on our side. */
async function rawStartSession(
  token: { id: string; token: string },
  params: Record<string, string>,
) {
  const widget = await httpRequestOnce(
    `${emulator.url}/service/session/action/startWidgetSession`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ format: '1', widgetId: `_${PARTNER}` }).toString(),
    },
  );
  const widgetKs: string = widget.json.ks;
  return httpRequestOnce(`${emulator.url}/service/appToken/action/startSession`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      format: '1',
      ks: widgetKs,
      id: token.id,
      tokenHash: appTokenHash(widgetKs, token.token),
      ...params,
    }).toString(),
  });
}

describe('appToken.startSession parameters sent straight to Kaltura (the emulator, KS v1 partner)', () => {
  /** Kaltura's refusal of a field: a value it cannot sign, or a character it does not take. */
  function expectRefused(
    answer: { json: { code?: string; args?: object }; text: string },
    field: string,
  ) {
    expect(['INVALID_FIELD_VALUE', 'INVALID_PARAMETER_CHAR']).toContain(answer.json.code);
    expect(Object.values(answer.json.args ?? {})).toEqual([field]);
    expect(answer.text).not.toContain('"ks"');
  }

  it.each(HOSTILE_USER_IDS.filter((id) => [';', '\n', '\u0000'].some((c) => id.includes(c))))(
    'userId %j is refused, never signed',
    async (userId) => {
      expectRefused(await rawStartSession(tokens.open, { userId }), 'userId');
    },
  );

  it.each(['custom:x;disableentitlement', 'custom:x;;;;;edit:*', 'a b:1', 'custom:\u0001'])(
    'sessionPrivileges %j is refused, never signed',
    async (sessionPrivileges) => {
      expectRefused(
        await rawStartSession(tokens.open, { userId: 'alice', sessionPrivileges }),
        'sessionPrivileges',
      );
    },
  );

  it.each(['sview:*;disableentitlement', 'sview:*;;;;;edit:*', 'edit:*;x'])(
    'sessionPrivileges %j on a server-reserved name is dropped whole: nothing moves',
    async (sessionPrivileges) => {
      const answer = await rawStartSession(tokens.open, { userId: 'alice', sessionPrivileges });
      const signed = fields(answer.json.ks);
      expect(signed.userId).toBe('alice');
      expect(signed.privileges).toBe(`sessionid:${tokens.open.id},apptoken:${tokens.open.id}`);
      expect(signed.masterPartnerId).toBeUndefined();
      expect(signed.additionalData).toBeUndefined();
    },
  );

  it('server-reserved privileges asked by the caller are dropped; the token’s own stay first', async () => {
    const answer = await rawStartSession(tokens.open, {
      userId: 'alice',
      sessionPrivileges:
        'sessionid:0_other,apptoken:0_other, sessionid:0_spaced,list:*,setrole:1,custom:yes',
    });
    expect(answer.json.objectType, answer.text).toBe('KalturaSessionInfo');
    const signed = fields(answer.json.ks);
    expect(signed).toMatchObject({ version: 1, userId: 'alice', type: KsType.USER });
    expect(signed.privileges).toBe(
      `sessionid:${tokens.open.id},apptoken:${tokens.open.id},custom:yes`,
    );
  });

  it('a token’s user, type and privileges win over the caller’s', async () => {
    const answer = await rawStartSession(tokens.fixed, {
      userId: 'root',
      type: '2',
      sessionPrivileges: 'sview:*,edit:*,custom:yes',
    });
    const signed = fields(answer.json.ks);
    expect(signed).toMatchObject({ userId: 'fixed-user', type: KsType.USER });
    // sview is the token's (without *), edit is server-reserved: neither is the caller's to set.
    expect(signed.privileges).toBe(
      `sessionid:${tokens.fixed.id},apptoken:${tokens.fixed.id},sview:0_fixed,custom:yes`,
    );
  });

  it('our client refuses the same fields before anything is sent', async () => {
    const client = createKalturaClient({ serviceUrl: emulator.url, partnerId: PARTNER });
    const before = emulator.stats().total;
    try {
      for (const userId of ['mallory;disableentitlement,edit:*', 'mallory\n', '*']) {
        await expect(
          client.startAppTokenSession({
            appTokenId: tokens.open.id,
            appTokenValue: tokens.open.token,
            userId,
          }),
        ).rejects.toMatchObject({ code: 'ERR_KS_INVALID_FIELD' });
      }
      await expect(
        client.startAppTokenSession({
          appTokenId: tokens.open.id,
          appTokenValue: tokens.open.token,
          userId: 'alice',
          privileges: 'sview:*;disableentitlement',
        }),
      ).rejects.toMatchObject({ code: 'ERR_KS_INVALID_FIELD' });
      expect(emulator.stats().total).toBe(before);
    } finally {
      await client.close();
    }
  });
});

const sign = (claims: Record<string, unknown>) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(JWT_ISSUER)
    .setAudience(JWT_ISSUER)
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(JWT_SECRET));

const WAYS: { name: string; options: () => Partial<ExpressKalturaKsOptions> }[] = [
  { name: 'local KS v1', options: () => ({ adminSecret: ADMIN_SECRET, ksVersion: 1 }) },
  {
    name: 'an app token on a KS v1 partner',
    options: () => ({ serviceUrl: emulator.url, appToken: tokens.open }),
  },
];

describe.each(WAYS)('the route, minting with $name', (way) => {
  let route: RouteApp;
  let computed: unknown;
  beforeAll(async () => {
    route = await startRoute({
      partnerId: PARTNER,
      ...way.options(),
      getUser: jwtUser({
        secret: JWT_SECRET,
        issuer: JWT_ISSUER,
        audience: JWT_ISSUER,
        privilegesClaim: 'kp',
      }),
      privileges: () => computed as never,
    });
  });
  afterAll(() => route.close());

  const get = async (claims: Record<string, unknown>) =>
    route.get(undefined, { authorization: `Bearer ${await sign(claims)}` });

  it('a well-formed user gets exactly their KS (the baseline)', async () => {
    computed = { category: 'news' };
    const answer = await get({ sub: 'alice', kp: 'appid:tests' });
    expect(answer.status, answer.text).toBe(200);
    const signed = fields(answer.json.ks);
    expect(signed.userId).toBe('alice');
    expect(signed.privileges).toMatch(/(^|,)category:news,appid:tests$/);
  });

  it.each(HOSTILE_USER_IDS)('user id %j from the JWT: 400, nothing minted', async (sub) => {
    computed = undefined;
    const mints = emulator.stats()['appToken.startSession'] ?? 0;
    const answer = await get({ sub });
    expect(answer.status, answer.text).toBe(400);
    expect(answer.json.error.code).toBe('ERR_KS_INVALID_FIELD');
    expect(answer.text).not.toContain('"ks"');
    expect(emulator.stats()['appToken.startSession'] ?? 0).toBe(mints);
  });

  it.each(HOSTILE_PRIVILEGES)(
    'privileges %j from the app’s function: no KS',
    async (privileges) => {
      computed = privileges;
      const answer = await get({ sub: 'alice' });
      expect([400, 500]).toContain(answer.status);
      expect(answer.json.error.code).toMatch(/^ERR_KS_INVALID_(FIELD|OPTION)$/);
      expect(answer.text).not.toContain('"ks"');
    },
  );

  it.each(HOSTILE_PRIVILEGES)('privileges %j from a JWT claim: no KS', async (kp) => {
    computed = undefined;
    const answer = await get({ sub: 'alice', kp });
    expect([400, 500]).toContain(answer.status);
    expect(answer.json.error.code).toMatch(/^ERR_KS_INVALID_(FIELD|OPTION)$/);
    expect(answer.text).not.toContain('"ks"');
  });
});
