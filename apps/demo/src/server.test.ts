import { verifyKs } from '@kaltura-ks/core';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { prepareKaltura } from './kaltura.js';
import { createDemoApp, PLAYER_SCRIPT, SESSION_COOKIE } from './server.js';

const ADMIN_SECRET = 'demo-test-admin-secret-000000000000';
const PARTNER = 777;
const assets = { html: '<!doctype html><title>demo</title>', js: 'void 0', css: '' };

function demo(
  overrides: Partial<Parameters<typeof createDemoApp>[0]['config']> = {},
  now?: () => number,
) {
  const logs: string[] = [];
  const app = createDemoApp({
    now,
    config: { ...loadConfig({}), expiresInSeconds: 60, ...overrides },
    kaltura: {
      issuerOptions: { partnerId: PARTNER, adminSecret: ADMIN_SECRET },
      verifySecrets: [ADMIN_SECRET],
      description: {
        backend: 'emulator',
        partnerId: PARTNER,
        strategy: 'local',
        serviceUrl: 'http://127.0.0.1:1/api_v3',
      },
    },
    assets,
    log: (line) => logs.push(line),
  });
  return { ...app, logs, http: request.agent(app.app) };
}

function cookieOf(res: request.Response): string {
  const set = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  return set.find((c) => c.startsWith(`${SESSION_COOKIE}=`)) ?? '';
}

