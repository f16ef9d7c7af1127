import type { KalturaPlayerLike } from '@kaltura-ks/browser';
import { type RefObject, useEffect, useId, useRef, useState } from 'react';
import { useKsClient } from './ks.js';

/** The part of a Kaltura Player (kaltura-player-js v3) the hook uses. */
export interface KalturaPlayerInstance extends KalturaPlayerLike {
  loadMedia(mediaInfo: { entryId: string }): unknown;
  destroy(): void;
}

/** `KalturaPlayer`: the global of Kaltura's CDN bundle, or the npm package's namespace. */
export interface KalturaPlayerLibrary {
  setup(config: object): KalturaPlayerInstance;
}

export interface UseKalturaPlayerOptions {
  entryId: string;
  partnerId: number;
  uiConfId?: number;
  /** Default: `globalThis.KalturaPlayer` (a `<script>` from Kaltura's CDN). */
  library?: KalturaPlayerLibrary;
  /** More setup config (playback, ui, plugins…), read when the player is set up. */
  config?: { provider?: object; [key: string]: unknown };
}

export interface UseKalturaPlayer {
  player?: KalturaPlayerInstance;
  error?: unknown;
}

/**
 * Sets a Kaltura Player up in `ref`'s element with the current KS, keeps it on a fresh KS
 * (`attachPlayer`), loads `entryId` (again whenever it changes), and destroys it on unmount.
 * A new `partnerId` or `uiConfId` sets up a new player.
 */
export function useKalturaPlayer(
  ref: RefObject<HTMLElement | null>,
  options: UseKalturaPlayerOptions,
): UseKalturaPlayer {
  const client = useKsClient();
  const id = `kaltura-player${useId()}`;
  const latest = useRef(options);
  latest.current = options;
  const [state, setState] = useState<UseKalturaPlayer>({});
  const { entryId, partnerId, uiConfId } = options;

  useEffect(() => {
    const element = ref.current;
    if (!client || !element) return;
    let live = true;
    let player: KalturaPlayerInstance | undefined;
    let detach: (() => void) | undefined;
    client
      .getKs()
      .then((ks) => {
        if (!live) return;
        const { library, config } = latest.current;
        const lib =
          library ?? (globalThis as { KalturaPlayer?: KalturaPlayerLibrary }).KalturaPlayer;
        if (!element.id) element.id = id;
        player = lib!.setup({
          ...config,
          targetId: element.id,
          provider: { ...config?.provider, partnerId, uiConfId, ks },
        });
        detach = client.attachPlayer(player);
        setState({ player });
      })
      .catch((error: unknown) => live && setState({ error }));
    return () => {
      live = false;
      detach?.();
      player?.destroy();
      setState({});
    };
  }, [client, partnerId, uiConfId, ref, id]);

  const { player } = state;
  useEffect(() => {
    if (!player) return;
    Promise.resolve()
      .then(() => player.loadMedia({ entryId }))
      .catch((error: unknown) => setState((s) => (s.player === player ? { player, error } : s)));
  }, [player, entryId]);

  return state;
}
