import type { Server } from 'node:http';
import { KsType, verifyKs } from '@kaltura-ks/core';
import { type HasHeaders, jwtUser, type KalturaKsOptions } from '@kaltura-ks/core/http';
import { type KsIssuerEvent, type KsMinter, localMinter } from '@kaltura-ks/core/issuer';
import { SignJWT } from 'jose';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { appTokenOverrideContract } from './app-token-override.js';
import { type AdapterHarness, headerUser } from './harness.js';
import { remoteMintContract } from './remote-contract.js';

export type { AdapterHarness } from './harness.js';

export const CONTRACT_SECRET = 'contract-admin-secret-0123456789abcdef';
export const CONTRACT_PARTNER = 101;
const START = 1_800_000_000_000;

function setup<Req extends HasHeaders>(
  harness: AdapterHarness<Req>,
  overrides: Partial<KalturaKsOptions<HasHeaders>> = {},
) {
  let t = START;
  const now = () => t;
  const events: KsIssuerEvent[] = [];
  const warnings: string[] = [];
  let failing = false;
  /** KSs that "Kaltura" refuses (as after `session.end`), and every KS it was asked about. */
  const refused = new Set<string>();
  const asked: string[] = [];
  const local = localMinter({
    partnerId: CONTRACT_PARTNER,
    adminSecret: CONTRACT_SECRET,
    version: 2,
    now,
  });
  let mints = 0;
  const minter: KsMinter = {
    kind: 'local',
    async mint(req, signal) {
      mints++;
      if (failing) throw new Error(`Kaltura is down (secret ${CONTRACT_SECRET} must never leak)`);
      return local.mint(req, signal);
    },
    async accepts(session) {
      asked.push(session.ks);
      return !refused.has(session.ks);
    },
  };
  const app = harness.createApp({
    partnerId: CONTRACT_PARTNER,
    minter,
    getUser: headerUser(),
    now,
    onEvent: (e) => events.push(e),
    onWarning: (m) => warnings.push(m),
    ...overrides,
  });
  return {
    http: request(app.target as Server),
    events,
    warnings,
    advance: (ms: number) => {
      t += ms;
    },
    now,
    mints: () => mints,
    fail: (value: boolean) => {
      failing = value;
    },
    refuse: (ks: string) => refused.add(ks),
    asked,
  };
}

const REJECTED = 'X-Kaltura-Rejected-Ks';

function verify(ks: string, now: () => number) {
  return verifyKs(ks, { secrets: CONTRACT_SECRET, partnerId: CONTRACT_PARTNER, now });
}

