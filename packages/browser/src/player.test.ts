import type { KalturaPlayer } from '@playkit-js/kaltura-player-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKsClient } from './client.js';
import type { KalturaPlayerLike, PlayerRequest, PlayerRequestFilter } from './player.js';
import { FakeClock, fakeFetch, fakeServer, flush, installBrowser } from './test-utils/fakes.js';

afterEach(() => {
  vi.unstubAllGlobals();
});

// Compile-time check: the real player type fits what attachPlayer asks for.
export const realPlayerFits = (player: KalturaPlayer): KalturaPlayerLike => player;

/** playkit-js RequestType. */
const MANIFEST = 0;
const SEGMENT = 1;
const LICENSE = 2;

type Config = Record<string, unknown>;

/** `Utils.Object.mergeDeep` as playkit-js does it: plain objects merge, the rest replace. */
function mergeDeep(target: Config, source: Config): Config {
  for (const [key, value] of Object.entries(source)) {
    const current = target[key];
    if (
      value &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      current &&
      typeof current === 'object'
    )
      mergeDeep(current as Config, value as Config);
    else target[key] = value;
  }
  return target;
}

class FakePlugin {
  constructor(private config: Config) {}
  getConfig(attr?: string): unknown {
    return attr ? this.config[attr] : { ...this.config };
  }
  updateConfig(update: Config): void {
    mergeDeep(this.config, update);
  }
}

/**
 * The parts of kaltura-player-js 3.17's KalturaPlayer that take a KS, reproduced from its
 * source: the useHeaderForKs filter installed in the constructor, `configure` merging into
 * the config, `getKs()`, `provider.ks` (a setter), plugins with `getConfig`/`updateConfig`
 * and `updateThumbnailKs`. `send` plays an adapter (hls.js `xhrSetup`, shaka filters).
 */
class FakeKalturaPlayer {
  private readonly _config: Config;
  readonly provider: { ks: string };
  readonly plugins: Record<string, FakePlugin>;
  thumbnailKs: string | null = null;
  readonly listeners = new Map<string, Set<(event: { payload?: unknown }) => void>>();

  constructor(options: {
    ks: string;
    useHeaderForKs?: boolean;
    requestFilter?: PlayerRequestFilter;
  }) {
    this._config = {
      session: { ks: options.ks, partnerId: 12345 },
      provider: { ks: options.ks, useHeaderForKs: options.useHeaderForKs },
      network: { requestFilter: options.requestFilter },
    };
    let ks = options.ks;
    this.provider = {
      get ks() {
        return ks;
      },
      set ks(value) {
        ks = value;
      },
    };
    this.plugins = {
      kava: new FakePlugin({ ks: options.ks, partnerId: 12345 }),
      share: new FakePlugin({ partnerId: 12345 }),
    };
    if (options.useHeaderForKs) {
      const network = this.config.network as { requestFilter?: PlayerRequestFilter };
      const requestFilter = network.requestFilter;
      network.requestFilter = (type, request) => {
        if (requestFilter) requestFilter(type, request);
        const session = this.config.session as { ks?: string };
        if (type === MANIFEST && session.ks) request.headers!['X-Kaltura-Ks'] = session.ks;
      };
      this.configure({ network });
    }
  }

  get config(): Config {
    return this._config;
  }

  configure(config: object): void {
    mergeDeep(this._config, config as Config);
  }

  getKs(): string {
    return (
      (this.config.session as { ks?: string }).ks ||
      (this.config.provider as { ks?: string }).ks ||
      ''
    );
  }

  updateThumbnailKs(newKs: string): void {
    this.thumbnailKs = newKs;
  }

  addEventListener(type: string, listener: (event: { payload?: unknown }) => void): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(listener);
  }

  removeEventListener(type: string, listener: (event: { payload?: unknown }) => void): void {
    this.listeners.get(type)?.delete(listener);
  }

  /** The player dispatches a playkit `FakeEvent`: `{ type, payload }`. */
  dispatch(type: string, payload: unknown): void {
    for (const listener of this.listeners.get(type) ?? []) listener({ payload });
  }

  async send(type: number, url: string): Promise<PlayerRequest> {
    const request: PlayerRequest = { url, body: null, headers: {} };
    const filter = (this.config.network as { requestFilter?: PlayerRequestFilter }).requestFilter;
    const result = (await filter?.(type, request)) as PlayerRequest | undefined;
    return result ?? request;
  }
}

const manifest = (ks: string) =>
  `https://cdnapisec.kaltura.com/p/12345/sp/1234500/playManifest/entryId/0_abc/protocol/https/format/applehttp/ks/${ks}/a.m3u8?uiConfId=1`;

