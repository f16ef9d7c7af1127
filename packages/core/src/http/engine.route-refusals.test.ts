import { describe, expect, it, vi } from 'vitest';
import { KsError } from '../errors.js';
import { createKsIssuer, type KsIssuer } from '../issuer/issuer.js';
import type { KsMinter } from '../issuer/minter.js';
import { signKs } from '../ks/create.js';
import { KsType } from '../ks/types.js';
import { verifyKs } from '../ks/verify.js';
import { createKsEngine } from './engine.js';
import type { KalturaKsOptions, KsHttpResponse, KsUser } from './types.js';

/**
 * What the KS route refuses, and that a refusal costs nothing: no KS is minted for a
 * request the route will not answer with one.
 */

const PARTNER = 4242;
const SECRET = 'engine-refusals-admin-secret-0123456789';
const GET = { method: 'GET', headers: {} };

type Options = Partial<KalturaKsOptions<object>>;

/** A minter that signs locally and counts, so a test can tell whether anything was minted. */
function countingMinter(
  minted: { userId: string; type: number; privileges: string }[],
  forceType?: number,
  now: () => number = Date.now,
): KsMinter & { closed: boolean } {
  return {
    kind: 'counting',
    closed: false,
    async close() {
      this.closed = true;
    },
    async mint(request) {
      minted.push({ userId: request.userId, type: request.type, privileges: request.privileges });
      const type = (forceType ?? request.type) as KsType;
      const issuedAt = now();
      const { ks, validUntil } = signKs({
        now,
        secret: SECRET,
        partnerId: PARTNER,
        userId: request.userId,
        type,
        privileges: request.privileges,
        expiresInSeconds: request.expiresInSeconds,
      });
      return {
        ks,
        partnerId: PARTNER,
        userId: request.userId,
        type,
        privileges: request.privileges,
        expiresAt: validUntil * 1000,
        issuedAt,
      };
    },
  };
}

/** An engine over a counting minter. */
function setup(getUser: KalturaKsOptions<object>['getUser'], options: Options = {}) {
  const minted: { userId: string; type: number; privileges: string }[] = [];
  const minter = countingMinter(minted, undefined, options.now ?? Date.now);
  const warnings: string[] = [];
  const engine = createKsEngine<object>({
    partnerId: PARTNER,
    minter,
    getUser,
    onWarning: (message) => warnings.push(message),
    ...options,
  } as KalturaKsOptions<object>);
  const respond = async (
    request: { method: string; headers: Record<string, string>; renew?: boolean } = GET,
  ) => engine.respond({}, await engine.context({}), request);
  const body = (answer: KsHttpResponse) => JSON.parse(answer.body) as Record<string, unknown>;
  return { engine, minted, warnings, respond, body, minter };
}

