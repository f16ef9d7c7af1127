import type { KsClient, KsEvent, KsSession } from '@kaltura-ks/browser';
import { describe, expect, it } from 'vitest';
import { reloadProgressiveOnKs } from './progressive.js';

/** A `<video>` as far as the helper uses it: setting `src` starts a load, as the browser's does. */
class FakeVideo {
  currentTime = 0;
  paused = true;
  currentSrc: string;
  plays = 0;
  #listeners = new Map<string, (() => void)[]>();

  constructor(src: string) {
    this.currentSrc = src;
  }
  get src(): string {
    return this.currentSrc;
  }
  set src(value: string) {
    // The media element load algorithm: a new resource, position 0, paused.
    this.currentSrc = value;
    this.currentTime = 0;
    this.paused = true;
  }
  addEventListener(type: string, listener: () => void): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }
  fire(type: string): void {
    const listeners = this.#listeners.get(type) ?? [];
    this.#listeners.delete(type); // every listener here is { once: true }
    for (const listener of listeners) listener();
  }
  play(): Promise<void> {
    this.plays++;
    this.paused = false;
    return Promise.resolve();
  }
}

function setup(src: string) {
  const video = new FakeVideo(src);
  let listener: ((event: KsEvent) => void) | undefined;
  const client = {
    subscribe(l: (event: KsEvent) => void) {
      listener = l;
      return () => {};
    },
  } as unknown as KsClient;
  reloadProgressiveOnKs({ getVideoElement: () => video as unknown as HTMLVideoElement }, client);
  const renew = (ks: string) => listener!({ type: 'ks', session: { ks } as KsSession });
  return { video, renew };
}

const URL_WITH = (ks: string) =>
  `http://127.0.0.1:1/p/1/sp/100/playManifest/entryId/0_e/format/url/flavorIds/0_f/ks/${ks}/a.mp4?playSessionId=x`;

describe('reloadProgressiveOnKs', () => {
  it('reloads a progressive source with the new KS, at the time it had reached, playing again', () => {
    const { video, renew } = setup(URL_WITH('OLD'));
    video.currentTime = 12.5;
    video.paused = false;
    renew('NEW');
    expect(video.currentSrc).toBe(URL_WITH('NEW'));
    video.fire('loadedmetadata');
    expect(video.currentTime).toBe(12.5);
    expect(video.plays).toBe(1);
  });

  it('keeps the first reload’s time and state when another KS arrives while it loads', () => {
    const { video, renew } = setup(URL_WITH('A'));
    video.currentTime = 30;
    video.paused = false;
    renew('B');
    renew('C'); // the element now looks paused at 0: that is the load, not the viewer
    expect(video.currentSrc).toBe(URL_WITH('C'));
    video.fire('loadedmetadata');
    expect(video.currentTime).toBe(30);
    expect(video.plays).toBe(1);
  });

  it('lets a seek made while loading win, and leaves a paused video paused', () => {
    const { video, renew } = setup(URL_WITH('A'));
    video.currentTime = 30;
    renew('B');
    video.currentTime = 50; // the viewer seeks before the new load has its metadata
    video.fire('loadedmetadata');
    expect(video.currentTime).toBe(50);
    expect(video.plays).toBe(0);
  });

  it('leaves MediaSource playback (HLS, DASH) and URLs without a KS alone', () => {
    for (const src of ['blob:http://127.0.0.1:1/abc', 'http://127.0.0.1:1/movie.mp4']) {
      const { video, renew } = setup(src);
      renew('NEW');
      expect(video.currentSrc).toBe(src);
    }
  });
});