describe('the demo server', () => {
  it('serves the page with a strict content security policy', async () => {
    const { http } = demo();
    const res = await http.get('/');
    expect(res.status).toBe(200);
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect((await http.get('/app.js')).headers['content-type']).toContain('javascript');
  });

  it('signs a user in with a signed, HttpOnly, SameSite cookie, and /api/me knows them', async () => {
    const { http } = demo();
    const login = await http
      .post('/login')
      .type('form')
      .set('accept', 'application/json')
      .send({ user: 'alice' });
    expect(login.status).toBe(200);
    const cookie = cookieOf(login);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect((await http.get('/api/me')).body.user).toEqual({ id: 'alice' });
  });

  it('redirects a browser form post back to the page', async () => {
    const { http } = demo();
    const res = await http.post('/login').type('form').send({ user: 'bob' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
  });

  it('gives each user their own least-privilege KS on the route', async () => {
    const a = demo({ entryId: '1_abcd1234' });
    await a.http.post('/login').type('form').send({ user: 'alice' });
    const b = request.agent(a.app);
    await b.post('/login').type('form').send({ user: 'bob' });
    const ksA = (await a.http.get('/kaltura/ks')).body;
    const ksB = (await b.get('/kaltura/ks')).body;
    expect(ksA.ks).not.toBe(ksB.ks);
    expect(verifyKs(ksA.ks, { secrets: ADMIN_SECRET, partnerId: PARTNER })).toMatchObject({
      userId: 'alice',
      type: 0,
      privileges: 'sview:1_abcd1234,appid:kaltura-ks-demo',
    });
    expect(verifyKs(ksB.ks, { secrets: ADMIN_SECRET, partnerId: PARTNER }).userId).toBe('bob');
    expect(ksA.expiresAt - ksA.serverTime).toBeLessThanOrEqual(60_000);
  });

  it("plays the emulator's first sample by default, and the KS may view that entry only", async () => {
    const { http } = demo();
    await http.post('/login').type('form').send({ user: 'alice' });
    const { ks } = (await http.get('/kaltura/ks')).body;
    expect(verifyKs(ks, { secrets: ADMIN_SECRET, partnerId: PARTNER }).privileges).toBe(
      'sview:0_emu00001,appid:kaltura-ks-demo',
    );
    const me = (await http.get('/api/me')).body;
    expect(me.player).toEqual({
      kind: 'emulator',
      partnerId: PARTNER,
      entryId: '0_emu00001',
      script: PLAYER_SCRIPT,
      serviceUrl: 'http://127.0.0.1:1/api_v3',
      cdnUrl: 'http://127.0.0.1:1',
    });
    expect(me.clientTiming).toEqual({ minRenewIntervalMs: 10_000, minRemainingMs: 10_000 });
  });

  it('serves the Kaltura Player from its npm package, and lets the page reach the emulator only', async () => {
    const { http } = demo();
    const script = await http.get(PLAYER_SCRIPT);
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toContain('javascript');
    expect(script.text).toContain('KalturaPlayer');
    const csp = (await http.get('/')).headers['content-security-policy'] as string;
    for (const directive of ['connect-src', 'media-src', 'img-src'])
      expect(csp).toMatch(new RegExp(`${directive} [^;]*http://127\\.0\\.0\\.1:1(;|$)`));
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("worker-src 'self' blob:");
    expect(csp).not.toContain('kaltura.com');
  });

  it('scales the browser client’s floors down for KSs shorter than a minute', async () => {
    const { http } = demo({ expiresInSeconds: 12 });
    expect((await http.get('/api/me')).body.clientTiming).toEqual({
      minRenewIntervalMs: 2_000,
      minRemainingMs: 2_000,
    });
  });

  it('answers 401 on the route when nobody is signed in', async () => {
    const { http } = demo();
    const res = await http.get('/kaltura/ks');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('ERR_KS_NO_USER');
  });

  it('signs out: the cookie is cleared and the user KS is dropped from the cache', async () => {
    const { http, engine } = demo();
    await http.post('/login').type('form').send({ user: 'carol' });
    const first = (await http.get('/kaltura/ks')).body.ks;
    expect(engine.issuer.size).toBe(1);
    const out = await http.post('/logout').set('accept', 'application/json');
    expect(out.status).toBe(200);
    expect(cookieOf(out)).toMatch(/Expires=Thu, 01 Jan 1970/);
    expect(engine.issuer.size).toBe(0);
    expect((await http.get('/kaltura/ks')).status).toBe(401);
    await http.post('/login').type('form').send({ user: 'carol' });
    expect((await http.get('/kaltura/ks')).body.ks).not.toBe(first);
  });

  it.each([
    ['an empty name', { user: '   ' }],
    ['no field at all', {}],
    ['a name with ";" (a KS v1 field separator)', { user: 'mallory;edit:*' }],
    ['a control character', { user: 'a\u0000b' }],
    ['a name longer than 64 characters', { user: 'x'.repeat(65) }],
    ['a wildcard', { user: '*' }],
  ])('refuses bad form input: %s (400, no cookie)', async (_, body) => {
    const { http } = demo();
    const res = await http.post('/login').type('form').set('accept', 'application/json').send(body);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toEqual(expect.any(String));
    expect(cookieOf(res)).toBe('');
  });

  it('refuses a JSON or oversized body on the login form', async () => {
    const { http } = demo();
    expect((await http.post('/login').send({ user: 'alice' })).status).toBe(400);
    const big = await http
      .post('/login')
      .type('form')
      .send(`user=${'a'.repeat(5000)}`);
    expect(big.status).toBe(413);
    expect(big.text).not.toMatch(/at .*\.ts/);
  });

  it('refuses sign-in posted from another site', async () => {
    const { http } = demo();
    const res = await http
      .post('/login')
      .type('form')
      .set('origin', 'https://evil.example')
      .send({ user: 'alice' });
    expect(res.status).toBe(403);
    expect(cookieOf(res)).toBe('');
  });

  it('decodes only the signed-in user’s own KS', async () => {
    const { http } = demo();
    await http.post('/login').type('form').send({ user: 'dave' });
    const ks = (await http.get('/kaltura/ks')).body.ks;
    const mine = await http.post('/api/ks/inspect').send({ ks });
    expect(mine.body).toMatchObject({
      verified: true,
      userId: 'dave',
      partnerId: PARTNER,
      type: 0,
      version: 2,
    });
    expect(mine.body).not.toHaveProperty('hash');
    const erin = request.agent(demo().app);
    await erin.post('/login').type('form').send({ user: 'erin' });
    const theirs = await http
      .post('/api/ks/inspect')
      .send({ ks: (await erin.get('/kaltura/ks')).body.ks });
    expect(theirs.status).toBeGreaterThanOrEqual(400);
    expect((await request(demo().app).post('/api/ks/inspect').send({ ks })).status).toBe(401);
  });

  it('shows the issuer’s counters at /metrics, in Prometheus text, without a KS or a user', async () => {
    const { http } = demo();
    await http.post('/login').type('form').send({ user: 'metrics-user' });
    const { ks } = (await http.get('/kaltura/ks')).body;
    await http.get('/kaltura/ks');
    const res = await http.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    /** The value of the one sample of `name` whose labels include `labels`. */
    const sample = (name: string, labels: Record<string, string>) => {
      const found = res.text
        .split('\n')
        .filter((line) => line.startsWith(`${name}{`))
        .filter((line) =>
          Object.entries(labels).every(([label, value]) => line.includes(`${label}="${value}"`)),
        );
      expect(found, name).toHaveLength(1);
      return Number(found[0]!.split(' ').at(-1));
    };
    expect(sample('kaltura_ks_issuer_requests_total', { kaltura_ks_request_outcome: 'miss' })).toBe(
      1,
    );
    expect(sample('kaltura_ks_issuer_requests_total', { kaltura_ks_request_outcome: 'hit' })).toBe(
      1,
    );
    const mint = { kaltura_ks_issuer_kind: 'local', kaltura_ks_mint_outcome: 'success' };
    expect(sample('kaltura_ks_issuer_mints_total', mint)).toBe(1);
    expect(sample('kaltura_ks_issuer_mint_duration_count', mint)).toBe(1);
    expect(sample('kaltura_ks_issuer_cache_size', { kaltura_ks_partner_id: String(PARTNER) })).toBe(
      1,
    );
    expect(res.text).not.toContain(ks);
    expect(res.text).not.toContain('metrics-user');
    expect(res.text).not.toContain(ADMIN_SECRET);
  });

  it('never sends the admin secret to the page', async () => {
    const { http } = demo();
    await http.post('/login').type('form').send({ user: 'frank' });
    for (const path of ['/', '/app.js', '/api/me', '/kaltura/ks']) {
      expect((await http.get(path)).text).not.toContain(ADMIN_SECRET);
    }
  });
});

describe('the demo on an injected clock', () => {
  // Years from the wall clock: a check made against the real time cannot pass by chance.
  const START = Date.UTC(2001, 0, 1);
  const SESSION_MS = 8 * 3600 * 1000;

  it('the sign-in cookie is checked on that clock: valid for 8 hours of it, then not', async () => {
    let t = START;
    const { http } = demo({}, () => t);
    await http.post('/login').type('form').send({ user: 'heidi' });
    const first = await http.get('/kaltura/ks');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ userId: 'heidi', serverTime: START });
    expect(first.body.expiresAt).toBe(START + 60_000);
    expect((await http.get('/api/me')).body.user).toEqual({ id: 'heidi' });

    t = START + SESSION_MS - 60_000;
    expect((await http.get('/kaltura/ks')).status).toBe(200);
    t = START + SESSION_MS + 5_000; // past exp and jwtUser's 5 s of tolerance
    const expired = await http.get('/kaltura/ks');
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe('ERR_KS_NO_USER');
    expect((await http.get('/api/me')).body.user).toBeNull();
  });

  it('prepareKaltura runs the emulator on it too: app-token sessions expire on that clock', async () => {
    let t = START;
    const now = () => t;
    const kaltura = await prepareKaltura(loadConfig({ KS_STRATEGY: 'app-token' }), { now });
    const app = createDemoApp({
      config: { ...loadConfig({}), expiresInSeconds: 60 },
      kaltura: kaltura.setup,
      assets,
      now,
    });
    try {
      const http = request.agent(app.app);
      await http.post('/login').type('form').send({ user: 'ivan' });
      const body = (await http.get('/kaltura/ks')).body;
      expect(body.serverTime).toBe(START);
      // On this server's clock: validUntil less Kaltura's clock offset, which system.getTime
      // gives in whole seconds (rounded up, so never later than the real expiry).
      expect(body.expiresAt).toBe(START + 59_000);
      const partner = kaltura.emulator!.partners[0]!;
      const fields = verifyKs(body.ks, {
        secrets: partner.adminSecret,
        partnerId: partner.id,
        now,
      });
      expect(fields.validUntil).toBe(START / 1000 + 60);
      t = START + 61_000;
      expect(() =>
        verifyKs(body.ks, { secrets: partner.adminSecret, partnerId: partner.id, now }),
      ).toThrow(expect.objectContaining({ code: 'ERR_KS_EXPIRED' }));
    } finally {
      await app.close();
      await kaltura.close();
    }
  });
});