describe('the route refuses an ADMIN user before anything is minted', () => {
  it('answers 403 ERR_KS_FORBIDDEN to a user whose type is ADMIN, and mints nothing', async () => {
    const { respond, minted, body } = setup(() => ({ id: 'root', type: KsType.ADMIN }));
    const answer = await respond();
    expect(answer.status).toBe(403);
    expect(body(answer)).toEqual({
      error: {
        code: 'ERR_KS_FORBIDDEN',
        message: 'An ADMIN KS is not sent to a browser (see allowAdminKs)',
      },
    });
    expect(minted).toEqual([]);
  });

  it('with allowAdminKs, mints the ADMIN KS, answers it, and warned once at creation', async () => {
    const { respond, minted, body, warnings } = setup(() => ({ id: 'root', type: KsType.ADMIN }), {
      allowAdminKs: true,
    });
    expect(warnings).toEqual([
      'kaltura-ks: allowAdminKs is on, so ADMIN sessions can be sent to browsers. Prefer USER sessions with the privileges they need.',
    ]);
    const answer = await respond();
    expect(answer.status).toBe(200);
    expect(body(answer)).toMatchObject({ userId: 'root', type: KsType.ADMIN });
    expect(minted).toHaveLength(1);
    expect(warnings).toHaveLength(1);
  });

  it('answers 503 ERR_KS_NOT_GRANTED, with no KS, when the minter issues an ADMIN KS for a USER (an app token may force the type)', async () => {
    const admin = countingMinter([], KsType.ADMIN);
    const { respond, body } = setup(() => ({ id: 'alice' }), { minter: admin });
    const answer = await respond();
    // The issuer's grant check: a KS other than asked is the server's configuration, which
    // the browser can neither see nor fix.
    expect(answer.status).toBe(503);
    expect(body(answer)).toEqual({
      error: {
        code: 'ERR_KS_NOT_GRANTED',
        message: 'No KS is available right now; try again shortly',
      },
    });
  });

  it('still refuses, 403, an ADMIN session that an issuer of its own hands the route for a USER', async () => {
    const real = createKsIssuer({ partnerId: PARTNER, minter: countingMinter([]) });
    const issuer: KsIssuer = {
      partnerId: real.partnerId,
      kind: 'forcing-admin',
      minForcedRefreshIntervalMs: real.minForcedRefreshIntervalMs,
      clockOffsetMs: real.clockOffsetMs,
      getKs: async (request, options) => ({
        ...(await real.getKs(request, options)),
        type: KsType.ADMIN,
      }),
      getCachedKs: () => undefined,
      peek: () => undefined,
      revoke: (userId, options) => real.revoke(userId, options),
      clear: () => real.clear(),
      size: 0,
      close: () => real.close(),
    };
    const engine = createKsEngine<object>({
      partnerId: PARTNER,
      issuer,
      getUser: () => ({ id: 'alice' }),
    });
    const answer = await engine.respond({}, await engine.context({}), GET);
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toEqual({
      error: {
        code: 'ERR_KS_FORBIDDEN',
        message: 'An ADMIN KS is not sent to a browser (see allowAdminKs)',
      },
    });
    await real.close();
  });

  it('a USER (the default type) is served', async () => {
    const { respond, body } = setup(() => ({ id: 'alice', type: KsType.USER }));
    const answer = await respond();
    expect(answer.status).toBe(200);
    const ks = body(answer).ks as string;
    expect(verifyKs(ks, { secrets: SECRET, partnerId: PARTNER })).toMatchObject({
      userId: 'alice',
      type: KsType.USER,
    });
  });
});

