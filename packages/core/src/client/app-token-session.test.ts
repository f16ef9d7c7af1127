import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KalturaApiError, KsError } from '../errors.js';
import { createKs } from '../ks/create.js';
import { KsType } from '../ks/types.js';
import { sealV1 } from '../test-utils/seal.js';
import {
  SPEC_APP_TOKEN,
  SPEC_PARTNER,
  SPEC_SECRET,
  SPEC_WIDGET_KS,
} from '../test-utils/vectors.js';
import { createKalturaClient } from './client.js';
import {
  fakeTime,
  kalturaError,
  type RecordedRequest,
  type Reply,
  startTestServer,
  type TestServer,
} from './test-utils/server.js';
import type { KalturaClient, KalturaClientEvent, KalturaClientOptions } from './types.js';

const TOKEN_ID = '0_ab12cd34';
const TOKEN = SPEC_APP_TOKEN.value;
const T0 = 1_700_000_000_000;

function minted(userId = 'alice'): string {
  return createKs({ secret: SPEC_SECRET, partnerId: SPEC_PARTNER, userId, now: () => T0 });
}

function widgetKs(): string {
  return createKs({
    secret: SPEC_SECRET,
    partnerId: SPEC_PARTNER,
    userId: '0',
    privileges: 'view:*,widget:1',
    now: () => T0,
  });
}

let server: TestServer;
const clients: KalturaClient[] = [];

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  server.reset();
});

function make(options: Partial<KalturaClientOptions> = {}): KalturaClient {
  const client = createKalturaClient({
    serviceUrl: server.url,
    partnerId: SPEC_PARTNER,
    ...options,
  });
  clients.push(client);
  return client;
}

/**
 * A Kaltura stand-in for the flow: each widget session answers the next KS of `widgets`;
 * appToken.startSession checks the hash like Kaltura (H(request KS ‖ token), lower-case hex)
 * and refuses KSs listed in `revoked`.
 */
function kaltura(options: {
  widgets?: () => string;
  hashType?: string;
  revoked?: Set<string>;
}): void {
  const nextWidget = options.widgets ?? (() => SPEC_WIDGET_KS);
  const algorithm = (options.hashType ?? 'SHA1').toLowerCase();
  server.route('session', 'startWidgetSession', () => ({
    json: {
      partnerId: SPEC_PARTNER,
      ks: nextWidget(),
      userId: 0,
      objectType: 'KalturaStartWidgetSessionResponse',
    },
  }));
  server.route('appToken', 'startSession', (request): Reply => {
    const ks = request.params.get('ks') ?? '';
    if (options.revoked?.has(ks)) {
      return kalturaError('INVALID_KS', `Invalid KS "${ks}", Error "-1,INVALID_STR"`, {
        KSID: ks,
        ERR_CODE: '-1',
        ERR_DESC: 'INVALID_STR',
      });
    }
    const expected = createHash(algorithm)
      .update(ks + TOKEN)
      .digest('hex');
    if (request.params.get('tokenHash') !== expected) {
      return kalturaError('INVALID_APP_TOKEN_HASH', 'Invalid application token hash');
    }
    return {
      json: {
        ks: minted(request.params.get('userId') ?? ''),
        partnerId: String(SPEC_PARTNER),
        userId: request.params.get('userId') ?? '',
        expiry: '2000000000',
        sessionType: request.params.get('type') ?? '0',
        privileges: `sessionid:${TOKEN_ID},apptoken:${TOKEN_ID}`,
        objectType: 'KalturaSessionInfo',
      },
    };
  });
}

function widgetRequests(): RecordedRequest[] {
  return server.requests.filter((r) => r.action === 'startWidgetSession');
}

function startRequests(): RecordedRequest[] {
  return server.requests.filter((r) => r.action === 'startSession');
}