describe('the demo on the embedded emulator, minting through an app token it creates', () => {
  const prepared = prepareKaltura(loadConfig({ KS_STRATEGY: 'app-token' }));
  afterAll(async () => (await prepared).close());

  it('issues app-token sessions and ends them at the emulator on sign-out', async () => {
    const kaltura = await prepared;
    const app = createDemoApp({
      config: { ...loadConfig({}), expiresInSeconds: 60 },
      kaltura: kaltura.setup,
      assets,
    });
    const http = request.agent(app.app);
    await http.post('/login').type('form').send({ user: 'grace' });
    const body = (await http.get('/kaltura/ks')).body;
    const partner = kaltura.emulator!.partners[0]!;
    const fields = verifyKs(body.ks, { secrets: partner.adminSecret, partnerId: partner.id });
    expect(fields.userId).toBe('grace');
    expect(fields.privileges).toMatch(
      /^sessionid:[^,]+,apptoken:[^,]+,sview:0_emu00001,appid:kaltura-ks-demo$/,
    );
    expect(kaltura.emulator!.stats()['appToken.startSession']).toBe(1);
    await http.post('/logout');
    expect(kaltura.emulator!.stats()['session.end']).toBe(1);
    expect(JSON.stringify(await http.get('/api/me').then((r) => r.body))).not.toContain(
      partner.adminSecret,
    );
    await app.close();
  });
});
