import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../server.js';
import {
  adminKs,
  call,
  callJson,
  OTHER_ADMIN_SECRET,
  OTHER_PARTNER_ID,
  ok,
  PARTNER_ID,
  startEmulator,
  testClock,
  testOptions,
  userKs,
  widgetKs,
} from '../test-utils/harness.js';

/**
 * What the Kaltura Player (kaltura-player-js 3.17, its OVP provider) asks the API, as it asks
 * it: user.get at setup, then one JSON multirequest per loadMedia — baseEntry.list with a
 * response profile, baseEntry.getPlaybackContext and metadata_metadata.list, the last two
 * naming the entry as `{1:result:objects:0:id}` (or, without a KS, after
 * session.startWidgetSession, as `{2:result:objects:0:id}` with `{1:result:ks}`).
 */

const clock = testClock();
let emulator: Emulator;
let alice: string;

const FIELDS =
  'id,referenceId,name,description,thumbnailUrl,dataUrl,duration,msDuration,flavorParamsIds,mediaType,type,tags,dvrStatus,externalSourceType,status,createdAt,updatedAt,endDate,plays,views,downloadUrl,creatorId,userId,rootEntryId,capabilities,adminTags';
const CLIENT_TAG = 'html5:v3.17.95';

beforeAll(async () => {
  emulator = await startEmulator(testOptions({ now: clock.now }));
  alice = await userKs(emulator, { userId: 'alice', privileges: 'sview:0_emu00001' });
});
afterAll(() => emulator.close());

/** The multirequest the player's OVPMediaEntryLoader sends for `loadMedia({ entryId })`. */
function loadMediaBody(ks: string, entryId: string) {
  const entry = '{1:result:objects:0:id}';
  return {
    apiVersion: '3.3.0',
    format: 1,
    ks,
    clientTag: CLIENT_TAG,
    partnerId: PARTNER_ID,
    1: {
      service: 'baseEntry',
      action: 'list',
      ks,
      filter: { redirectFromEntryId: entryId },
      responseProfile: { type: 1, fields: FIELDS },
    },
    2: {
      service: 'baseEntry',
      action: 'getPlaybackContext',
      entryId: entry,
      ks,
      contextDataParams: { objectType: 'KalturaContextDataParams', flavorTags: 'all' },
    },
    3: {
      service: 'metadata_metadata',
      action: 'list',
      filter: {
        objectType: 'KalturaMetadataFilter',
        objectIdEqual: entry,
        metadataObjectTypeEqual: '1',
      },
      ks,
    },
  };
}

describe('user.get', () => {
  it("answers a KalturaUser for the KS's own user", async () => {
    const { json } = await callJson(emulator, '/service/user/action/get', { ks: alice, format: 1 });
    expect(json).toMatchObject({
      id: 'alice',
      partnerId: PARTNER_ID,
      screenName: 'alice',
      status: 1,
      isAdmin: false,
      objectType: 'KalturaUser',
    });
    // A user the emulator knows for login carries its login id and role.
    const root = await ok(emulator, 'user', 'get', {
      ks: await adminKs(emulator, { userId: 'root' }),
    });
    expect(root).toMatchObject({ id: 'root', email: 'root@example.com', isAdmin: true });
  });

  it('lets only an ADMIN KS read another user, and knows no anonymous user', async () => {
    expect((await call(emulator, 'user', 'get', { ks: alice, userId: 'bob' })).json).toEqual({
      code: 'CANNOT_RETRIEVE_ANOTHER_USER_USING_NON_ADMIN_SESSION',
      message: 'cannot retrieve another user "bob" using non-admin session',
      objectType: 'KalturaAPIException',
      args: { USER_ID: 'bob' },
    });
    expect(
      await ok(emulator, 'user', 'get', { ks: await adminKs(emulator), userId: 'bob' }),
    ).toMatchObject({ id: 'bob', objectType: 'KalturaUser' });
    // A widget session's user is "0": the player then counts the viewer as anonymous.
    expect((await call(emulator, 'user', 'get', { ks: await widgetKs(emulator) })).json).toEqual({
      code: 'INVALID_USER_ID',
      message: 'Invalid user id',
      objectType: 'KalturaAPIException',
      args: [],
    });
    expect((await call(emulator, 'user', 'get')).json.code).toBe('MISSING_KS');
  });
});