describe('startAppTokenSession: the three steps', () => {
  it('hashes the spec widget KS with the token: SHA1 oracle vector', async () => {
    kaltura({});
    const client = make();
    const info = await client.startAppTokenSession({
      appTokenId: TOKEN_ID,
      appTokenValue: TOKEN,
      userId: 'alice',
      type: KsType.USER,
      expiresInSeconds: 600,
      privileges: { sview: '0_e1' },
    });
    expect(info).toEqual({
      ks: expect.any(String),
      partnerId: SPEC_PARTNER,
      userId: 'alice',
      expiry: 2_000_000_000,
      sessionType: 0,
      privileges: `sessionid:${TOKEN_ID},apptoken:${TOKEN_ID}`,
    });

    const [widget, start] = server.requests as [RecordedRequest, RecordedRequest];
    expect(widget.url).toBe('/api_v3/service/session/action/startWidgetSession');
    expect(Object.fromEntries(widget.params)).toEqual({
      format: '1',
      clientTag: 'kaltura-ks',
      partnerId: String(SPEC_PARTNER),
      widgetId: `_${SPEC_PARTNER}`,
      expiry: '3600',
    });
    expect(start.url).toBe('/api_v3/service/appToken/action/startSession');
    expect(Object.fromEntries(start.params)).toEqual({
      format: '1',
      clientTag: 'kaltura-ks',
      partnerId: String(SPEC_PARTNER),
      ks: SPEC_WIDGET_KS,
      id: TOKEN_ID,
      tokenHash: SPEC_APP_TOKEN.sha1,
      userId: 'alice',
      type: '0',
      expiry: '600',
      sessionPrivileges: 'sview:0_e1',
    });
    // The token value itself never travels.
    for (const request of server.requests) {
      expect(request.body).not.toContain(TOKEN);
      expect(request.url).not.toContain(TOKEN);
    }
  });

  it.each(['MD5', 'SHA1', 'SHA256', 'SHA512', 'sha256'] as const)(
    'hash type %s is accepted by a server that checks H(ks ‖ token)',
    async (hashType) => {
      kaltura({ hashType });
      const client = make();
      await expect(
        client.startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue: TOKEN, hashType }),
      ).resolves.toMatchObject({ partnerId: SPEC_PARTNER });
      if (hashType === 'SHA256') {
        expect(startRequests()[0]?.params.get('tokenHash')).toBe(SPEC_APP_TOKEN.sha256);
      }
    },
  );

  it('a wrong hash type surfaces as Kaltura API error, not retried', async () => {
    kaltura({ hashType: 'SHA256' });
    const client = make();
    const error = await client
      .startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue: TOKEN })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KalturaApiError);
    expect(error).toMatchObject({ kalturaCode: 'INVALID_APP_TOKEN_HASH', action: 'startSession' });
    expect(startRequests()).toHaveLength(1);
  });

  it('uses the widgetId option when given', async () => {
    kaltura({});
    const client = make({ widgetId: '_999', widgetSessionExpiresInSeconds: 120 });
    await client.startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue: TOKEN });
    expect(widgetRequests()[0]?.params.get('widgetId')).toBe('_999');
    expect(widgetRequests()[0]?.params.get('expiry')).toBe('120');
  });

  it('checks its input before any request, without echoing the token', async () => {
    kaltura({});
    const client = make();
    const bad = [
      { appTokenId: TOKEN_ID, appTokenValue: TOKEN, userId: 'mallory;edit:*' },
      { appTokenId: TOKEN_ID, appTokenValue: TOKEN, userId: '*' },
      { appTokenId: TOKEN_ID, appTokenValue: TOKEN, privileges: 'edit:*;x' },
      { appTokenId: TOKEN_ID, appTokenValue: TOKEN, hashType: 'SHA3' as 'SHA1' },
      { appTokenId: TOKEN_ID, appTokenValue: TOKEN, type: 1 as KsType },
      { appTokenId: TOKEN_ID, appTokenValue: TOKEN, expiresInSeconds: 1.5 },
      { appTokenId: '', appTokenValue: TOKEN },
      { appTokenId: TOKEN_ID, appTokenValue: '' },
    ];
    for (const params of bad) {
      const error = await client.startAppTokenSession(params).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KsError);
      expect((error as KsError).message).not.toContain(TOKEN);
    }
    const bare = createKalturaClient({ serviceUrl: server.url });
    clients.push(bare);
    await expect(
      bare.startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue: TOKEN }),
    ).rejects.toMatchObject({
      code: 'ERR_KS_INVALID_OPTION',
      message: expect.stringContaining('partnerId'),
    });
    expect(server.requests).toHaveLength(0);
  });
});

