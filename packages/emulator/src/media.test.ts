import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_ENTRIES } from './samples.js';
import type { Emulator } from './server.js';
import {
  adminKs,
  call,
  OTHER_ADMIN_SECRET,
  OTHER_PARTNER_ID,
  ok,
  PARTNER_ID,
  startEmulator,
  testClock,
  testOptions,
  userKs,
  widgetKs,
} from './test-utils/harness.js';

const clock = testClock();
let emulator: Emulator;
let alice: string;
let base: string;

beforeAll(async () => {
  emulator = await startEmulator(testOptions({ now: clock.now }));
  alice = await userKs(emulator, { userId: 'alice', privileges: 'sview:0_emu00001' });
  base = `${emulator.origin}/p/${PARTNER_ID}/sp/${PARTNER_ID}00`;
});
afterAll(() => emulator.close());

/** The playManifest URL the player builds (PlaySourceUrlBuilder), with its query. */
function manifest(ks: string, format: 'applehttp' | 'url', entryId = '0_emu00001'): string {
  const flavor = entryId.replace('emu', 'emf');
  const file = format === 'applehttp' ? 'a.m3u8' : 'a.mp4';
  const ksPath = ks === '' ? '' : `/ks/${ks}`;
  return `${base}/playManifest/entryId/${entryId}/protocol/http/format/${format}/flavorIds/${flavor}${ksPath}/${file}?playSessionId=abc:def&referrer=aHR0cDovL2xvY2FsaG9zdA%3D%3D&clientTag=html5:v3.17.95`;
}

async function get(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init);
  return { response, body: Buffer.from(await response.arrayBuffer()) };
}

/** The variant URL of a master playlist. */
function variantOf(master: string): string {
  const line = master.split('\n').find((l) => l.startsWith('http'));
  if (line === undefined) throw new Error(`no variant in ${master}`);
  return line;
}

function expectKalturaError(response: Response, status: number, code: number, what: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('x-kaltura')).toBe(`error-${code}`);
  expect(response.headers.get('x-kaltura-app')).toBe(`exiting on error ${code} - ${what}`);
  expect(response.headers.get('access-control-allow-origin')).toBe('*');
}