async function setup(
  options: {
    useHeaderForKs?: boolean;
    requestFilter?: PlayerRequestFilter;
    /** The client's (default false: a tab on its own). */
    crossTab?: boolean;
  } = {},
) {
  const clock = new FakeClock();
  const server = fakeServer(clock);
  // The route replaces a KS reported as refused (the server checked it with Kaltura).
  const fetch = fakeFetch(clock, (call) => {
    const headers = call.init.headers as Record<string, string> | undefined;
    if (headers?.['X-Kaltura-Rejected-Ks'] === server.current?.ks) server.mint();
    return server.handle(call);
  });
  const client = createKsClient({
    fetch,
    now: clock.now,
    monotonic: clock.monotonic,
    timers: clock.provider,
    crossTab: options.crossTab ?? false,
  });
  const ks1 = await client.getKs();
  const player = new FakeKalturaPlayer({ ks: ks1, ...options });
  return { clock, client, player, ks1, fetch };
}

describe('attachPlayer', () => {
  it('puts the current KS in the session, the provider, KAVA and thumbnails on attach', async () => {
    const { client } = await setup();
    // A player set up without a KS gets the client's at once.
    const player = new FakeKalturaPlayer({ ks: '' });
    client.attachPlayer(player);
    const ks = client.current!.ks;
    expect(player.getKs()).toBe(ks);
    expect(player.provider.ks).toBe(ks);
    expect(player.plugins.kava!.getConfig('ks')).toBe(ks);
    expect(player.plugins.share!.getConfig('ks')).toBeUndefined();
    expect(player.thumbnailKs).toBe(ks);
  });

  it('after a renewal, requests carry the new KS: manifests, segments, analytics', async () => {
    const { client, player, ks1 } = await setup();
    client.attachPlayer(player);
    const ks2 = await client.refresh();
    expect(ks2).not.toBe(ks1);
    expect((await player.send(MANIFEST, manifest(ks1))).url).toBe(manifest(ks2));
    expect((await player.send(SEGMENT, `https://cdn.example/seg-1.ts?ks=${ks1}&x=1`)).url).toBe(
      `https://cdn.example/seg-1.ts?ks=${ks2}&x=1`,
    );
    expect(player.plugins.kava!.getConfig('ks')).toBe(ks2);
    expect(player.provider.ks).toBe(ks2);
  });

  it('keeps the player’s own useHeaderForKs filter working, with the new KS', async () => {
    const { client, ks1 } = await setup();
    const player = new FakeKalturaPlayer({ ks: ks1, useHeaderForKs: true });
    client.attachPlayer(player);
    const ks2 = await client.refresh();
    const request = await player.send(MANIFEST, manifest(ks1));
    expect(request.headers!['X-Kaltura-Ks']).toBe(ks2);
    expect(request.url).toBe(manifest(ks2));
  });

  it('chains an async filter of the app', async () => {
    const { client, ks1 } = await setup();
    const player = new FakeKalturaPlayer({
      ks: ks1,
      requestFilter: async (_type, request) => ({ ...request, headers: { 'x-app': '1' } }),
    });
    client.attachPlayer(player);
    const ks2 = await client.refresh();
    const request = await player.send(MANIFEST, manifest(ks1));
    expect(request).toMatchObject({ url: manifest(ks2), headers: { 'x-app': '1' } });
  });

  it('leaves alone a KS it never gave the player, and signed DRM custom_data', async () => {
    const { client, player } = await setup();
    client.attachPlayer(player);
    await client.refresh();
    const other = manifest('djJ8OTk5fG90aGVy');
    expect((await player.send(MANIFEST, other)).url).toBe(other);
    const license =
      'https://udrm.kaltura.com/cenc/widevine/license?custom_data=eyJ1c2VyX3Rva2VuIjoi&signature=abc';
    expect((await player.send(LICENSE, license)).url).toBe(license);
  });

  it('detach restores the previous filter and stops the updates', async () => {
    const appFilter: PlayerRequestFilter = () => {};
    const { client, ks1 } = await setup();
    const player = new FakeKalturaPlayer({ ks: ks1, requestFilter: appFilter });
    const detach = client.attachPlayer(player);
    expect((player.config.network as { requestFilter: unknown }).requestFilter).not.toBe(appFilter);
    detach();
    detach();
    expect((player.config.network as { requestFilter: unknown }).requestFilter).toBe(appFilter);
    await client.refresh();
    expect(player.getKs()).toBe(ks1);
    expect((await player.send(MANIFEST, manifest(ks1))).url).toBe(manifest(ks1));
  });

  it('a filter captured by an adapter before detach becomes a pass-through', async () => {
    const { client, player, ks1 } = await setup();
    const detach = client.attachPlayer(player);
    const captured = (player.config.network as { requestFilter: PlayerRequestFilter })
      .requestFilter;
    await client.refresh();
    detach();
    const request = { url: manifest(ks1), headers: {} };
    captured(MANIFEST, request);
    expect(request.url).toBe(manifest(ks1));
  });

  it('clear() takes the KS out of the player; stop() detaches it', async () => {
    const { client, player, ks1 } = await setup();
    client.attachPlayer(player);
    client.clear();
    expect(player.getKs()).toBe('');
    expect(player.provider.ks).toBe('');
    expect((await player.send(MANIFEST, manifest(ks1))).url).toBe(manifest(ks1));
    client.stop();
    expect((player.config.network as { requestFilter?: unknown }).requestFilter).toBeUndefined();
  });
});