describe('startAppTokenSession: the widget session', () => {
  it('is reused: a warm mint is one round trip', async () => {
    kaltura({});
    const client = make();
    await client.startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue: TOKEN });
    const before = server.requests.length;
    await client.startAppTokenSession({
      appTokenId: TOKEN_ID,
      appTokenValue: TOKEN,
      userId: 'bob',
    });
    expect(server.requests.length - before).toBe(1);
    expect(widgetRequests()).toHaveLength(1);
  });

  it('500 concurrent cold mints share exactly one widget-session request', async () => {
    kaltura({ widgets: widgetKs });
    const client = make();
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        client.startAppTokenSession({
          appTokenId: TOKEN_ID,
          appTokenValue: TOKEN,
          userId: `u${i}`,
        }),
      ),
    );
    expect(results).toHaveLength(500);
    expect(results[499]?.userId).toBe('u499');
    expect(widgetRequests()).toHaveLength(1);
    expect(startRequests()).toHaveLength(500);
    expect(new Set(startRequests().map((r) => r.params.get('ks'))).size).toBe(1);
  });

  it('is refreshed in the background at 80% of its life, and awaited once it is about to expire', async () => {
    const time = fakeTime(T0);
    const events: KalturaClientEvent[] = [];
    let landed = () => {};
    const refreshed = new Promise<void>((resolve) => {
      landed = resolve;
    });
    kaltura({ widgets: widgetKs });
    const client = make({
      now: time.now,
      widgetSessionExpiresInSeconds: 1000,
      onEvent: (e) => {
        if (e.type !== 'widget-session') return;
        events.push(e);
        if (e.reason === 'refresh') landed();
      },
    });
    const mint = () => client.startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue: TOKEN });

    await mint();
    const first = startRequests()[0]?.params.get('ks');
    time.advance(700_000); // 70%: fresh
    await mint();
    expect(widgetRequests()).toHaveLength(1);

    time.advance(150_000); // 85%: served as is, refreshed behind
    await mint();
    expect(startRequests()[2]?.params.get('ks')).toBe(first);
    expect(widgetRequests()).toHaveLength(2);
    await refreshed; // the background refresh has landed
    await mint();
    const second = startRequests()[3]?.params.get('ks');
    expect(second).not.toBe(first);

    time.advance(995_000); // past the second one's margin (60 s or 10%): callers wait for a new one
    await mint();
    expect(widgetRequests()).toHaveLength(3);
    const third = startRequests()[4]?.params.get('ks');
    expect(third).not.toBe(second);
    expect(events.map((e) => e.type === 'widget-session' && e.reason)).toEqual([
      'cold',
      'refresh',
      'refresh',
    ]);
  });

  it("a v1 widget KS's own expiry wins when Kaltura clamped it", async () => {
    const time = fakeTime(T0);
    const nowSeconds = T0 / 1000;
    let n = 0;
    // Kaltura clamped the asked 3600 s to 100 s.
    const v1 = () =>
      sealV1(
        SPEC_SECRET,
        `${SPEC_PARTNER};${SPEC_PARTNER};${nowSeconds + 100};0;${n++};0;view:*,widget:1;;`,
      );
    kaltura({ widgets: v1 });
    const client = make({ now: time.now });
    await client.startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue: TOKEN });
    time.advance(95_000);
    await client.startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue: TOKEN });
    expect(widgetRequests()).toHaveLength(2);
  });

  describe("a clamped v1 widget KS's validUntil is judged on Kaltura's clock (kalturaClockOffsetMs)", () => {
    const HOUR = 3_600_000;
    /** Widget KSs clamped to 600 s by a Kaltura whose clock is `skewMs` ahead of `time`. */
    function clamped(time: ReturnType<typeof fakeTime>, skewMs: number) {
      let n = 0;
      return () => {
        const validUntil = Math.floor((time.now() + skewMs) / 1000) + 600;
        return sealV1(
          SPEC_SECRET,
          `${SPEC_PARTNER};${SPEC_PARTNER};${validUntil};0;${n++};0;view:*,widget:1;;`,
        );
      };
    }
    const mint = (client: KalturaClient) =>
      client.startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue: TOKEN });

    it('Kaltura an hour behind: the widget KS is reused, not taken as expired on arrival', async () => {
      const time = fakeTime(T0);
      kaltura({ widgets: clamped(time, -HOUR) });
      const client = make({ now: time.now, kalturaClockOffsetMs: -HOUR });
      await mint(client);
      time.advance(60_000);
      await mint(client);
      expect(widgetRequests()).toHaveLength(1);
    });

    it('Kaltura an hour ahead: the widget KS is replaced before Kaltura’s 600 s are up', async () => {
      const time = fakeTime(T0);
      kaltura({ widgets: clamped(time, HOUR) });
      // As an issuer passes it: the offset as measured, read when the answer arrives.
      let measured = 0;
      const client = make({ now: time.now, kalturaClockOffsetMs: () => measured });
      measured = HOUR + 1_000;
      await mint(client);
      time.advance(580_000); // within the margin before Kaltura's expiry: callers wait for a new one
      await mint(client);
      expect(widgetRequests()).toHaveLength(2);
      expect(startRequests()[1]?.params.get('ks')).not.toBe(startRequests()[0]?.params.get('ks'));
    });

    it('is checked once, at creation, naming the option', () => {
      for (const bad of [Number.NaN, '5', 2 * 24 * HOUR]) {
        expect(() => make({ kalturaClockOffsetMs: bad as number })).toThrow(
          expect.objectContaining({
            code: 'ERR_KS_INVALID_OPTION',
            message: expect.stringContaining('kalturaClockOffsetMs'),
          }),
        );
      }
    });
  });

  it('revoked or expired early (INVALID_KS): a new widget session, and one more try', async () => {
    const revoked = new Set<string>();
    kaltura({ widgets: widgetKs, revoked });
    const events: KalturaClientEvent[] = [];
    const client = make({ onEvent: (e) => e.type === 'widget-session' && events.push(e) });
    await client.startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue: TOKEN });
    revoked.add(startRequests()[0]?.params.get('ks') ?? '');

    await expect(
      client.startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue: TOKEN }),
    ).resolves.toMatchObject({ partnerId: SPEC_PARTNER });
    expect(widgetRequests()).toHaveLength(2);
    expect(startRequests()).toHaveLength(3);
    expect(events.map((e) => e.type === 'widget-session' && e.reason)).toEqual([
      'cold',
      'invalid-ks',
    ]);
  });

  it('INVALID_KS twice: the second error is thrown (once more, not forever), redacted', async () => {
    const revoked = new Set<string>();
    let n = 0;
    const widgets = () => {
      const ks = widgetKs();
      if (n++ > 0) revoked.add(ks); // every later widget KS is refused too
      return ks;
    };
    kaltura({ widgets, revoked });
    const client = make();
    await client.startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue: TOKEN });
    revoked.add(startRequests()[0]?.params.get('ks') ?? '');
    const error = await client
      .startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue: TOKEN })
      .catch((e: unknown) => e as KalturaApiError);
    expect(error).toMatchObject({ kalturaCode: 'INVALID_KS', args: { KSID: '[redacted]' } });
    expect((error as KalturaApiError).kalturaMessage).toBe(
      'Invalid KS "[redacted]", Error "-1,INVALID_STR"',
    );
    expect(widgetRequests()).toHaveLength(2);
    expect(startRequests()).toHaveLength(3);
  });

  it('many concurrent INVALID_KS answers share one new widget session', async () => {
    const revoked = new Set<string>();
    kaltura({ widgets: widgetKs, revoked });
    const client = make();
    await client.startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue: TOKEN });
    revoked.add(startRequests()[0]?.params.get('ks') ?? '');
    await Promise.all(
      Array.from({ length: 50 }, () =>
        client.startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue: TOKEN }),
      ),
    );
    expect(widgetRequests()).toHaveLength(2);
  });

  it('a failed widget session is not cached', async () => {
    kaltura({});
    server.route('session', 'startWidgetSession', [
      kalturaError(
        'START_WIDGET_SESSION_ERROR',
        'error while starting session for widget id [_12345]',
        {
          WIDGET_ID: '_12345',
        },
      ),
      { json: { partnerId: SPEC_PARTNER, ks: SPEC_WIDGET_KS, userId: 0 } },
    ]);
    const client = make();
    await expect(
      client.startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue: TOKEN }),
    ).rejects.toMatchObject({ kalturaCode: 'START_WIDGET_SESSION_ERROR' });
    await expect(
      client.startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue: TOKEN }),
    ).resolves.toMatchObject({ partnerId: SPEC_PARTNER });
    expect(widgetRequests()).toHaveLength(2);
  });

  it('one caller giving up does not cancel the shared widget session for the others', async () => {
    kaltura({});
    server.route('session', 'startWidgetSession', {
      json: { partnerId: SPEC_PARTNER, ks: SPEC_WIDGET_KS, userId: 0 },
      delayMs: 30,
    });
    const client = make();
    const controller = new AbortController();
    const quitter = client.startAppTokenSession({
      appTokenId: TOKEN_ID,
      appTokenValue: TOKEN,
      signal: controller.signal,
    });
    const stayer = client.startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue: TOKEN });
    controller.abort();
    await expect(quitter).rejects.toMatchObject({ code: 'ERR_KS_ABORTED' });
    await expect(stayer).resolves.toMatchObject({ partnerId: SPEC_PARTNER });
    expect(widgetRequests()).toHaveLength(1);
    expect(startRequests()).toHaveLength(1);
  });
});

