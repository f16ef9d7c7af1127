import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Session } from './session.js';

/**
 * The emulator's media entries: the same for every partner, each with one H.264 rendition
 * committed under `media/<id>/` (made by `media/make-media.sh`): a progressive `a.mp4`, an HLS
 * playlist of the same frames (`index.m3u8`, `init.mp4`, `seg-N.m4s`), a poster and a strip of
 * seek-bar thumbnails.
 */
export interface Sample {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly tags: string;
  readonly createdAt: number;
  /** The committed media's length. */
  readonly durationSeconds: number;
  /** The one flavor (rendition) of the entry. */
  readonly flavorId: string;
  /**
   * Kaltura's "KS protected" access control (`kAccessControlSessionRestriction`): played only
   * with an ADMIN KS or one whose `sview` privilege names the entry (or `*`). Listing is not
   * restricted.
   */
  readonly ksProtected: boolean;
}

export const SAMPLE_ENTRIES: readonly Sample[] = [
  {
    id: '0_emu00001',
    name: 'Emulator sample: sunrise',
    description: 'A fixed entry served by @kaltura-ks/emulator (KS protected)',
    tags: 'emulator,sample',
    createdAt: 1_700_000_000,
    durationSeconds: 60,
    flavorId: '0_emf00001',
    ksProtected: true,
  },
  {
    id: '0_emu00002',
    name: 'Emulator sample: ocean',
    description: 'A fixed entry served by @kaltura-ks/emulator',
    tags: 'emulator,sample',
    createdAt: 1_700_000_600,
    durationSeconds: 75,
    flavorId: '0_emf00002',
    ksProtected: false,
  },
  {
    id: '0_emu00003',
    name: 'Emulator sample: city at night',
    description: 'A fixed entry served by @kaltura-ks/emulator (KS protected)',
    tags: 'emulator,sample',
    createdAt: 1_700_001_200,
    durationSeconds: 90,
    flavorId: '0_emf00003',
    ksProtected: true,
  },
];

/** The committed rendition: 320x180 at 10 fps, H.264 constrained baseline 3.0, no audio. */
export const RENDITION = {
  width: 320,
  height: 180,
  frameRate: 10,
  codecs: 'avc1.42c01e',
  flavorParamsId: 301,
} as const;

const BY_ID = new Map(SAMPLE_ENTRIES.map((s) => [s.id, s]));

export function findSample(entryId: string): Sample | undefined {
  return BY_ID.get(entryId);
}

const MEDIA_DIR = fileURLToPath(new URL('../media/', import.meta.url));

/** The path of one of a sample's committed files; `name` must already be one of them. */
export function mediaPath(sample: Sample, name: string): string {
  return `${MEDIA_DIR}${sample.id}/${name}`;
}

const sizes = new Map<string, number>();

/** The progressive file's size in bytes (read once). */
export function flavorSizeBytes(sample: Sample): number {
  let size = sizes.get(sample.id);
  if (size === undefined) {
    size = statSync(mediaPath(sample, 'a.mp4')).size;
    sizes.set(sample.id, size);
  }
  return size;
}

/**
 * Whether a session may play a sample, as Kaltura's `kAuthenticatedCondition` decides for a
 * KS-protected entry: an ADMIN KS, or `sview:*`, or `sview:<entryId>`. Widget sessions carry
 * `view:*`, not `sview`, so they are refused too.
 */
export function mayPlay(sample: Sample, session: Session | undefined): boolean {
  if (!sample.ksProtected) return true;
  if (session === undefined) return false;
  if (session.isAdmin) return true;
  const granted = session.privileges.get('sview') ?? [];
  return granted.includes('*') || granted.includes(sample.id);
}

/** `/p/<pid>/sp/<pid>00`: where Kaltura serves a partner's media. */
export function partnerPath(partnerId: number): string {
  return `/p/${partnerId}/sp/${partnerId}00`;
}