describe('baseEntry.list for the player', () => {
  it('finds the entry asked for by redirectFromEntryId, idEqual or idIn, not the first one', async () => {
    for (const filter of [
      { redirectFromEntryId: '0_emu00002' },
      { idEqual: '0_emu00002' },
      { idIn: '0_emu00002,0_nothere' },
    ]) {
      const { json } = await callJson(emulator, '/service/baseEntry/action/list', {
        ks: alice,
        filter,
      });
      expect(json.objects.map((e: { id: string }) => e.id)).toEqual(['0_emu00002']);
      expect(json.totalCount).toBe(1);
    }
    const none = await ok(emulator, 'baseEntry', 'list', {
      ks: alice,
      'filter[redirectFromEntryId]': '0_nothere',
    });
    expect(none).toEqual({
      objects: [],
      totalCount: 0,
      objectType: 'KalturaBaseEntryListResponse',
    });
  });

  it("keeps only the response profile's fields (type 1), or drops them (type 2)", async () => {
    const included = await ok(emulator, 'baseEntry', 'list', {
      ks: alice,
      'filter[idEqual]': '0_emu00003',
      'responseProfile[type]': 1,
      'responseProfile[fields]': 'id,name,duration',
    });
    expect(included.objects).toEqual([
      {
        id: '0_emu00003',
        name: 'Emulator sample: city at night',
        duration: 90,
        objectType: 'KalturaMediaEntry',
      },
    ]);
    const excluded = (
      await ok(emulator, 'baseEntry', 'list', {
        ks: alice,
        'filter[idEqual]': '0_emu00003',
        'responseProfile[type]': 2,
        'responseProfile[fields]': 'description,tags',
      })
    ).objects[0];
    expect(excluded).toMatchObject({ id: '0_emu00003', type: 1, mediaType: 1, status: 2 });
    expect(excluded).not.toHaveProperty('description');
    expect(excluded).not.toHaveProperty('tags');

    expect(
      (
        await call(emulator, 'baseEntry', 'list', {
          ks: alice,
          'responseProfile[type]': 3,
          'responseProfile[fields]': 'id',
        })
      ).json,
    ).toMatchObject({
      code: 'INVALID_ENUM_VALUE',
      args: { ENUM_VAL: '3', PARAM_NAME: 'type', ENUM_TYPE: 'KalturaResponseProfileType' },
    });
  });
});

