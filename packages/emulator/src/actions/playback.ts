import { apiError } from '../errors.js';
import { findSample, mayPlay, partnerPath, type Sample } from '../samples.js';
import { type ActionDefinition, defineAction } from './define.js';
import { toFlavorAsset } from './entries.js';

/** Delivery profiles the sources name (numbers, as Kaltura's runtime values are). */
const DELIVERY_PROFILE = { applehttp: 1001, url: 1002 } as const;

/** Kaltura's message for `kAccessControlSessionRestriction` (RuleRestrictions::SESSION_RESTRICTED). */
const SESSION_RESTRICTED = {
  message: "No KS where KS is required\nWe're sorry, access to this content is restricted.",
  code: 'SESSION_RESTRICTED',
  objectType: 'KalturaAccessControlMessage',
};

function source(
  sample: Sample,
  partnerId: number,
  origin: string,
  format: keyof typeof DELIVERY_PROFILE,
): Record<string, unknown> {
  const file = format === 'applehttp' ? 'a.m3u8' : 'a.mp4';
  return {
    deliveryProfileId: DELIVERY_PROFILE[format],
    format,
    protocols: 'http,https',
    flavorIds: sample.flavorId,
    url: `${origin}${partnerPath(partnerId)}/playManifest/entryId/${sample.id}/flavorIds/${sample.flavorId}/deliveryProfileId/${DELIVERY_PROFILE[format]}/protocol/http/format/${format}/${file}`,
    drm: [],
    objectType: 'KalturaPlaybackSource',
  };
}

/**
 * baseEntry.getPlaybackContext (BaseEntryService `getPlaybackContextAction`): an unknown entry
 * is ENTRY_ID_NOT_FOUND; a KS-protected entry the session may not play answers, as Kaltura
 * does, with a BLOCK action and the SESSION_RESTRICTED message and nothing to play; otherwise
 * the HLS (`applehttp`) source first, then the progressive one (`url`), the flavor, and empty
 * captions, actions, messages and bumper. The player builds the playManifest URLs itself
 * from `flavorIds` (adding `/ks/<ks>`); `url` is what Kaltura writes, without a KS.
 */
const getPlaybackContext = defineAction({
  service: 'baseEntry',
  action: 'getPlaybackContext',
  access: 'session',
  partner: 'known',
  parse: (p) => {
    const entryId = p.requiredString('entryId');
    // KalturaPlaybackContextOptions (the player sends its subclass KalturaContextDataParams):
    // required, though nothing in it changes what the samples play.
    p.requiredObject('contextDataParams');
    return { entryId };
  },
  run({ entryId }, { partner, session, origin }) {
    const sample = findSample(entryId);
    if (sample === undefined) throw apiError('ENTRY_ID_NOT_FOUND', entryId);
    const partnerId = partner!.id;
    if (!mayPlay(sample, session)) {
      return {
        actions: [{ type: 1, objectType: 'KalturaAccessControlBlockAction' }],
        messages: [SESSION_RESTRICTED],
        objectType: 'KalturaPlaybackContext',
      };
    }
    return {
      sources: [
        source(sample, partnerId, origin, 'applehttp'),
        source(sample, partnerId, origin, 'url'),
      ],
      playbackCaptions: [],
      flavorAssets: [toFlavorAsset(sample, partnerId)],
      actions: [],
      messages: [],
      bumperData: [],
      objectType: 'KalturaPlaybackContext',
    };
  },
});

export const PLAYBACK_ACTIONS: readonly ActionDefinition[] = [getPlaybackContext];
