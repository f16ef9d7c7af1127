import type { KsClient } from '@kaltura-ks/browser';

/** What this needs of a Kaltura Player. */
export interface PlayerWithVideo {
  getVideoElement(): HTMLVideoElement | undefined;
}

const KS_IN_PATH = /\/ks\/[^/?#]+/;

/**
 * A progressive download (the `<video>` plays a URL, not a MediaSource) keeps the URL, and so
 * the KS, it was loaded with: after that KS expires, the browser's next range request (a seek
 * beyond what it holds) is refused and the player fails (3016). The player's request filter
 * never sees those requests. So on each new KS this reloads such a source with the new KS in
 * its path, at the time it had reached, playing again if it was playing. A renewal while a
 * reload is still loading keeps that reload's time and state (the element looks paused then);
 * a seek made meanwhile wins over the saved time. HLS and DASH need none of this: every
 * manifest and segment request goes through the filter. Returns an unsubscribe function.
 */
export function reloadProgressiveOnKs(player: PlayerWithVideo, client: KsClient): () => void {
  let pending: { at: number; playing: boolean } | undefined;
  return client.subscribe((event) => {
    if (event.type !== 'ks') return;
    const video = player.getVideoElement();
    const src = video?.currentSrc || video?.src || '';
    if (video === undefined || !KS_IN_PATH.test(src) || src.startsWith('blob:')) return;
    const next = src.replace(KS_IN_PATH, `/ks/${event.session.ks}`);
    if (next === src) return;
    if (pending === undefined) {
      const target = { at: video.currentTime, playing: !video.paused };
      pending = target;
      video.addEventListener(
        'loadedmetadata',
        () => {
          pending = undefined;
          // A seek made while loading is already applied: keep it.
          if (video.currentTime === 0) video.currentTime = target.at;
          if (target.playing) video.play().catch(() => {});
        },
        { once: true },
      );
    }
    video.src = next;
  });
}
