import { apiError } from '../errors.js';
import { type ActionDefinition, defineAction } from './define.js';

/** KalturaMetadataObjectType.ENTRY, the filter's default. */
const ENTRY_OBJECT_TYPE = '1';

/**
 * metadata_metadata.list (the metadata plugin's MetadataService): the samples carry no custom
 * metadata, so the answer is an empty `KalturaMetadataListResponse`, after Kaltura's checks of
 * the filter: an object type (ENTRY by default) and, for entries, object ids.
 */
const list = defineAction({
  service: 'metadata_metadata',
  action: 'list',
  access: 'session',
  partner: 'known',
  parse: (p) => {
    const filter = p.object('filter');
    const objectType = filter?.has('metadataObjectTypeEqual')
      ? filter.string('metadataObjectTypeEqual')
      : ENTRY_OBJECT_TYPE;
    const ids = filter?.string('objectIdEqual') || filter?.string('objectIdIn');
    return { objectType, ids };
  },
  run({ objectType, ids }) {
    if (!objectType) throw apiError('MUST_FILTER_ON_OBJECT_TYPE');
    if (objectType === ENTRY_OBJECT_TYPE && !ids) throw apiError('MUST_FILTER_ON_OBJECT_ID');
    return { objects: [], totalCount: 0, objectType: 'KalturaMetadataListResponse' };
  },
});

export const METADATA_ACTIONS: readonly ActionDefinition[] = [list];