describe('baseEntry.getPlaybackContext', () => {
  it("answers Kaltura's KalturaPlaybackContext: HLS first, then progressive, the flavor", async () => {
    const context = await ok(emulator, 'baseEntry', 'getPlaybackContext', {
      ks: alice,
      entryId: '0_emu00001',
      'contextDataParams[objectType]': 'KalturaContextDataParams',
      'contextDataParams[flavorTags]': 'all',
    });
    const base = `${emulator.origin}/p/${PARTNER_ID}/sp/${PARTNER_ID}00/playManifest/entryId/0_emu00001/flavorIds/0_emf00001`;
    expect(context).toEqual({
      sources: [
        {
          deliveryProfileId: 1001,
          format: 'applehttp',
          protocols: 'http,https',
          flavorIds: '0_emf00001',
          url: `${base}/deliveryProfileId/1001/protocol/http/format/applehttp/a.m3u8`,
          drm: [],
          objectType: 'KalturaPlaybackSource',
        },
        {
          deliveryProfileId: 1002,
          format: 'url',
          protocols: 'http,https',
          flavorIds: '0_emf00001',
          url: `${base}/deliveryProfileId/1002/protocol/http/format/url/a.mp4`,
          drm: [],
          objectType: 'KalturaPlaybackSource',
        },
      ],
      playbackCaptions: [],
      flavorAssets: [
        expect.objectContaining({
          id: '0_emf00001',
          entryId: '0_emu00001',
          partnerId: PARTNER_ID,
          width: 320,
          height: 180,
          fileExt: 'mp4',
          status: 2,
          objectType: 'KalturaFlavorAsset',
        }),
      ],
      actions: [],
      messages: [],
      bumperData: [],
      objectType: 'KalturaPlaybackContext',
    });
    expect(context.flavorAssets[0].bitrate).toBeGreaterThan(0);
  });

  it('blocks a KS-protected entry for a KS without its sview, as Kaltura does', async () => {
    const blocked = {
      actions: [{ type: 1, objectType: 'KalturaAccessControlBlockAction' }],
      messages: [
        {
          message: "No KS where KS is required\nWe're sorry, access to this content is restricted.",
          code: 'SESSION_RESTRICTED',
          objectType: 'KalturaAccessControlMessage',
        },
      ],
      objectType: 'KalturaPlaybackContext',
    };
    const contextFor = (ks: string, entryId: string) =>
      ok(emulator, 'baseEntry', 'getPlaybackContext', {
        ks,
        entryId,
        'contextDataParams[flavorTags]': 'all',
      });
    // alice may view 0_emu00001 only; 0_emu00003 is KS protected, 0_emu00002 is not.
    expect(await contextFor(alice, '0_emu00003')).toEqual(blocked);
    expect((await contextFor(alice, '0_emu00002')).sources).toHaveLength(2);
    expect(await contextFor(await widgetKs(emulator), '0_emu00001')).toEqual(blocked);
    expect((await contextFor(await widgetKs(emulator), '0_emu00002')).sources).toHaveLength(2);
    const all = await userKs(emulator, { userId: 'viewer', privileges: 'sview:*' });
    expect((await contextFor(all, '0_emu00003')).sources).toHaveLength(2);
    expect((await contextFor(await adminKs(emulator), '0_emu00003')).sources).toHaveLength(2);
  });

  it('refuses an unknown entry and missing parameters', async () => {
    expect(
      (
        await call(emulator, 'baseEntry', 'getPlaybackContext', {
          ks: alice,
          entryId: '0_nothere',
          'contextDataParams[flavorTags]': 'all',
        })
      ).json,
    ).toEqual({
      code: 'ENTRY_ID_NOT_FOUND',
      message: 'Entry id "0_nothere" not found',
      objectType: 'KalturaAPIException',
      args: { ENTRY_ID: '0_nothere' },
    });
    expect(
      (await call(emulator, 'baseEntry', 'getPlaybackContext', { ks: alice })).json,
    ).toMatchObject({ code: 'MISSING_MANDATORY_PARAMETER', args: { PARAM_NAME: 'entryId' } });
    expect(
      (
        await call(emulator, 'baseEntry', 'getPlaybackContext', {
          ks: alice,
          entryId: '0_emu00001',
        })
      ).json,
    ).toMatchObject({
      code: 'MISSING_MANDATORY_PARAMETER',
      args: { PARAM_NAME: 'contextDataParams' },
    });
  });
});

describe('metadata_metadata.list', () => {
  it('answers an empty list for an entry, and wants an object id to filter on', async () => {
    expect(
      await ok(emulator, 'metadata_metadata', 'list', {
        ks: alice,
        'filter[objectIdEqual]': '0_emu00001',
        'filter[metadataObjectTypeEqual]': '1',
      }),
    ).toEqual({ objects: [], totalCount: 0, objectType: 'KalturaMetadataListResponse' });
    expect((await call(emulator, 'metadata_metadata', 'list', { ks: alice })).json).toEqual({
      code: 'MUST_FILTER_ON_OBJECT_ID',
      message: 'Must filter on object id',
      objectType: 'KalturaAPIException',
      args: [],
    });
    expect(
      (
        await call(emulator, 'metadata_metadata', 'list', {
          ks: alice,
          'filter[metadataObjectTypeEqual]': '',
        })
      ).json.code,
    ).toBe('MUST_FILTER_ON_OBJECT_TYPE');
  });
});

