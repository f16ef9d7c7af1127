import type { Params } from '../params.js';
import { type ActionDefinition, type CallContext, defineAction } from './define.js';

interface Sample {
  id: string;
  name: string;
  description: string;
  tags: string;
  createdAt: number;
  durationSeconds: number;
}

/** A few fixed media entries, the same for every partner: something for a new KS to list. */
export const SAMPLE_ENTRIES: readonly Sample[] = [
  {
    id: '0_emu00001',
    name: 'Emulator sample: sunrise',
    description: 'A fixed entry served by @kaltura-ks/emulator',
    tags: 'emulator,sample',
    createdAt: 1_700_000_000,
    durationSeconds: 30,
  },
  {
    id: '0_emu00002',
    name: 'Emulator sample: ocean',
    description: 'A fixed entry served by @kaltura-ks/emulator',
    tags: 'emulator,sample',
    createdAt: 1_700_000_600,
    durationSeconds: 95,
  },
  {
    id: '0_emu00003',
    name: 'Emulator sample: city at night',
    description: 'A fixed entry served by @kaltura-ks/emulator',
    tags: 'emulator,sample',
    createdAt: 1_700_001_200,
    durationSeconds: 240,
  },
];

/** A `KalturaMediaEntry`, with a subset of its fields in Kaltura's declaration order. */
function toMediaEntry(sample: Sample, partnerId: number, origin: string): Record<string, unknown> {
  const thumbnailUrl = `${origin}/p/${partnerId}/sp/${partnerId}00/thumbnail/entry_id/${sample.id}/version/100000`;
  return {
    id: sample.id,
    name: sample.name,
    description: sample.description,
    partnerId,
    userId: 'emulator',
    creatorId: 'emulator',
    tags: sample.tags,
    status: '2', // READY (KalturaEntryStatus is a string enum)
    moderationStatus: 6, // AUTO_APPROVED
    moderationCount: 0,
    type: '1', // MEDIA_CLIP
    createdAt: sample.createdAt,
    updatedAt: sample.createdAt,
    rank: 0,
    totalRank: 0,
    votes: 0,
    licenseType: -1,
    version: 0,
    thumbnailUrl,
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
    width: 1280,
    height: 720,
    duration: sample.durationSeconds,
    msDuration: sample.durationSeconds * 1000,
    mediaType: 1, // VIDEO
    sourceType: '1',
    objectType: 'KalturaMediaEntry',
  };
}

const DEFAULT_PAGE_SIZE = 30;
const MAX_PAGE_SIZE = 500;

interface ListArgs {
  idEqual: string | undefined;
  idIn: string[] | undefined;
  nameLike: string | undefined;
  pageSize: number;
  pageIndex: number;
}

function parseList(p: Params): ListArgs {
  const filter = p.object('filter');
  const pager = p.object('pager');
  const pageSize = pager?.int('pageSize') ?? DEFAULT_PAGE_SIZE;
  const pageIndex = pager?.int('pageIndex') ?? 1;
  return {
    idEqual: filter?.string('idEqual'),
    idIn: filter?.string('idIn')?.split(','),
    nameLike: filter?.string('nameLike')?.toLowerCase(),
    pageSize: pageSize <= 0 ? DEFAULT_PAGE_SIZE : Math.min(pageSize, MAX_PAGE_SIZE),
    pageIndex: Math.max(1, pageIndex),
  };
}

function list(args: ListArgs, context: CallContext, objectType: string): Record<string, unknown> {
  const partnerId = context.partner?.id ?? 0;
  const matching = SAMPLE_ENTRIES.filter(
    (e) =>
      (args.idEqual === undefined || e.id === args.idEqual) &&
      (args.idIn === undefined || args.idIn.includes(e.id)) &&
      (args.nameLike === undefined || e.name.toLowerCase().includes(args.nameLike)),
  );
  const start = (args.pageIndex - 1) * args.pageSize;
  return {
    objects: matching
      .slice(start, start + args.pageSize)
      .map((e) => toMediaEntry(e, partnerId, context.origin)),
    totalCount: matching.length,
    objectType,
  };
}

/** baseEntry.list over the sample entries: filter `idEqual`, `idIn`, `nameLike`; pager `pageSize`, `pageIndex`. */
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
