import { verifyKs } from '@kaltura-ks/core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bundleGlobal, launchChromium, screenshotPath } from './harness.js';
import { type KsTestServer, PARTNER, startKsServer, USER_COOKIE } from './ks-server.js';
import { openTab, type TabGlobals } from './ks-tab.js';

/**
 * The real Kaltura Player from npm (`@playkit-js/kaltura-player-js`, its OVP build) in a
 * minimal page, on the emulator, kept on a renewing KS by `attachPlayer`. Time runs for real:
 * the player and hls.js need their timers. KSs live a few seconds (`expiresInSeconds` on the
 * server, the client's floors lowered to match), so they renew while the video plays; every
 * wait is for a condition, never a fixed time.
 */

const LIFETIME_S = 10;
/** The browser client's floors, scaled to the short lifetime. */
const CLIENT = { minRenewIntervalMs: 1_500, minRemainingMs: 1_500 };
/** Generous: a loaded 2-core machine parses the 2.5 MB player slowly. */
const WAIT = { timeout: 90_000, interval: 100 } as const;
const TEST_TIMEOUT = 300_000;
/** The samples are tiny: a short buffer keeps hls.js fetching segments while the KS renews. */
const SHORT_BUFFER = { html5: { hls: { maxBufferLength: 4, maxMaxBufferLength: 4 } } };

/** A media request the page made, from Resource Timing: epoch ms on the page's clock. */
interface MediaRequest {
  url: string;
  start: number;
}

/** What the page records, set up before any of its scripts run. */
interface PlayerPageGlobals extends TabGlobals {
  mediaRequests: MediaRequest[];
  /** Every KS the client held, with when it arrived (epoch ms, page clock). */
  kss: { ks: string; at: number }[];
  /**
   * Every manifest and segment request as the player's request filter left it (after
   * `attachPlayer`'s rewrite), with the KS the client held at that moment.
   */
  filtered: { type: number; url: string; at: number; held: string }[];
  playerErrors: unknown[];
  /** How `loadMedia` ended: `pending`, `loaded`, or the error. */
  loaded: unknown;
  waitingAfterPlaying: number;
  testPlayer: {
    loadMedia(media: { entryId: string }): Promise<unknown>;
    getVideoElement(): HTMLVideoElementLike | undefined;
    addEventListener(type: string, listener: (event: { payload?: unknown }) => void): void;
    readonly config: {
      sources?: { id?: string; metadata?: { name?: string } };
      network?: { requestFilter?: (type: number, request: { url: string }) => unknown };
    };
    configure(config: object): void;
  };
  KalturaPlayer: { setup(config: object): PlayerPageGlobals['testPlayer'] };
  DemoProgressive: { reloadProgressiveOnKs(player: unknown, client: unknown): () => void };
}

interface HTMLVideoElementLike {
  currentTime: number;
  currentSrc: string;
}

let browser: Browser;
let server: KsTestServer;
let context: BrowserContext;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await context?.close();
  await server?.close();
});

/** The page records its media requests from the start (Resource Timing sees what was sent). */
function recordMediaRequests(): void {
  const g = globalThis as unknown as PlayerPageGlobals & {
    PerformanceObserver: new (
      callback: (list: { getEntries(): { name: string; startTime: number }[] }) => void,
    ) => { observe(options: object): void };
    performance: { timeOrigin: number };
  };
  g.mediaRequests = [];
  new g.PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (/\/p\/\d+\/sp\/\d+\/(playManifest|serveFlavor)\//.test(entry.name)) {
        g.mediaRequests.push({
          url: entry.name,
          start: g.performance.timeOrigin + entry.startTime,
        });
      }
    }
  }).observe({ type: 'resource', buffered: true });
}

interface Setup {
  entryId: string;
  /** Give the player the client's KS (default), or none: the widget-session path. */
  withKs?: boolean;
  progressive?: boolean;
}

/**
 * A tab with a KS client (the test server's route), the player set up on the emulator with
 * that client's KS, attached, loading `entryId` and playing (muted autoplay).
 */