describe('what getUser returns', () => {
  it.each([
    ['a string', 'alice'],
    ['a number', 42],
    ['an object without an id', {}],
    ['an object with a numeric id', { id: 7 }],
  ])('refuses %s with ERR_KS_INVALID_OPTION, before any KS', async (_, found) => {
    const { engine, minted } = setup(() => found as never);
    let caught: unknown;
    try {
      await engine.context({});
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(KsError);
    expect(caught).toMatchObject({
      code: 'ERR_KS_INVALID_OPTION',
      message: 'getUser must return { id: string, … } or null',
    });
    expect(minted).toEqual([]);
  });

  it('the same from an async getUser', async () => {
    const { engine } = setup(async () => ({ id: 7 }) as never);
    await expect(engine.context({})).rejects.toMatchObject({ code: 'ERR_KS_INVALID_OPTION' });
  });

  it.each([null, undefined])('takes %s as nobody signed in: 401 ERR_KS_NO_USER', async (found) => {
    const { respond, body, engine, minted } = setup(() => found);
    const context = await engine.context({});
    expect(context.user).toBeNull();
    const answer = await respond();
    expect(answer.status).toBe(401);
    expect(body(answer)).toEqual({
      error: { code: 'ERR_KS_NO_USER', message: 'Nobody is signed in' },
    });
    await expect(context.getKs()).rejects.toMatchObject({ code: 'ERR_KS_NO_USER' });
    await context.revoke();
    expect(minted).toEqual([]);
  });

  it.each(['', '0'])('refuses the anonymous user id %j with 400, minting nothing', async (id) => {
    const { respond, body, minted } = setup(() => ({ id }));
    const answer = await respond();
    expect(answer.status).toBe(400);
    expect(body(answer)).toEqual({
      error: {
        code: 'ERR_KS_INVALID_FIELD',
        message: 'A signed-in user cannot have the anonymous user id "" or "0"',
      },
    });
    expect(minted).toEqual([]);
  });

  it('keeps a user id that only looks anonymous', async () => {
    for (const id of ['00', ' 0', 'O']) {
      const { respond } = setup(() => ({ id }));
      expect((await respond()).status).toBe(200);
    }
  });

  it('a getUser that throws: context() rejects with that error', async () => {
    const failure = new Error('session store down');
    const { engine } = setup(() => {
      throw failure;
    });
    await expect(engine.context({})).rejects.toBe(failure);
  });
});

describe('methods and sites', () => {
  it('answers any method but GET and DELETE with 405 and an Allow header, minting nothing', async () => {
    const { respond, body, minted } = setup(() => ({ id: 'alice' }));
    for (const method of ['POST', 'PUT', 'OPTIONS', 'get']) {
      const answer = await respond({ method, headers: {} });
      expect(answer.status).toBe(405);
      expect(answer.headers.Allow).toBe('GET, DELETE');
      expect(body(answer)).toEqual({
        error: { code: 'ERR_KS_FORBIDDEN', message: 'Use GET or DELETE' },
      });
    }
    expect(minted).toEqual([]);
  });

  it('DELETE revokes the user and answers 204 with no body', async () => {
    const { respond, minted, engine } = setup(() => ({ id: 'alice' }));
    await respond();
    expect(engine.issuer.size).toBe(1);
    const answer = await respond({ method: 'DELETE', headers: {} });
    expect(answer).toMatchObject({ status: 204, body: '' });
    expect(engine.issuer.size).toBe(0);
    await respond();
    expect(minted).toHaveLength(2);
  });

  it('refuses a cross-site request with 403 before minting; same-site and same-origin are served', async () => {
    const { respond, body, minted } = setup(() => ({ id: 'alice' }));
    const refused = await respond({ method: 'GET', headers: { 'sec-fetch-site': 'cross-site' } });
    expect(refused.status).toBe(403);
    expect(body(refused)).toEqual({
      error: { code: 'ERR_KS_FORBIDDEN', message: 'Cross-site requests for a KS are refused' },
    });
    expect(minted).toEqual([]);
    const asList = { 'sec-fetch-site': ['cross-site', 'same-origin'] } as never;
    expect((await respond({ method: 'GET', headers: asList })).status).toBe(403);
    for (const site of ['same-origin', 'same-site', 'none']) {
      expect((await respond({ method: 'GET', headers: { 'sec-fetch-site': site } })).status).toBe(
        200,
      );
    }
  });

  it('answers a cross-site request when allowCrossSite is on', async () => {
    const { respond } = setup(() => ({ id: 'alice' }), { allowCrossSite: true });
    expect(
      (await respond({ method: 'GET', headers: { 'sec-fetch-site': 'cross-site' } })).status,
    ).toBe(200);
  });
});

describe('the answers’ headers', () => {
  it('are JSON, not cached, not sniffed, same-origin, and vary on the user’s headers', async () => {
    const { respond } = setup(() => ({ id: 'alice' }));
    expect((await respond()).headers).toEqual({
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Cross-Origin-Resource-Policy': 'same-origin',
      Vary: 'Cookie, Authorization',
    });
  });

  it('vary on the headers given, or on none', async () => {
    const custom = setup(() => ({ id: 'alice' }), { varyHeaders: ['X-User'] });
    expect((await custom.respond()).headers.Vary).toBe('X-User');
    const none = setup(() => ({ id: 'alice' }), { varyHeaders: [] });
    expect((await none.respond()).headers).not.toHaveProperty('Vary');
  });

  it('a 503 says only that no KS is available, and when to retry', async () => {
    const down: KsMinter = {
      kind: 'down',
      async mint() {
        throw new KsError('ERR_KS_NETWORK', 'connect ECONNREFUSED 10.0.0.1:443');
      },
    };
    const { respond, body } = setup(() => ({ id: 'alice' }), { minter: down });
    const answer = await respond();
    expect(answer.status).toBe(503);
    expect(answer.headers['Retry-After']).toBe('5');
    expect(body(answer)).toEqual({
      error: {
        code: 'ERR_KS_UNAVAILABLE',
        message: 'No KS is available right now; try again shortly',
      },
    });
  });

  it('a failure the route has no status for is the framework’s to handle', async () => {
    const bug = new TypeError('a bug');
    const { respond } = setup(() => ({ id: 'alice' }), {
      privileges: () => {
        throw bug;
      },
    });
    await expect(respond()).rejects.toBe(bug);
    const option = new KsError('ERR_KS_INVALID_OPTION', 'misconfigured');
    const misconfigured = setup(() => ({ id: 'alice' }), {
      privileges: () => {
        throw option;
      },
    });
    await expect(misconfigured.respond()).rejects.toBe(option);
  });
});

describe('privileges in the KS', () => {
  it('static ones, then the user’s, then the appid', async () => {
    const { respond, body, minted } = setup(() => ({ id: 'alice', privileges: 'edit:0_a' }), {
      privileges: { sview: '*' },
      appId: 'app.example',
    });
    expect(body(await respond()).privileges).toBe('sview:*,edit:0_a,appid:app.example');
    expect(minted[0]!.privileges).toBe('sview:*,edit:0_a,appid:app.example');
  });

  it('computed from the user and request, when privileges is a function', async () => {
    const compute = vi.fn(async (user: KsUser) => (user.id === 'alice' ? 'list:*' : undefined));
    const alice = setup(() => ({ id: 'alice' }), { privileges: compute, appId: 'a' });
    expect(alice.body(await alice.respond()).privileges).toBe('list:*,appid:a');
    const bob = setup(() => ({ id: 'bob' }), { privileges: compute });
    expect(bob.body(await bob.respond()).privileges).toBe('');
    expect(compute).toHaveBeenCalledTimes(2);
  });

  it('refuses computed privileges that could inject a field: 400, nothing minted', async () => {
    const { respond, body, minted } = setup(() => ({ id: 'alice' }), {
      privileges: () => 'sview:a;b',
    });
    const answer = await respond();
    expect(answer.status).toBe(400);
    expect(body(answer)).toMatchObject({ error: { code: 'ERR_KS_INVALID_FIELD' } });
    expect(minted).toEqual([]);
  });

  it('refuses an entry id from the request that carries another privilege (Kaltura reads "edit:*" anywhere): 400, nothing minted', async () => {
    const entryId = '0_abc:edit:*'; // say, ?entryId=0_abc:edit:* from an attacker
    const { respond, body, minted } = setup(() => ({ id: 'alice' }), {
      privileges: () => ({ sview: entryId }),
    });
    const answer = await respond();
    expect(answer.status).toBe(400);
    expect(body(answer)).toMatchObject({ error: { code: 'ERR_KS_INVALID_FIELD' } });
    expect(minted).toEqual([]);
  });

  it('getKs on the context adds the call’s privileges and type', async () => {
    const { engine } = setup(() => ({ id: 'alice' }), { privileges: 'sview:*', appId: 'a' });
    const context = await engine.context({});
    const session = await context.getKs({ privileges: { edit: '0_e' }, type: KsType.ADMIN });
    expect(session).toMatchObject({ privileges: 'sview:*,edit:0_e,appid:a', type: KsType.ADMIN });
    expect((await context.getKs()).privileges).toBe('sview:*,appid:a');
  });
});

describe('renewal from the route', () => {
  it('renew=1 mints again; a plain GET serves the cache', async () => {
    let time = 1_700_000_000_000;
    const { respond, minted, body } = setup(() => ({ id: 'alice' }), {
      now: () => time,
      minForcedRefreshIntervalMs: 1_000,
    });
    const first = body(await respond()).ks;
    expect(body(await respond()).ks).toBe(first);
    time += 5_000;
    const renewed = body(await respond({ method: 'GET', headers: {}, renew: true })).ks;
    expect(renewed).not.toBe(first);
    expect(minted).toHaveLength(2);
  });
});

describe('engine options', () => {
  const getUser = () => null;

  it.each([
    [null, 'kalturaKs needs options'],
    [{ partnerId: PARTNER, adminSecret: SECRET }, 'getUser must be a function of the request'],
    [{ getUser, route: 'kaltura/ks' }, 'route must be a path starting with "/", or false'],
    [{ getUser, route: 42 }, 'route must be a path starting with "/", or false'],
    [{ getUser, appId: '' }, 'appId must be a non-empty string'],
    [{ getUser, appId: 7 }, 'appId must be a non-empty string'],
    [{ getUser, varyHeaders: 'Cookie' }, 'varyHeaders must be a list of header names'],
    // Else Node refuses the header on every answer, one request at a time.
    [
      { getUser, varyHeaders: ['Cookie\r\nSet-Cookie: a=b'] },
      'varyHeaders must be a list of header names',
    ],
    [{ getUser, varyHeaders: [''] }, 'varyHeaders must be a list of header names'],
    [{ getUser, varyHeaders: [7] }, 'varyHeaders must be a list of header names'],
    // A string from the environment ('false') is truthy: it would hand ADMIN KSs to browsers.
    [{ getUser, allowAdminKs: 'false' }, 'allowAdminKs must be true or false'],
    [{ getUser, allowAdminKs: 1 }, 'allowAdminKs must be true or false'],
    [{ getUser, allowCrossSite: 'false' }, 'allowCrossSite must be true or false'],
  ])('%j → %s', (options, message) => {
    expect(() =>
      createKsEngine<object>(
        options === null
          ? (null as never)
          : ({ partnerId: PARTNER, adminSecret: SECRET, ...options } as never),
      ),
    ).toThrow(expect.objectContaining({ code: 'ERR_KS_INVALID_OPTION', message }));
  });

  it('mounts the route at /kaltura/ks by default, elsewhere, or nowhere', () => {
    const make = (route?: string | false) =>
      createKsEngine<object>({ partnerId: PARTNER, adminSecret: SECRET, getUser, route } as never)
        .route;
    expect(make()).toBe('/kaltura/ks');
    expect(make('/ks')).toBe('/ks');
    expect(make(false)).toBe(false);
  });

  it('refuses bad static privileges and appId at creation, not per request', () => {
    expect(() =>
      createKsEngine<object>({
        partnerId: PARTNER,
        adminSecret: SECRET,
        getUser,
        privileges: '_u:x',
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_KS_INVALID_FIELD' }));
    expect(() =>
      createKsEngine<object>({ partnerId: PARTNER, adminSecret: SECRET, getUser, appId: 'a;b' }),
    ).toThrow(expect.objectContaining({ code: 'ERR_KS_INVALID_FIELD' }));
  });

  it('makes KSs of 3600 s by default, or as asked', async () => {
    let time = 1_700_000_000_000;
    const now = () => time;
    for (const [expiresInSeconds, lifetime] of [
      [undefined, 3_600_000],
      [600, 600_000],
    ] as const) {
      const engine = createKsEngine<object>({
        partnerId: PARTNER,
        adminSecret: SECRET,
        getUser: () => ({ id: 'alice' }),
        expiresInSeconds,
        now,
      });
      const answer = await engine.respond({}, await engine.context({}), GET);
      expect(JSON.parse(answer.body).expiresAt).toBe(time + lifetime);
      await engine.close();
      time += 1_000;
    }
  });

  it('closes the issuer it made: its cache and its minter', async () => {
    const { engine, respond, minter } = setup(() => ({ id: 'alice' }));
    await respond();
    expect(engine.issuer.size).toBe(1);
    await engine.close();
    expect(engine.issuer.size).toBe(0);
    expect(minter.closed).toBe(true);
  });
});