describe('the committed sample media', () => {
  it.each(SAMPLE_ENTRIES.map((s) => [s.id, s] as const))(
    '%s: an MP4, an HLS playlist as long as the entry, a poster and seek-bar slices, each under 1 MB',
    (id, sample) => {
      const dir = new URL(`../media/${id}/`, import.meta.url);
      const playlist = readFileSync(new URL('index.m3u8', dir), 'utf8');
      const lengths = [...playlist.matchAll(/#EXTINF:([\d.]+),/g)].map((m) => Number(m[1]));
      expect(lengths.reduce((a, b) => a + b, 0)).toBeCloseTo(sample.durationSeconds, 1);
      expect(playlist).toContain('#EXT-X-ENDLIST');
      const names = ['a.mp4', 'init.mp4', 'thumb.jpg', 'slices.jpg'].concat(
        [...playlist.matchAll(/^(seg-\d+\.m4s)$/gm)].map((m) => m[1]!),
      );
      expect(names.length).toBe(4 + lengths.length);
      for (const name of names) expect(statSync(new URL(name, dir)).size).toBeLessThan(1_000_000);
    },
  );
});

describe('playManifest, HLS', () => {
  it('serves a master playlist whose variant carries the KS, then the playlist and its segments', async () => {
    const { response, body } = await get(manifest(alice, 'applehttp'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const master = body.toString();
    expect(master).toMatch(/^#EXTM3U\n/);
    expect(master).toContain('RESOLUTION=320x180');
    const variant = variantOf(master);
    expect(variant).toBe(
      `${base}/serveFlavor/entryId/0_emu00001/v/1/flavorId/0_emf00001/ks/${alice}/name/a.mp4/index.m3u8`,
    );

    const playlist = (await get(variant)).body.toString();
    expect(playlist).toContain('#EXT-X-MAP:URI="init.mp4"');
    // Relative segment names: each resolves under the variant's path, KS included.
    const init = new URL('init.mp4', variant).href;
    const segment = new URL('seg-1.m4s', variant).href;
    expect(segment).toContain(`/ks/${alice}/`);
    const first = await get(segment);
    expect(first.response.status).toBe(200);
    expect(first.response.headers.get('content-type')).toBe('video/iso.segment');
    expect(first.body.subarray(4, 8).toString()).toMatch(/^(moof|styp)$/);
    expect((await get(init)).body.subarray(4, 8).toString()).toBe('ftyp');
  });

  it('checks the KS of every segment: an expired KS is refused with Kaltura’s error', async () => {
    const short = await userKs(emulator, { userId: 'alice', privileges: 'sview:*', expiry: 10 });
    const variant = variantOf((await get(manifest(short, 'applehttp'))).body.toString());
    const segment = new URL('seg-2.m4s', variant).href;
    expect((await get(segment)).response.status).toBe(200);
    clock.advanceSeconds(10);
    try {
      expectKalturaError((await get(segment)).response, 403, 7, 'ks is not valid');
      expectKalturaError((await get(variant)).response, 403, 7, 'ks is not valid');
      // The same segment with a fresh KS in its path is served.
      const fresh = await userKs(emulator, { userId: 'alice', privileges: 'sview:*' });
      const renewed = segment.replace(`/ks/${short}/`, `/ks/${fresh}/`);
      expect((await get(renewed)).response.status).toBe(200);
    } finally {
      clock.advanceSeconds(-10);
    }
  });

  it('refuses a revoked KS, a KS of another partner, and an unreadable one', async () => {
    const ended = await userKs(emulator, { userId: 'alice', privileges: 'sview:*' });
    await ok(emulator, 'session', 'end', { ks: ended });
    const other = await ok(emulator, 'session', 'start', {
      secret: OTHER_ADMIN_SECRET,
      partnerId: OTHER_PARTNER_ID,
      type: 2,
    });
    for (const ks of [ended, other, `${alice.slice(0, -6)}AAAAAA`]) {
      const { response, body } = await get(manifest(ks, 'applehttp'));
      expectKalturaError(response, 403, 7, 'ks is not valid');
      expect(body.length).toBe(0);
    }
    // Kaltura's X-Kaltura-Ks header counts as the request's KS too.
    const header = await get(manifest('', 'applehttp'), { headers: { 'X-Kaltura-Ks': ended } });
    expectKalturaError(header.response, 403, 7, 'ks is not valid');
  });

  it("applies the entry's access control: sview of the entry, sview:*, or an ADMIN KS", async () => {
    // alice has sview:0_emu00001 only; 0_emu00003 is KS protected.
    expectKalturaError(
      (await get(manifest(alice, 'applehttp', '0_emu00003'))).response,
      403,
      3,
      'entry restricted due to access-control',
    );
    expectKalturaError(
      (await get(manifest('', 'applehttp', '0_emu00001'))).response,
      403,
      3,
      'entry restricted due to access-control',
    );
    expect(
      (await get(manifest(await adminKs(emulator), 'applehttp', '0_emu00003'))).response.status,
    ).toBe(200);
    // 0_emu00002 is not protected: any KS, a widget KS, or none at all.
    for (const ks of [alice, await widgetKs(emulator), '']) {
      const { response, body } = await get(manifest(ks, 'applehttp', '0_emu00002'));
      expect(response.status).toBe(200);
      const variant = variantOf(body.toString());
      expect(variant.includes('/ks/')).toBe(ks !== '');
      expect((await get(new URL('seg-1.m4s', variant).href)).response.status).toBe(200);
    }
  });

  it('refuses what does not exist: entry, flavor, file, format, partner', async () => {
    expectKalturaError(
      (await get(manifest(alice, 'applehttp', '0_nothere'))).response,
      404,
      1,
      'requested entry not found',
    );
    expectKalturaError(
      (
        await get(
          manifest(alice, 'applehttp').replace('flavorIds/0_emf00001', 'flavorIds/0_emf00002'),
        )
      ).response,
      404,
      6,
      'requested flavor was not found',
    );
    const variant = variantOf((await get(manifest(alice, 'applehttp'))).body.toString());
    for (const name of ['seg-999999.m4s', 'thumb.jpg', '..%2F..%2Fpackage.json', 'a.mp4.bak']) {
      expectKalturaError(
        (await get(new URL(name, variant).href)).response,
        404,
        5,
        'required file was not found',
      );
    }
    expectKalturaError(
      (await get(manifest(alice, 'applehttp').replace('/format/applehttp', '/format/mpegdash')))
        .response,
      400,
      25,
      'wrong query attributes, This format is unsupported',
    );
    expectKalturaError(
      (await get(manifest(alice, 'applehttp').replace('/format/applehttp', ''))).response,
      400,
      20,
      'Request parameter [format] is missing',
    );
    expectKalturaError(
      (
        await get(
          `${emulator.origin}/p/99/sp/9900/playManifest/entryId/0_emu00002/format/url/a.mp4`,
        )
      ).response,
      404,
      14,
      'requested partner not found',
    );
    const post = await fetch(manifest(alice, 'url'), { method: 'POST' });
    expect(post.status).toBe(405);
  });
});

describe('playManifest, progressive', () => {
  it('serves the MP4 whole and by range, checking the KS on every request', async () => {
    const url = manifest(alice, 'url');
    const whole = await get(url);
    expect(whole.response.status).toBe(200);
    expect(whole.response.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.body.subarray(4, 8).toString()).toBe('ftyp');
    const size = whole.body.length;

    const part = await get(url, { headers: { Range: 'bytes=100-199' } });
    expect(part.response.status).toBe(206);
    expect(part.response.headers.get('content-range')).toBe(`bytes 100-199/${size}`);
    expect(part.body).toEqual(whole.body.subarray(100, 200));
    const tail = await get(url, { headers: { Range: 'bytes=-10' } });
    expect(tail.body).toEqual(whole.body.subarray(size - 10));
    const open = await get(url, { headers: { Range: `bytes=${size - 5}-` } });
    expect(open.response.headers.get('content-range')).toBe(
      `bytes ${size - 5}-${size - 1}/${size}`,
    );
    const beyond = await get(url, { headers: { Range: `bytes=${size}-` } });
    expect(beyond.response.status).toBe(416);
    expect(beyond.response.headers.get('content-range')).toBe(`bytes */${size}`);
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(size));

    // The same file under serveFlavor, as Kaltura's redirect target names it.
    const flavor = await get(
      `${base}/serveFlavor/entryId/0_emu00001/v/1/flavorId/0_emf00001/ks/${alice}/name/a.mp4`,
    );
    expect(flavor.body).toEqual(whole.body);

    // A range request after the KS expired is refused: the progressive limit the player meets.
    const short = await userKs(emulator, { userId: 'alice', privileges: 'sview:*', expiry: 10 });
    const shortUrl = manifest(short, 'url');
    expect((await get(shortUrl, { headers: { Range: 'bytes=0-99' } })).response.status).toBe(206);
    clock.advanceSeconds(10);
    try {
      expectKalturaError(
        (await get(shortUrl, { headers: { Range: 'bytes=1000-1999' } })).response,
        403,
        7,
        'ks is not valid',
      );
    } finally {
      clock.advanceSeconds(-10);
    }
  });
});

describe('thumbnails', () => {
  it('serves the poster and the seek-bar strip as JPEG images, without a KS', async () => {
    const entry = (
      await call(emulator, 'baseEntry', 'list', { ks: alice, 'filter[idEqual]': '0_emu00003' })
    ).json.objects[0];
    const poster = await get(`${entry.thumbnailUrl}/height/360/width/640`);
    expect(poster.response.status).toBe(200);
    expect(poster.response.headers.get('content-type')).toBe('image/jpeg');
    expect([...poster.body.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    const slices = await get(`${entry.thumbnailUrl}/width/164/vid_slices/100`);
    expect([...slices.body.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    expect(slices.body.equals(poster.body)).toBe(false);
    // A KS in a thumbnail URL is checked like any other.
    expectKalturaError(
      (await get(`${entry.thumbnailUrl}/ks/${alice.slice(0, -6)}AAAAAA`)).response,
      403,
      7,
      'ks is not valid',
    );
    expectKalturaError(
      (await get(`${base}/thumbnail/entry_id/0_nothere/version/100000`)).response,
      404,
      1,
      'requested entry not found',
    );
  });
});