describe("the player's loadMedia multirequest", () => {
  it('answers the three calls for the entry asked for, each with its KS checked', async () => {
    const { json } = await callJson(
      emulator,
      '/service/multirequest',
      loadMediaBody(alice, '0_emu00002'),
    );
    expect(json).toHaveLength(3);
    expect(json[0].objects.map((e: { id: string }) => e.id)).toEqual(['0_emu00002']);
    expect(json[1]).toMatchObject({
      objectType: 'KalturaPlaybackContext',
      flavorAssets: [{ entryId: '0_emu00002' }],
    });
    expect(json[2]).toEqual({
      objects: [],
      totalCount: 0,
      objectType: 'KalturaMetadataListResponse',
    });
    expect(emulator.stats()).toMatchObject({
      'baseEntry.list': expect.any(Number),
      'baseEntry.getPlaybackContext': expect.any(Number),
      'metadata_metadata.list': expect.any(Number),
    });
  });

  it('fails every call of an unknown entry, so the player fails the load', async () => {
    const { json } = await callJson(
      emulator,
      '/service/multirequest',
      loadMediaBody(alice, '0_nothere'),
    );
    expect(json[0]).toMatchObject({ objects: [], totalCount: 0 });
    expect(json[1]).toMatchObject({
      code: 'MISSING_MANDATORY_PARAMETER',
      objectType: 'KalturaAPIException',
    });
    expect(json[2]).toMatchObject({ objectType: 'KalturaAPIException' });
  });

  it("answers another partner's KS for that partner's samples, and refuses an expired KS", async () => {
    const other = await ok(emulator, 'session', 'start', {
      secret: OTHER_ADMIN_SECRET,
      partnerId: OTHER_PARTNER_ID,
      type: 2,
    });
    // Another partner's KS works for that partner's own samples…
    const own = (
      await callJson(emulator, '/service/multirequest', loadMediaBody(other, '0_emu00002'))
    ).json;
    expect(own[1].flavorAssets[0].partnerId).toBe(OTHER_PARTNER_ID);

    const short = await userKs(emulator, { userId: 'alice', expiry: 5 });
    clock.advanceSeconds(5);
    try {
      const { json } = await callJson(
        emulator,
        '/service/multirequest',
        loadMediaBody(short, '0_emu00002'),
      );
      expect(json[0]).toMatchObject({ code: 'INVALID_KS', args: { KSID: 'EXPIRED' } });
      // The later calls name the entry through the failed first one.
      for (const result of json) expect(result.objectType).toBe('KalturaAPIException');
    } finally {
      clock.advanceSeconds(-5);
    }
  });

  it('works without a KS: a widget session first, its KS passed on as {1:result:ks}', async () => {
    const entry = '{2:result:objects:0:id}';
    const ks = '{1:result:ks}';
    const { json } = await callJson(emulator, '/service/multirequest', {
      apiVersion: '3.3.0',
      format: 1,
      ks: '',
      clientTag: CLIENT_TAG,
      partnerId: PARTNER_ID,
      1: { service: 'session', action: 'startWidgetSession', widgetId: `_${PARTNER_ID}` },
      2: {
        service: 'baseEntry',
        action: 'list',
        ks,
        filter: { redirectFromEntryId: '0_emu00002' },
        responseProfile: { type: 1, fields: FIELDS },
      },
      3: {
        service: 'baseEntry',
        action: 'getPlaybackContext',
        entryId: entry,
        ks,
        contextDataParams: { objectType: 'KalturaContextDataParams', flavorTags: 'all' },
      },
      4: {
        service: 'metadata_metadata',
        action: 'list',
        filter: {
          objectType: 'KalturaMetadataFilter',
          objectIdEqual: entry,
          metadataObjectTypeEqual: '1',
        },
        ks,
      },
    });
    expect(json[0]).toMatchObject({ objectType: 'KalturaStartWidgetSessionResponse', userId: 0 });
    expect(json[1].objects[0].id).toBe('0_emu00002');
    expect(json[2].sources.map((s: { format: string }) => s.format)).toEqual(['applehttp', 'url']);
    expect(json[3].objectType).toBe('KalturaMetadataListResponse');
  });
});