/** playkit `Error` categories and codes, as the player's `error` event carries them. */
const NETWORK = 1;
const MULTIREQUEST_API_ERROR = 1006;
const HTTP_ERROR = 1002;

describe('attachPlayer: a KS that Kaltura refused', () => {
  const reported = (fetch: { calls: { init: RequestInit }[] }) =>
    fetch.calls.flatMap((c) => {
      const ks = (c.init.headers as Record<string, string> | undefined)?.['X-Kaltura-Rejected-Ks'];
      return ks ? [ks] : [];
    });

  it('INVALID_KS from an API call (loadMedia) is reported, and the player gets the new KS', async () => {
    const { client, player, ks1, fetch } = await setup();
    client.attachPlayer(player);
    // What the OVP provider rejects loadMedia with (playkit-js-providers multi-request-builder).
    player.dispatch('error', {
      severity: 2,
      category: NETWORK,
      code: MULTIREQUEST_API_ERROR,
      data: {
        url: 'https://cdnapisec.kaltura.com/api_v3/service/multirequest',
        results: [
          {
            hasError: true,
            error: { code: 'INVALID_KS', message: 'Invalid KS "LOGOUT", Error "-1,INVALID_STR"' },
          },
        ],
      },
    });
    await flush();
    expect(reported(fetch)).toEqual([ks1]);
    const ks2 = client.current!.ks;
    expect(ks2).not.toBe(ks1);
    expect(player.getKs()).toBe(ks2);
    expect(player.provider.ks).toBe(ks2);
    expect((await player.send(MANIFEST, manifest(ks1))).url).toBe(manifest(ks2));
  });

  it('an HTTP 403 on a manifest that carried the KS it gave is reported', async () => {
    const { client, player, ks1, fetch } = await setup();
    client.attachPlayer(player);
    // What the hls adapter reports (playkit-js-hls _getErrorDataObject).
    player.dispatch('error', {
      severity: 2,
      category: NETWORK,
      code: HTTP_ERROR,
      data: { url: manifest(ks1), responseCode: 403 },
    });
    await flush();
    expect(reported(fetch)).toEqual([ks1]);
    expect(player.getKs()).not.toBe(ks1);
  });

  it('other errors, and a 403 on a URL without its KS, report nothing', async () => {
    const { client, player, fetch } = await setup();
    client.attachPlayer(player);
    player.dispatch('error', {
      category: NETWORK,
      code: HTTP_ERROR,
      data: { url: manifest('djJ8OTk5fG90aGVy'), responseCode: 403 },
    });
    player.dispatch('error', {
      category: 7,
      code: 7000,
      data: { url: manifest(client.current!.ks) },
    });
    const cyclic: Record<string, unknown> = { code: 'INVALID_KS' };
    cyclic.self = cyclic;
    player.dispatch('error', cyclic);
    player.dispatch('error', undefined);
    await flush();
    expect(reported(fetch)).toEqual([]);
  });

  it('after detach, errors report nothing', async () => {
    const { client, player, fetch } = await setup();
    const detach = client.attachPlayer(player);
    detach();
    expect(player.listeners.get('error')?.size ?? 0).toBe(0);
    player.dispatch('error', { code: 'INVALID_KS' });
    await flush();
    expect(reported(fetch)).toEqual([]);
  });
});

describe('attachPlayer on a player that throws while it is attached', () => {
  it('leaves stop() whole: it does not throw, and the stopped client fetches no more', async () => {
    const { client, clock, fetch } = await setup();
    const broken: KalturaPlayerLike = {
      configure() {},
      getKs() {
        throw new Error('player torn down');
      },
    };
    expect(() => client.attachPlayer(broken)).toThrow('player torn down');
    const calls = fetch.calls.length;
    expect(() => client.stop()).not.toThrow();
    await clock.advance(48 * 3_600_000);
    expect(fetch.calls).toHaveLength(calls);
  });

  it('a player that throws while being detached: stop() still tears everything down, detaches the others, then reports', async () => {
    const browser = installBrowser();
    const { client, clock, ks1 } = await setup({ crossTab: true });
    const good = new FakeKalturaPlayer({ ks: ks1 });
    const broken = new FakeKalturaPlayer({ ks: ks1 });
    client.attachPlayer(broken);
    client.attachPlayer(good);
    // Detaching puts the previous filter back with `configure`: here that throws.
    broken.configure = (config: object) => {
      if ('network' in config) throw new Error('player torn down');
    };
    const thrown: unknown[] = [];
    // The client rethrows a player's error in a microtask, where the page reports it.
    vi.stubGlobal('queueMicrotask', (fn: () => void) => {
      try {
        fn();
      } catch (e) {
        thrown.push(e);
      }
    });
    expect(clock.pending).toBeGreaterThan(0);
    expect(() => client.stop()).not.toThrow();
    expect(clock.pending).toBe(0);
    expect(browser.window.count).toBe(0);
    expect(browser.hub.open.size).toBe(0);
    expect((good.config.network as { requestFilter?: unknown }).requestFilter).toBeUndefined();
    expect(thrown).toEqual([new Error('player torn down')]);
  });
});
