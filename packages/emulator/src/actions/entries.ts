import type { Params } from '../params.js';
import {
  flavorSizeBytes,
  partnerPath,
  RENDITION,
  SAMPLE_ENTRIES,
  type Sample,
} from '../samples.js';
import { type ActionDefinition, type CallContext, defineAction } from './define.js';

/**
 * A `KalturaMediaEntry`, with a subset of its fields in Kaltura's declaration order. Numbers
 * are numbers, as PHP's runtime types put them (`type: 1`, `status: 2`).
 */
export function toMediaEntry(
  sample: Sample,
  partnerId: number,
  origin: string,
): Record<string, unknown> {
  const base = `${origin}${partnerPath(partnerId)}`;
  return {
    id: sample.id,
    name: sample.name,
    description: sample.description,
    partnerId,
    userId: 'emulator',
    creatorId: 'emulator',
    tags: sample.tags,
    adminTags: '',
    status: 2, // READY
    moderationStatus: 6, // AUTO_APPROVED
    moderationCount: 0,
    type: 1, // MEDIA_CLIP
    createdAt: sample.createdAt,
    updatedAt: sample.createdAt,
    rank: 0,
    totalRank: 0,
    votes: 0,
    downloadUrl: '',
    licenseType: -1,
    version: 0,
    thumbnailUrl: `${base}/thumbnail/entry_id/${sample.id}/version/100000`,
    partnerSortValue: 0,
    rootEntryId: sample.id,
    operationAttributes: [],
    entitledUsersEdit: '',
    entitledUsersPublish: '',
    entitledUsersView: '',
    capabilities: '',
    displayInSearch: 1,
    plays: 0,
    views: 0,
    width: RENDITION.width,
    height: RENDITION.height,
    duration: sample.durationSeconds,
    msDuration: sample.durationSeconds * 1000,
    mediaType: 1, // VIDEO
    dataUrl: `${base}/playManifest/entryId/${sample.id}/format/url/protocol/http`,
    flavorParamsIds: String(RENDITION.flavorParamsId),
    sourceType: '1',
    objectType: 'KalturaMediaEntry',
  };
}

/** The rendition as a `KalturaFlavorAsset` (own fields first, then `KalturaAsset`'s, as PHP lists them). */
export function toFlavorAsset(sample: Sample, partnerId: number): Record<string, unknown> {
  const bytes = flavorSizeBytes(sample);
  return {
    flavorParamsId: RENDITION.flavorParamsId,
    width: RENDITION.width,
    height: RENDITION.height,
    bitrate: Math.round((bytes * 8) / sample.durationSeconds / 1000),
    frameRate: RENDITION.frameRate,
    isOriginal: false,
    isWeb: true,
    containerFormat: 'isom',
    videoCodecId: 'avc1',
    status: 2, // READY
    language: 'Undefined',
    isDefault: true,
    id: sample.flavorId,
    entryId: sample.id,
    partnerId,
    version: '1',
    size: Math.ceil(bytes / 1024),
    tags: 'mobile,web,mbr,iphone,ipad',
    fileExt: 'mp4',
    createdAt: sample.createdAt,
    updatedAt: sample.createdAt,
    description: '',
    sizeInBytes: bytes,
    objectType: 'KalturaFlavorAsset',
  };
}

/** KalturaResponseProfileType. */
const ResponseProfileType = { INCLUDE_FIELDS: 1, EXCLUDE_FIELDS: 2 } as const;

interface ResponseProfile {
  type: number;
  fields: ReadonlySet<string>;
}

/** A detached response profile (`responseProfile[type]`, `responseProfile[fields]`) limits each listed object's fields. */
function parseResponseProfile(p: Params): ResponseProfile | undefined {
  const profile = p.object('responseProfile');
  if (profile === undefined) return undefined;
  const type =
    profile.intEnum('type', Object.values(ResponseProfileType), 'KalturaResponseProfileType') ??
    ResponseProfileType.INCLUDE_FIELDS;
  const fields = profile.string('fields');
  if (fields === undefined) return undefined;
  return { type, fields: new Set(fields.split(',').map((f) => f.trim())) };
}

function applyProfile(
  object: Record<string, unknown>,
  profile: ResponseProfile | undefined,
): Record<string, unknown> {
  if (profile === undefined) return object;
  const include = profile.type === ResponseProfileType.INCLUDE_FIELDS;
  // objectType always stays: a client needs it to read the object.
  return Object.fromEntries(
    Object.entries(object).filter(
      ([key]) => key === 'objectType' || profile.fields.has(key) === include,
    ),
  );
}

const DEFAULT_PAGE_SIZE = 30;
const MAX_PAGE_SIZE = 500;

interface ListArgs {
  /** `idEqual` and `redirectFromEntryId` (for a VOD entry, Kaltura's redirect is the entry itself). */
  ids: readonly (string | undefined)[];
  idIn: string[] | undefined;
  referenceIdEqual: string | undefined;
  nameLike: string | undefined;
  profile: ResponseProfile | undefined;
  pageSize: number;
  pageIndex: number;
}

function parseList(p: Params): ListArgs {
  const filter = p.object('filter');
  const pager = p.object('pager');
  const pageSize = pager?.int('pageSize') ?? DEFAULT_PAGE_SIZE;
  const pageIndex = pager?.int('pageIndex') ?? 1;
  return {
    ids: [filter?.string('idEqual'), filter?.string('redirectFromEntryId')],
    idIn: filter?.string('idIn')?.split(','),
    referenceIdEqual: filter?.string('referenceIdEqual'),
    nameLike: filter?.string('nameLike')?.toLowerCase(),
    profile: parseResponseProfile(p),
    pageSize: pageSize <= 0 ? DEFAULT_PAGE_SIZE : Math.min(pageSize, MAX_PAGE_SIZE),
    pageIndex: Math.max(1, pageIndex),
  };
}

function list(args: ListArgs, context: CallContext, objectType: string): Record<string, unknown> {
  const partnerId = context.partner?.id ?? 0;
  const matching = SAMPLE_ENTRIES.filter(
    (e) =>
      args.ids.every((id) => id === undefined || e.id === id) &&
      (args.idIn === undefined || args.idIn.includes(e.id)) &&
      // The samples have no reference id.
      args.referenceIdEqual === undefined &&
      (args.nameLike === undefined || e.name.toLowerCase().includes(args.nameLike)),
  );
  const start = (args.pageIndex - 1) * args.pageSize;
  return {
    objects: matching
      .slice(start, start + args.pageSize)
      .map((e) => applyProfile(toMediaEntry(e, partnerId, context.origin), args.profile)),
    totalCount: matching.length,
    objectType,
  };
}

/**
 * baseEntry.list over the sample entries: filter `idEqual`, `idIn`, `redirectFromEntryId`,
 * `referenceIdEqual`, `nameLike`; pager `pageSize`, `pageIndex`; a `responseProfile` of type
 * 1 (include) or 2 (exclude) with `fields`.
 */
const baseEntryList = defineAction({
  service: 'baseEntry',
  action: 'list',
  access: 'session',
  partner: 'known',
  parse: parseList,
  run: (args, context) => list(args, context, 'KalturaBaseEntryListResponse'),
});

const mediaList = defineAction({
  service: 'media',
  action: 'list',
  access: 'session',
  partner: 'known',
  parse: parseList,
  run: (args, context) => list(args, context, 'KalturaMediaListResponse'),
});

export const ENTRY_ACTIONS: readonly ActionDefinition[] = [baseEntryList, mediaList];
