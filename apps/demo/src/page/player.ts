import type { KalturaPlayerLike, KsClient } from '@kaltura-ks/browser';
import { $, log, tail } from './log.js';
import { type PlayerWithVideo, reloadProgressiveOnKs } from './progressive.js';

/** What `/api/me` says about the player. */
export type PlayerInfo =
  | {
      /** The embedded emulator: the player from npm, served by the demo, plays a sample. */
      kind: 'emulator';
      partnerId: number;
      entryId: string;
      script: string;
      serviceUrl: string;
      cdnUrl: string;
    }
  | { kind: 'kaltura'; partnerId: number; playerId: number; entryId: string }
  | { kind: 'none'; entryId: string | null };

type Player = KalturaPlayerLike &
  PlayerWithVideo & {
    loadMedia(media: { entryId: string }): Promise<unknown>;
    addEventListener(type: string, listener: (event: { payload?: unknown }) => void): void;
  };
interface KalturaPlayerGlobal {
  setup(config: object): Player;
}

function loadScript(src: string): Promise<KalturaPlayerGlobal> {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = () =>
      resolve((window as unknown as { KalturaPlayer: KalturaPlayerGlobal }).KalturaPlayer);
    script.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.append(script);
  });
}

/**
 * Logs when the player's media requests (playManifest, playlists, segments) switch to another
 * KS, from the URLs the browser actually fetched (Resource Timing): after each renewal, the
 * request filter that `attachPlayer` installed puts the new KS in them.
 */
function watchMediaRequests(origin: string): void {
  let last: string | undefined;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (!entry.name.startsWith(`${origin}/p/`)) continue;
      const ks = /\/ks\/([^/?#]+)/.exec(entry.name)?.[1];
      if (ks === undefined || ks === last) continue;
      if (last !== undefined) log(`Player requests switched to the renewed KS ${tail(ks)}`, 'ok');
      last = ks;
    }
    performance.clearResourceTimings();
  });
  observer.observe({ type: 'resource', buffered: true });
}

async function play(
  client: KsClient,
  KalturaPlayer: KalturaPlayerGlobal,
  provider: object,
  entryId: string,
  playback: object,
): Promise<void> {
  const ks = await client.getKs();
  const player = KalturaPlayer.setup({
    targetId: 'player',
    provider: { ...provider, ks },
    playback,
  });
  // For the browser tests (and the console).
  (window as unknown as { demoPlayer: Player }).demoPlayer = player;
  player.addEventListener('error', (event) => {
    const code = (event.payload as { code?: unknown } | undefined)?.code;
    log(`Player error ${String(code ?? '')}`, 'bad');
  });
  // Before loadMedia: the adapters take the request filter when they load a source.
  client.attachPlayer(player);
  reloadProgressiveOnKs(player, client);
  await player.loadMedia({ entryId });
  log(`Player loaded entry ${entryId}, kept on the current KS`, 'info');
}

export async function loadPlayer(client: KsClient, info: PlayerInfo): Promise<void> {
  if (info.kind === 'none') {
    playerNote(info.entryId);
    return;
  }
  try {
    if (info.kind === 'emulator') {
      const KalturaPlayer = await loadScript(info.script);
      watchMediaRequests(info.cdnUrl);
      await play(
        client,
        KalturaPlayer,
        { partnerId: info.partnerId, env: { serviceUrl: info.serviceUrl, cdnUrl: info.cdnUrl } },
        info.entryId,
        {
          autoplay: true,
          muted: true,
          loop: true,
          // The samples are tiny: keep the buffer short so the player keeps fetching segments
          // (and the log shows them switch KS) instead of holding the whole entry at once.
          options: { html5: { hls: { maxBufferLength: 10, maxMaxBufferLength: 10 } } },
        },
      );
    } else {
      const KalturaPlayer = await loadScript(
        `https://cdnapisec.kaltura.com/p/${info.partnerId}/embedPlaykitJs/uiconf_id/${info.playerId}`,
      );
      await play(
        client,
        KalturaPlayer,
        { partnerId: info.partnerId, uiConfId: info.playerId },
        info.entryId,
        { autoplay: false },
      );
    }
  } catch (error) {
    log(
      info.kind === 'kaltura' && (error as Error).message.startsWith('cannot load')
        ? 'The Kaltura Player could not be loaded (offline?)'
        : `The player could not play entry ${info.entryId}`,
      'bad',
    );
  }
}

function playerNote(entryId: string | null): void {
  const note = $('player-note');
  note.hidden = false;
  note.innerHTML = '';
  const lead = document.createElement('p');
  lead.textContent = `With a Kaltura account, the Kaltura Player would play ${entryId ? `entry ${entryId}` : 'your entry'} here, and attachPlayer() would hand it each new KS as it renews.`;
  const how = document.createElement('p');
  how.innerHTML =
    'Set <code>KALTURA_SERVICE_URL</code>, <code>KALTURA_PARTNER_ID</code>, a way to mint (<code>KALTURA_ADMIN_SECRET</code>, or <code>KS_STRATEGY=app-token</code> with <code>KALTURA_APP_TOKEN_ID</code>/<code>KALTURA_APP_TOKEN</code>), <code>KALTURA_PLAYER_ID</code> and <code>KALTURA_ENTRY_ID</code> in <code>.env</code> — see <code>apps/demo/.env.example</code>.';
  note.append(lead, how);
}