/** The behaviour every framework adapter must show, run against real HTTP through supertest. */
export function adapterContract<Req extends HasHeaders>(harness: AdapterHarness<Req>): void {
  describe(`${harness.name}: the KS route`, () => {
    it('answers a signed-in user with JSON and a KS that verifies with exactly the intended fields', async () => {
      const { http, now } = setup(harness, {
        appId: 'app.example.com',
        privileges: { sview: '*' },
      });
      const res = await http.get('/kaltura/ks').set('x-test-user', 'alice@example.com');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers.vary).toBe('Cookie, Authorization');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.text.startsWith('{')).toBe(true); // an object literal cannot run as a script
      expect(res.body).toEqual({
        ks: expect.any(String),
        partnerId: CONTRACT_PARTNER,
        userId: 'alice@example.com',
        type: KsType.USER,
        privileges: 'sview:*,appid:app.example.com',
        expiresAt: START + 3_600_000,
        // minForcedRefreshIntervalMs (10 s by default) after the mint.
        renewableAt: START + 10_000,
        serverTime: START,
      });
      expect(verify(res.body.ks, now)).toMatchObject({
        userId: 'alice@example.com',
        type: 0,
        privileges: 'sview:*,appid:app.example.com',
      });
    });

    it('answers 401 with a stable code when nobody is signed in, and mints nothing', async () => {
      const { http, mints } = setup(harness);
      const res = await http.get('/kaltura/ks');
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: { code: 'ERR_KS_NO_USER', message: expect.any(String) } });
      expect(res.headers['cache-control']).toBe('no-store');
      expect(mints()).toBe(0);
    });

    it('answers 503 with a stable code while Kaltura fails, never leaking a secret or a stack', async () => {
      const { http, fail } = setup(harness);
      fail(true);
      const res = await http.get('/kaltura/ks').set('x-test-user', 'bob');
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('ERR_KS_UNAVAILABLE');
      expect(res.headers['retry-after']).toBe('5');
      expect(res.text).not.toContain(CONTRACT_SECRET);
      expect(res.text).not.toMatch(/\bat .*\.ts:\d+/);
    });

    it('keeps serving a still-valid KS while Kaltura fails, and recovers after', async () => {
      const { http, fail, advance } = setup(harness);
      const first = await http.get('/api/ks').set('x-test-user', 'carol');
      fail(true);
      advance(3_000_000); // inside the renewal window
      const during = await http.get('/api/ks').set('x-test-user', 'carol');
      expect(during.body.ks).toBe(first.body.ks);
      fail(false);
      advance(120_000);
      const after = await http.get('/kaltura/ks').set('x-test-user', 'carol');
      expect(after.status).toBe(200);
      expect(after.body.ks).not.toBe(first.body.ks);
    });

    it('refuses a user id or privileges that could inject a field, with 400 and a code', async () => {
      const injected = setup(harness);
      const res = await injected.http
        .get('/kaltura/ks')
        .set('x-test-user', 'mallory;disableentitlement,edit:*');
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('ERR_KS_INVALID_FIELD');
      const byFunction = setup(harness, { privileges: () => 'sview:*;edit:*' });
      const res2 = await byFunction.http.get('/kaltura/ks').set('x-test-user', 'dave');
      expect(res2.status).toBe(400);
      expect(res2.body.error.code).toBe('ERR_KS_INVALID_FIELD');
      expect(injected.mints() + byFunction.mints()).toBe(0);
    });

    it('never sends an ADMIN KS to a browser unless allowed, and then warns once', async () => {
      const refused = setup(harness, { getUser: headerUser({ type: KsType.ADMIN }) });
      const res = await refused.http.get('/kaltura/ks').set('x-test-user', 'admin');
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('ERR_KS_FORBIDDEN');
      expect(refused.warnings).toHaveLength(0);
      const allowed = setup(harness, {
        getUser: headerUser({ type: KsType.ADMIN }),
        allowAdminKs: true,
      });
      const ok = await allowed.http.get('/kaltura/ks').set('x-test-user', 'admin');
      await allowed.http.get('/kaltura/ks').set('x-test-user', 'admin');
      expect(ok.status).toBe(200);
      expect(ok.body.type).toBe(KsType.ADMIN);
      expect(allowed.warnings).toHaveLength(1);
    });

    it('refuses cross-site requests (fetch metadata) but serves same-origin ones', async () => {
      const { http } = setup(harness);
      const cross = await http
        .get('/kaltura/ks')
        .set('x-test-user', 'erin')
        .set('sec-fetch-site', 'cross-site')
        .set('origin', 'https://evil.example');
      expect(cross.status).toBe(403);
      expect(cross.headers['access-control-allow-origin']).toBeUndefined();
      const same = await http
        .get('/kaltura/ks')
        .set('x-test-user', 'erin')
        .set('sec-fetch-site', 'same-origin');
      expect(same.status).toBe(200);
    });

    it('DELETE drops the user’s cached KS (logout); POST is not allowed', async () => {
      const { http } = setup(harness);
      const first = await http.get('/kaltura/ks').set('x-test-user', 'frank');
      expect((await http.delete('/kaltura/ks').set('x-test-user', 'frank')).status).toBe(204);
      const second = await http.get('/kaltura/ks').set('x-test-user', 'frank');
      expect(second.body.ks).not.toBe(first.body.ks);
      const post = await http.post('/kaltura/ks').set('x-test-user', 'frank');
      expect(post.status).toBe(405);
      expect(post.headers.allow).toBe('GET, DELETE');
    });

    it('renew=1 mints a new KS, but not more often than the minimum interval', async () => {
      const { http, advance } = setup(harness);
      const first = await http.get('/kaltura/ks').set('x-test-user', 'gina');
      const tooSoon = await http.get('/kaltura/ks?renew=1').set('x-test-user', 'gina');
      expect(tooSoon.body.ks).toBe(first.body.ks);
      advance(10_000);
      const renewed = await http.get('/kaltura/ks?renew=1').set('x-test-user', 'gina');
      expect(renewed.body.ks).not.toBe(first.body.ks);
    });

    it('renew is read by one rule in every adapter: renew=1 among other parameters, encoded or not', async () => {
      const { http, advance } = setup(harness);
      const first = await http.get('/kaltura/ks').set('x-test-user', 'hugo');
      advance(10_000);
      const kept = await http.get('/kaltura/ks?renew=true').set('x-test-user', 'hugo');
      expect(kept.body.ks).toBe(first.body.ks);
      const renewed = await http.get('/kaltura/ks?x=1&renew=%31').set('x-test-user', 'hugo');
      expect(renewed.body.ks).not.toBe(first.body.ks);
    });

    it('a reported KS that Kaltura refuses is replaced at once; one it accepts is kept', async () => {
      const { http, refuse, asked, advance } = setup(harness);
      const first = await http.get('/kaltura/ks').set('x-test-user', 'ola');
      const kept = await http
        .get('/kaltura/ks')
        .set('x-test-user', 'ola')
        .set(REJECTED, first.body.ks);
      expect(kept.status).toBe(200);
      expect(kept.body.ks).toBe(first.body.ks);
      refuse(first.body.ks);
      advance(10_000); // one check per KS every minForcedRefreshIntervalMs
      const replaced = await http
        .get('/kaltura/ks')
        .set('x-test-user', 'ola')
        .set(REJECTED, first.body.ks);
      expect(replaced.status).toBe(200);
      expect(replaced.body.ks).not.toBe(first.body.ks);
      expect(replaced.body.userId).toBe('ola');
      expect((await http.get('/kaltura/ks').set('x-test-user', 'ola')).body.ks).toBe(
        replaced.body.ks,
      );
      expect(asked).toEqual([first.body.ks, first.body.ks]);
    });

    it('a report of a KS that is not the user’s own current one changes nothing and asks nothing', async () => {
      const { http, refuse, asked } = setup(harness);
      const alice = await http.get('/kaltura/ks').set('x-test-user', 'pia');
      const bob = await http.get('/kaltura/ks').set('x-test-user', 'quinn');
      refuse(alice.body.ks);
      const res = await http
        .get('/kaltura/ks')
        .set('x-test-user', 'quinn')
        .set(REJECTED, alice.body.ks);
      expect(res.status).toBe(200);
      expect(res.body.ks).toBe(bob.body.ks);
      expect((await http.get('/kaltura/ks').set('x-test-user', 'pia')).body.ks).toBe(alice.body.ks);
      expect(asked).toEqual([]);
    });

    it('refuses a report header that cannot hold a KS, with 400 and without echoing it', async () => {
      const { http, mints } = setup(harness);
      // Two headers arrive joined with ", ".
      for (const bad of ['<script>x</script>', 'a b', 'djJ8MTAx, djJ8MTAy']) {
        const res = await http.get('/kaltura/ks').set('x-test-user', 'rosa').set(REJECTED, bad);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('ERR_KS_INVALID_FIELD');
        expect(res.text).not.toContain(bad.slice(0, 20));
      }
      expect(mints()).toBe(0);
    });

    it('500 concurrent requests for one user cause exactly one mint and one KS', async () => {
      const { http, events } = setup(harness);
      const responses = await Promise.all(
        Array.from({ length: 500 }, () => http.get('/kaltura/ks').set('x-test-user', 'henry')),
      );
      expect(responses.every((r) => r.status === 200)).toBe(true);
      expect(new Set(responses.map((r) => r.body.ks)).size).toBe(1);
      expect(events.filter((e) => e.type === 'mint')).toHaveLength(1);
    });

    it('different users get different KSs', async () => {
      const { http, now } = setup(harness);
      const a = await http.get('/kaltura/ks').set('x-test-user', 'ivan');
      const b = await http.get('/kaltura/ks').set('x-test-user', 'judy');
      expect(a.body.ks).not.toBe(b.body.ks);
      expect(verify(a.body.ks, now).userId).toBe('ivan');
      expect(verify(b.body.ks, now).userId).toBe('judy');
    });

    it('reads the user from a JWT (jwtUser): a Bearer token or the cookie; a bad one gets 401', async () => {
      const jwtSecret = 'contract-jwt-secret-of-at-least-32-bytes';
      const { http, now } = setup(harness, {
        getUser: jwtUser({
          secret: jwtSecret,
          issuer: 'https://app.example.com',
          audience: 'web',
          cookie: 'session',
          now: () => START,
        }),
      });
      const sign = (sub: string, secret = jwtSecret) =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject(sub)
          .setIssuer('https://app.example.com')
          .setAudience('web')
          .setExpirationTime(START / 1000 + 600)
          .sign(new TextEncoder().encode(secret));
      const bearer = await http
        .get('/kaltura/ks')
        .set('authorization', `Bearer ${await sign('nina')}`);
      expect(bearer.status).toBe(200);
      expect(verify(bearer.body.ks, now).userId).toBe('nina');
      const cookie = await http.get('/kaltura/ks').set('cookie', `session=${await sign('omar')}`);
      expect(cookie.status).toBe(200);
      expect(verify(cookie.body.ks, now).userId).toBe('omar');
      const forged = await http
        .get('/kaltura/ks')
        .set(
          'authorization',
          `Bearer ${await sign('nina', 'another-secret-of-at-least-32-bytes!')}`,
        );
      expect(forged.status).toBe(401);
      expect(forged.body.error.code).toBe('ERR_KS_NO_USER');
    });

    it('mounts on another path, or none', async () => {
      const custom = setup(harness, { route: '/api/kaltura-session' });
      expect((await custom.http.get('/api/kaltura-session').set('x-test-user', 'k')).status).toBe(
        200,
      );
      expect((await custom.http.get('/kaltura/ks').set('x-test-user', 'k')).status).toBe(404);
      const none = setup(harness, { route: false });
      expect((await none.http.get('/kaltura/ks').set('x-test-user', 'k')).status).toBe(404);
    });
  });

  describe(`${harness.name}: the request context`, () => {
    it('is lazy: a request that does not ask mints nothing', async () => {
      const { http, mints } = setup(harness);
      expect((await http.get('/static').set('x-test-user', 'lazy')).text).toBe('static');
      expect(mints()).toBe(0);
      const res = await http.get('/api/ks').set('x-test-user', 'lazy');
      expect(res.body.userId).toBe('lazy');
      expect(mints()).toBe(1);
    });

    it('exposes the user and shares the cache with the route', async () => {
      const { http } = setup(harness);
      expect((await http.get('/api/user').set('x-test-user', 'mia')).body).toEqual({
        user: { id: 'mia' },
      });
      expect((await http.get('/api/user')).body).toEqual({ user: null });
      const server = await http.get('/api/ks').set('x-test-user', 'mia');
      const route = await http.get('/kaltura/ks').set('x-test-user', 'mia');
      expect(route.body.ks).toBe(server.body.ks);
    });

    it('sends typed errors to the framework error path', async () => {
      const { http } = setup(harness);
      const res = await http.get('/api/ks');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: 'ERR_KS_NO_USER' });
    });

    it('validates options when the middleware is created, naming the option', async () => {
      const base = {
        partnerId: CONTRACT_PARTNER,
        adminSecret: CONTRACT_SECRET,
        getUser: () => null,
      };
      for (const [bad, name] of [
        [{ getUser: undefined }, 'getUser'],
        [{ route: 'kaltura' }, 'route'],
        [{ adminSecret: undefined }, 'way to mint'],
        [{ privileges: 'sview:*;edit:*' }, 'Privilege'],
        [{ appId: '' }, 'appId'],
        [{ expiresInSeconds: 0 }, 'expiresInSeconds'],
      ] as const) {
        // Thrown when created, or (Fastify) a rejection when registered.
        await expect(
          (async () =>
            harness.kalturaKs({ ...base, ...bad } as unknown as KalturaKsOptions<Req>))(),
        ).rejects.toEqual(
          expect.objectContaining({
            code: expect.stringMatching(/^ERR_KS_INVALID_(OPTION|FIELD)$/),
            message: expect.stringContaining(name),
          }),
        );
      }
    });
  });

  // The ways that mint at Kaltura, against the emulator on loopback.
  remoteMintContract(harness);
  appTokenOverrideContract(harness);
}
