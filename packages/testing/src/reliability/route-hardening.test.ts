import { Script } from 'node:vm';
import { KsError, verifyKs } from '@kaltura-ks/core';
import type { KsMinter } from '@kaltura-ks/core/issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type HttpAnswer,
  httpRequestOnce,
  type RouteApp,
  startRoute,
  USER_HEADER,
} from './support.js';

/**
 * The KS route as a browser's neighbours see it, with its defaults: no permissive CORS
 * (cross-origin pages cannot read it, cross-site requests are refused before anything is
 * minted), nothing cacheable, no KS anywhere but the JSON body, and a body that cannot be
 * run as a script.
 */

const PARTNER = 5308;
const SECRET = 'route-hardening-admin-secret-19fe';
const EVIL = 'https://evil.example';

let route: RouteApp;
let failing: RouteApp;
const answers: HttpAnswer[] = [];

/** A minter for a Kaltura that is down: the route's 503. */
const down: KsMinter = {
  kind: 'down',
  async mint() {
    throw new KsError('ERR_KS_NETWORK', 'Kaltura is down');
  },
};

beforeAll(async () => {
  route = await startRoute({ partnerId: PARTNER, adminSecret: SECRET });
  failing = await startRoute({ partnerId: PARTNER, minter: down });
});

afterAll(async () => {
  await Promise.all([route?.close(), failing?.close()]);
});

async function send(
  app: RouteApp,
  init: { method?: string; path?: string; user?: string; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  const headers = { ...init.headers };
  if (init.user !== undefined) headers[USER_HEADER] = init.user;
  const answer = await httpRequestOnce(`${app.origin}${init.path ?? '/kaltura/ks'}`, {
    method: init.method ?? 'GET',
    headers,
  });
  answers.push(answer);
  return answer;
}

describe('cross-origin reads are refused by default', () => {
  it('sends no CORS headers, even to a request that carries an Origin', async () => {
    const answer = await send(route, { user: 'alice', headers: { origin: EVIL } });
    expect(answer.status).toBe(200);
    for (const name of Object.keys(answer.headers)) expect(name).not.toMatch(/^access-control-/);
    expect(answer.headers['cross-origin-resource-policy']).toBe('same-origin');
  });

  it('refuses a preflight: 405 with no CORS headers', async () => {
    const answer = await send(route, {
      method: 'OPTIONS',
      user: 'alice',
      headers: {
        origin: EVIL,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('GET, DELETE');
    for (const name of Object.keys(answer.headers)) expect(name).not.toMatch(/^access-control-/);
  });

  it('refuses a cross-site request (Sec-Fetch-Site) with 403 before minting anything', async () => {
    const before = route.engine.issuer.size;
    const answer = await send(route, {
      user: 'cross-site-victim',
      headers: { origin: EVIL, 'sec-fetch-site': 'cross-site', cookie: 'session=victim' },
    });
    expect(answer.status).toBe(403);
    expect(answer.json).toEqual({
      error: { code: 'ERR_KS_FORBIDDEN', message: expect.any(String) },
    });
    expect(route.engine.issuer.size).toBe(before);
    expect(route.engine.issuer.peek({ userId: 'cross-site-victim' })).toBeUndefined();
    // A cross-site logout (DELETE) is refused too.
    expect(
      (
        await send(route, {
          method: 'DELETE',
          user: 'alice',
          headers: { 'sec-fetch-site': 'cross-site' },
        })
      ).status,
    ).toBe(403);
  });

  it('answers same-origin requests', async () => {
    const answer = await send(route, {
      user: 'alice',
      headers: { 'sec-fetch-site': 'same-origin' },
    });
    expect(answer.status).toBe(200);
  });
});

describe('nothing is cacheable', () => {
  it('every answer says Cache-Control: no-store and varies on the user’s credentials', async () => {
    const cases = await Promise.all([
      send(route, { user: 'alice' }), // 200
      send(route, { user: 'alice', path: '/kaltura/ks?renew=1' }), // 200, forced
      send(route, {}), // 401
      send(route, { user: 'a;b' }), // 400
      send(route, { user: 'alice', headers: { 'sec-fetch-site': 'cross-site' } }), // 403
      send(route, { method: 'POST', user: 'alice' }), // 405
      send(route, { method: 'DELETE', user: 'alice' }), // 204
      send(failing, { user: 'alice' }), // 503
    ]);
    expect(cases.map((a) => a.status)).toEqual([200, 200, 401, 400, 403, 405, 204, 503]);
    for (const answer of cases) {
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(answer.headers.vary).toBe('Cookie, Authorization');
      expect(answer.headers.etag).toBeUndefined();
      expect(answer.headers['last-modified']).toBeUndefined();
    }
  });
});

describe('no KS in a URL', () => {
  it('the KS travels only in the JSON body: no Location, Link, Set-Cookie or Refresh', async () => {
    const answer = await send(route, { user: 'alice', path: '/kaltura/ks?renew=1' });
    const { ks } = answer.json as { ks: string };
    expect(verifyKs(ks, { secrets: SECRET, partnerId: PARTNER }).userId).toBe('alice');
    for (const name of ['location', 'content-location', 'link', 'set-cookie', 'refresh'])
      expect(answer.headers[name]).toBeUndefined();
    expect(JSON.stringify(answer.headers)).not.toContain(ks);
    expect(JSON.stringify(answer.headers)).not.toContain(encodeURIComponent(ks));
  });

  it('ignores a KS or a JSONP callback offered in the query', async () => {
    const offered = 'djJ8NTMwOHyOffered';
    const answer = await send(route, {
      user: 'alice',
      path: `/kaltura/ks?ks=${offered}&callback=steal&format=9`,
    });
    expect(answer.status).toBe(200);
    expect(answer.text.startsWith('{"ks":"')).toBe(true);
    expect(answer.text).not.toContain(offered);
    expect(answer.text).not.toContain('steal');
  });
});

describe('JSON that cannot be executed as a script', () => {
  it('every body is JSON, served as JSON with nosniff, and is a syntax error as a script', async () => {
    // One more with a user id that tries to break out of a script context.
    await send(route, { user: '</script><script>alert(1)</script>' });
    expect(answers.length).toBeGreaterThan(10);
    for (const answer of answers) {
      if (answer.status === 204) {
        expect(answer.text).toBe('');
        continue;
      }
      expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
      expect(() => JSON.parse(answer.text)).not.toThrow();
      // An object literal at the start of a script is a block: `{"ks":` never parses.
      expect(answer.text.startsWith('{')).toBe(true);
      expect(() => new Script(answer.text)).toThrow(SyntaxError);
    }
  });
});