describe('startAppTokenSession: the token hash, computed once per widget session', () => {
  const sent = (i: number) => startRequests()[i]?.params.get('tokenHash');
  const h = (algorithm: string, ks: string, value: string) =>
    createHash(algorithm)
      .update(ks + value)
      .digest('hex');

  it('each call under one widget session sends the hash of its own token value and type', async () => {
    kaltura({});
    const client = make();
    const other = `${TOKEN}0`;
    const start = (appTokenValue: string, hashType?: 'SHA1' | 'SHA256') =>
      client
        .startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue, hashType })
        .catch(() => undefined);
    await start(TOKEN);
    await start(TOKEN);
    await start(other);
    await start(TOKEN, 'SHA256');
    await start(TOKEN);
    expect(widgetRequests()).toHaveLength(1);
    expect([0, 1, 2, 3, 4].map(sent)).toEqual([
      SPEC_APP_TOKEN.sha1,
      SPEC_APP_TOKEN.sha1,
      h('sha1', SPEC_WIDGET_KS, other),
      SPEC_APP_TOKEN.sha256,
      SPEC_APP_TOKEN.sha1,
    ]);
  });

  it('a refused widget session: the retry sends the hash of the new widget KS', async () => {
    const revoked = new Set<string>();
    let n = 0;
    const widgets = ['w1', 'w2'].map((w) => `${SPEC_WIDGET_KS}${w}`);
    kaltura({ widgets: () => widgets[n++]!, revoked });
    const client = make();
    await client.startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue: TOKEN });
    revoked.add(widgets[0]!);
    await client.startAppTokenSession({ appTokenId: TOKEN_ID, appTokenValue: TOKEN });
    expect(widgetRequests()).toHaveLength(2);
    expect([0, 1, 2].map(sent)).toEqual([
      h('sha1', widgets[0]!, TOKEN),
      h('sha1', widgets[0]!, TOKEN),
      h('sha1', widgets[1]!, TOKEN),
    ]);
  });
});