async function openPlayer(setup: Setup): Promise<Page> {
  const page = await openTab(context, server.url, CLIENT, recordMediaRequests);
  await page.addScriptTag({ url: '/player.js' });
  if (setup.progressive) await page.addScriptTag({ url: '/progressive.js' });
  await page.evaluate(
    async ({ setup, partnerId, serviceUrl, cdnUrl, buffer }) => {
      const g = globalThis as unknown as PlayerPageGlobals & {
        performance: { now(): number; timeOrigin: number };
      };
      const client = g.ksTest.client;
      const ks = await client.getKs();
      const now = () => g.performance.timeOrigin + g.performance.now();
      g.kss = [{ ks, at: now() }];
      client.subscribe((event) => {
        if (event.type === 'ks') g.kss.push({ ks: event.session.ks, at: now() });
      });
      const player = g.KalturaPlayer.setup({
        targetId: 'player',
        provider: {
          partnerId,
          ...(setup.withKs === false ? {} : { ks }),
          env: { serviceUrl, cdnUrl },
        },
        playback: {
          autoplay: true,
          muted: true,
          options: buffer,
          ...(setup.progressive
            ? { streamPriority: [{ engine: 'html5', format: 'progressive' }] }
            : {}),
        },
      });
      g.testPlayer = player;
      g.playerErrors = [];
      g.waitingAfterPlaying = 0;
      player.addEventListener('error', (event) => g.playerErrors.push(event.payload));
      // The player re-dispatches the <video>'s events (it makes the element at loadMedia).
      let played = false;
      player.addEventListener('playing', () => {
        played = true;
      });
      player.addEventListener('waiting', () => {
        if (played) g.waitingAfterPlaying++;
      });
      g.filtered = [];
      if (setup.withKs !== false) {
        client.attachPlayer(player);
        // Watch what attachPlayer's filter lets through, in the same synchronous step.
        const attached = player.config.network!.requestFilter!;
        player.configure({
          network: {
            requestFilter: (type: number, request: { url: string }) => {
              const result = attached(type, request) as Promise<unknown> | undefined;
              const record = () =>
                g.filtered.push({ type, url: request.url, at: now(), held: g.kss.at(-1)!.ks });
              if (result?.then)
                return result.then((r) => {
                  record();
                  return r;
                });
              record();
              return result;
            },
          },
        });
      }
      if (setup.progressive) g.DemoProgressive.reloadProgressiveOnKs(player, client);
      g.loaded = 'pending';
      player.loadMedia({ entryId: setup.entryId }).then(
        () => {
          g.loaded = 'loaded';
        },
        (error: unknown) => {
          g.loaded = error;
        },
      );
    },
    {
      setup,
      partnerId: PARTNER.id,
      serviceUrl: server.emulator.url,
      cdnUrl: server.emulator.origin,
      buffer: SHORT_BUFFER,
    },
  );
  return page;
}

/** The video's time; 0 until the player has made its `<video>` (at loadMedia). */
const currentTime = (page: Page) =>
  page.evaluate(
    () =>
      (globalThis as unknown as PlayerPageGlobals).testPlayer.getVideoElement()?.currentTime ?? 0,
  );
const kss = (page: Page) => page.evaluate(() => (globalThis as unknown as PlayerPageGlobals).kss);
const playerErrors = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as PlayerPageGlobals).playerErrors);
const mediaRequests = (page: Page) =>
  page.evaluate(() => [...(globalThis as unknown as PlayerPageGlobals).mediaRequests]);
const filtered = (page: Page) =>
  page.evaluate(() => [...(globalThis as unknown as PlayerPageGlobals).filtered]);

