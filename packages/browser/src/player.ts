/**
 * Keeps a Kaltura Player (kaltura-player-js v3 / playkit) on the current KS.
 *
 * What the player's own code shows (kaltura-player-js 3.17, src/kaltura-player.ts unless said):
 * - The KS is baked into URLs: playManifest `/ks/<ks>` (playkit-js-providers
 *   `play-source-url-builder`), posters and thumbnails (`/ks/<ks>`, `addKsToUrl` uses
 *   `?ks=`/`&ks=` for file names). So a new `session.ks` alone does not reach a stream that
 *   is already loaded.
 * - Every MANIFEST, SEGMENT and LICENSE request goes through `config.network.requestFilter`,
 *   read from the config at request time and expected to mutate `request` in place
 *   (playkit-js-hls `xhrSetup`, playkit-js-dash `registerRequestFilter`, playkit-js
 *   native adapter `_setSrc`, FairPlay handler `_onWebkitKeyMessage`). The player itself
 *   installs one this way for `provider.useHeaderForKs` (X-Kaltura-Ks from
 *   `this.config.session.ks`) with `this.configure({ network })`, chaining the app's filter.
 * - `configure({ session: { ks }, provider: { ks } })` updates `getKs()` (which reads
 *   `config.session.ks || config.provider.ks`), the useHeaderForKs header, posters, and the
 *   `{{ks}}` that plugin configs (KAVA, ottAnalytics) are evaluated with at the next media.
 * - `provider.ks` has a setter (playkit-js-providers `BaseProvider`); the provider uses it
 *   for the next API calls (`loadMedia` → getPlaybackContext and so on).
 * - KAVA reads `this.config.ks` for every analytics event (playkit-js-kava src/kava.ts
 *   `_model.getKS`), so `plugin.updateConfig({ ks })` reaches the events still to be sent.
 * - `updateThumbnailKs(ks)` (PR #1185) swaps the KS used for thumbnails.
 * - DRM: the license URL's `custom_data` embeds the KS current at getPlaybackContext and
 *   is signed (kaltura/server plugins/drm/lib/DrmLicenseUtils.php), so it cannot be
 *   rewritten here; a new media load picks up the new KS through `provider.ks`.
 */

/** What `network.requestFilter` receives (playkit-js `PKRequestObject`). */
export interface PlayerRequest {
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
}

/** playkit-js `network.requestFilter`: mutate the request, or return a promise of one. */
export type PlayerRequestFilter = (type: number, request: PlayerRequest) => unknown;

/** The part of `KalturaPlayer` that `attachPlayer` touches (structural, no import needed). */
export interface KalturaPlayerLike {
  /** Called with `{ session: { ks }, provider: { ks } }` and `{ network: { requestFilter } }`. */
  configure(config: object): void;
  readonly config?: { network?: { requestFilter?: PlayerRequestFilter } };
  readonly provider?: { ks?: string };
  readonly plugins?: Record<
    string,
    { getConfig?(attr?: string): unknown; updateConfig?(update: object): void }
  >;
  getKs?(): string;
  updateThumbnailKs?(ks: string, sendEvent?: boolean): void;
  /** The player's events; `error` carries a playkit `Error` as its `payload`. */
  addEventListener?(type: string, listener: (event: { payload?: unknown }) => void): void;
  removeEventListener?(type: string, listener: (event: { payload?: unknown }) => void): void;
}

// `/ks/<ks>` in a path or `ks=<ks>` in a query string.
const KS_IN_URL = /(\/ks\/|[?&]ks=)([^/?&#]+)/g;

/**
 * Pushes each KS into the player and installs a request filter that rewrites any KS the
 * player was given before (and only those) to the current one. Returns a detach function,
 * which is in `attached` from when the player is attached until it has run (the client's
 * `stop()` runs those left).
 * Attach before `loadMedia` so the adapters of the first media pick the filter up.
 */
export function attach(
  player: KalturaPlayerLike,
  onKs: (apply: (ks: string) => void) => () => void,
  report: (ks: string) => Promise<string>,
  attached: Set<() => void>,
): () => void {
  const seen = new Set<string>();
  let ks = player.getKs?.() ?? '';
  seen.add(ks);
  const prev = player.config?.network?.requestFilter;

  const fix = (request: PlayerRequest) => {
    if (attached.has(detach) && ks)
      request.url = request.url.replace(KS_IN_URL, (all, head: string, old: string) =>
        seen.has(old) ? head + ks : all,
      );
    return request;
  };
  const requestFilter: PlayerRequestFilter = (type, request) => {
    const r = prev?.(type, request) as Promise<PlayerRequest | undefined> | undefined;
    if (r?.then) return r.then((q) => fix(q ?? request));
    fix(request);
    return r;
  };
  player.configure({ network: { requestFilter } });

  const off = onKs((next) => {
    ks = next;
    seen.add(ks);
    player.configure({ session: { ks }, provider: { ks } });
    if (player.provider) player.provider.ks = ks;
    player.updateThumbnailKs?.(ks, false);
    for (const [name, plugin] of Object.entries(player.plugins ?? {}))
      if (name === 'kava' || typeof plugin.getConfig?.('ks') === 'string')
        plugin.updateConfig?.({ ks });
  });

  // Kaltura refused the KS: `INVALID_KS` from an API call (in the error's results), or an
  // HTTP 403 on a request that carried the KS we gave (a playManifest or segment URL).
  const onError = ({ payload }: { payload?: unknown }) => {
    try {
      const text = JSON.stringify(payload);
      if (ks && (/INVALID_KS/.test(text) || (/\b403\b/.test(text) && text.includes(ks))))
        report(ks).catch(() => {});
    } catch {} // not JSON (a cycle): not an error we can read
  };
  player.addEventListener?.('error', onError);
  // Only once attached: a player that threw above is not detached by `stop()` (`off` unset).
  attached.add(detach);
  return detach;

  function detach() {
    if (!attached.delete(detach)) return;
    off();
    player.removeEventListener?.('error', onError);
    player.configure({ network: { requestFilter: prev } });
  }
}