/** The KS in a media URL's path. */
const ksOf = (url: string) => /\/ks\/([^/?#]+)/.exec(url)?.[1];

/** Waits until loadMedia has succeeded and the video has played past `seconds`. */
async function playsPast(page: Page, seconds: number): Promise<number> {
  await expect
    .poll(() => page.evaluate(() => (globalThis as unknown as PlayerPageGlobals).loaded), WAIT)
    .not.toBe('pending');
  expect(await page.evaluate(() => (globalThis as unknown as PlayerPageGlobals).loaded)).toBe(
    'loaded',
  );
  await expect.poll(() => currentTime(page), WAIT).toBeGreaterThan(seconds);
  return currentTime(page);
}

/** Every response from the emulator's media routes, as the browser got it. */
function watchMediaResponses(page: Page): { url: string; status: number }[] {
  const seen: { url: string; status: number }[] = [];
  page.on('response', (response) => {
    if (new URL(response.url()).pathname.startsWith('/p/'))
      seen.push({ url: response.url(), status: response.status() });
  });
  return seen;
}

/** The average colour of the video's top-left corner (the sample's background). */
function cornerColour(page: Page): Promise<[number, number, number]> {
  return page.evaluate(() => {
    const g = globalThis as unknown as PlayerPageGlobals & {
      document: {
        createElement(tag: 'canvas'): {
          width: number;
          height: number;
          getContext(kind: '2d'): {
            drawImage(image: unknown, x: number, y: number, w: number, h: number): void;
            getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
          };
        };
      };
    };
    const canvas = g.document.createElement('canvas');
    canvas.width = 320;
    canvas.height = 180;
    const context2d = canvas.getContext('2d');
    context2d.drawImage(g.testPlayer.getVideoElement(), 0, 0, 320, 180);
    const { data } = context2d.getImageData(300, 40, 10, 10);
    const sum = [0, 0, 0];
    for (let i = 0; i < data.length; i += 4) for (let c = 0; c < 3; c++) sum[c]! += data[i + c]!;
    return sum.map((v) => Math.round(v / (data.length / 4))) as [number, number, number];
  });
}

async function start(privileges?: Record<string, string>): Promise<void> {
  server = await startKsServer(
    { now: Date.now },
    {
      expiresInSeconds: LIFETIME_S,
      privileges,
      scripts: {
        progressive: () =>
          bundleGlobal(
            "export { reloadProgressiveOnKs } from '../page/progressive.js';",
            'DemoProgressive',
          ),
      },
    },
  );
  context = await browser.newContext({ viewport: { width: 800, height: 600 } });
  // Nothing leaves loopback: the player has no CDN, analytics or anything else to reach.
  await context.route(
    (url) => url.hostname !== '127.0.0.1',
    (route) => route.abort('blockedbyclient'),
  );
  await context.addCookies([{ name: USER_COOKIE, value: 'alice', url: server.url }]);
}

describe('the Kaltura Player from npm, on the emulator, kept on a renewing KS', () => {
  it(
    'plays the entry asked for (not the first), over two renewals: every manifest and segment request carries the KS current when it was sent',
    async () => {
      await start({ sview: '0_emu00002' });
      const page = await openPlayer({ entryId: '0_emu00002' });
      const responses = watchMediaResponses(page);
      await playsPast(page, 0.5);

      // The chosen entry, not the first sample: its metadata, its media, its picture (blue).
      const sources = await page.evaluate(
        () => (globalThis as unknown as PlayerPageGlobals).testPlayer.config.sources,
      );
      expect(sources).toMatchObject({
        id: '0_emu00002',
        metadata: { name: 'Emulator sample: ocean' },
      });
      const [red, green, blue] = await cornerColour(page);
      expect(blue).toBeGreaterThan(red + 60);
      expect(blue).toBeGreaterThan(green);
      await page.screenshot({ path: screenshotPath('player-ocean') });

      // Two renewals while it plays, then segments fetched on the second renewed KS.
      const before = (await kss(page)).length;
      await expect
        .poll(async () => {
          const held = await kss(page);
          if (held.length < before + 2) return false;
          const last = held.at(-1)!;
          return (await mediaRequests(page)).some((r) => ksOf(r.url) === last.ks);
        }, WAIT)
        .toBe(true);
      const timeAtSecondRenewal = await currentTime(page);
      await playsPast(page, timeAtSecondRenewal + 1);

      const held = await kss(page);
      const requests = (await filtered(page)).filter((r) => ksOf(r.url) !== undefined);
      expect(requests.length).toBeGreaterThan(5);
      for (const request of requests) {
        const ks = ksOf(request.url)!;
        // The KS the client held when the player sent the request.
        expect(ks, `${request.url.split('/ks/')[0]}`).toBe(request.held);
        // Never an expired one.
        expect(() =>
          verifyKs(ks, {
            secrets: PARTNER.adminSecret,
            partnerId: PARTNER.id,
            now: () => request.at,
          }),
        ).not.toThrow();
      }
      // After each renewal during playback, the player's requests switched to the new KS, and
      // the browser sent them so (Resource Timing).
      const sent = (await mediaRequests(page)).map((r) => ksOf(r.url));
      for (const renewed of held.slice(before)) {
        expect(requests.some((r) => ksOf(r.url) === renewed.ks)).toBe(true);
        expect(sent).toContain(renewed.ks);
      }
      // The emulator accepted every one (it checks each KS on arrival), and playback never stalled.
      expect(responses.length).toBeGreaterThan(5);
      expect(responses.filter((r) => r.status >= 400)).toEqual([]);
      expect(await playerErrors(page)).toEqual([]);
      expect(
        await page.evaluate(() => (globalThis as unknown as PlayerPageGlobals).waitingAfterPlaying),
      ).toBe(0);

      // A second loadMedia after the renewals asks the API with the new KS, in the envelope
      // and in every call.
      const multirequest = page.waitForRequest((r) => r.url().endsWith('/service/multirequest'));
      const reload = page.evaluate(() =>
        (globalThis as unknown as PlayerPageGlobals).testPlayer.loadMedia({
          entryId: '0_emu00002',
        }),
      );
      const body = (await multirequest).postDataJSON() as Record<string, { ks?: string }> & {
        ks: string;
      };
      const latest = (await kss(page)).at(-1)!.ks;
      expect(body.ks).toBe(latest);
      expect(body.ks).not.toBe(held[0]!.ks);
      expect([body['1']?.ks, body['2']?.ks, body['3']?.ks]).toEqual([latest, latest, latest]);
      await reload;
      await playsPast(page, 0.5);
      expect(await playerErrors(page)).toEqual([]);
    },
    TEST_TIMEOUT,
  );

  it(
    'plays without a KS through a widget session, and a KS-protected entry only with its sview',
    async () => {
      await start({ sview: '0_emu00003' });
      // No KS for the player: session.startWidgetSession, then {1:result:ks}.
      const anonymous = await openPlayer({ entryId: '0_emu00002', withKs: false });
      await playsPast(anonymous, 0.5);
      expect(await playerErrors(anonymous)).toEqual([]);

      // The third sample, KS protected: plays with sview:0_emu00003 (and looks like itself).
      const protectedEntry = await openPlayer({ entryId: '0_emu00003' });
      await playsPast(protectedEntry, 0.5);
      const [red, , blue] = await cornerColour(protectedEntry);
      expect(red + blue).toBeLessThan(200); // the city at night is dark
      // …and the first sample, KS protected too, is blocked for this KS (Kaltura's BLOCK action).
      const blocked = await openPlayer({ entryId: '0_emu00001' });
      await expect
        .poll(() => playerErrors(blocked), WAIT)
        // LOAD_FAILED (7002), caused by the provider's BLOCK_ACTION (2001).
        .toEqual([
          expect.objectContaining({ code: 7002, data: expect.objectContaining({ code: 2001 }) }),
        ]);
    },
    TEST_TIMEOUT,
  );

  it(
    'keeps a progressive download playing across renewals: the source is reloaded with the new KS, and a seek after the old KS expired still plays',
    async () => {
      await start({ sview: '0_emu00002' });
      const page = await openPlayer({ entryId: '0_emu00002', progressive: true });
      const responses = watchMediaResponses(page);
      await playsPast(page, 0.5);
      const src = () =>
        page.evaluate(
          () =>
            (globalThis as unknown as PlayerPageGlobals).testPlayer.getVideoElement()!.currentSrc,
        );
      const first = (await kss(page))[0]!;
      const playingWith = ksOf(await src());
      expect((await kss(page)).map((k) => k.ks)).toContain(playingWith);

      // Two renewals while it plays: the <video> follows each new KS, and keeps playing.
      const before = (await kss(page)).length;
      await expect
        .poll(async () => (await kss(page)).length, WAIT)
        .toBeGreaterThanOrEqual(before + 2);
      await expect
        .poll(async () => ksOf(await src()) === (await kss(page)).at(-1)!.ks, WAIT)
        .toBe(true);
      expect(ksOf(await src())).not.toBe(playingWith);
      // The first KS has expired by now: a seek makes the browser fetch again, with the new one.
      expect(() => verifyKs(first.ks, { secrets: PARTNER.adminSecret, now: Date.now })).toThrow(
        expect.objectContaining({ code: 'ERR_KS_EXPIRED' }),
      );
      await page.evaluate(() => {
        (globalThis as unknown as PlayerPageGlobals).testPlayer.getVideoElement()!.currentTime = 50;
      });
      await playsPast(page, 51);
      expect(responses.length).toBeGreaterThan(1);
      expect(responses.filter((r) => r.status >= 400)).toEqual([]);
      expect(await playerErrors(page)).toEqual([]);
    },
    TEST_TIMEOUT,
  );
});
