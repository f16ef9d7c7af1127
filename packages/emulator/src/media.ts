import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiEnvironment } from './api.js';
import { ApiException } from './errors.js';
import {
  findSample,
  flavorSizeBytes,
  mayPlay,
  mediaPath,
  partnerPath,
  RENDITION,
  type Sample,
} from './samples.js';
import { authenticate, type RequestOrigin, type Session } from './session.js';

/**
 * Kaltura's media routes for the sample entries, under `/p/<pid>/sp/<pid>00/`:
 *
 * - `playManifest/entryId/<id>/…/format/applehttp/…/ks/<ks>/a.m3u8`: a master playlist whose
 *   one variant is a `serveFlavor` URL carrying the same KS;
 * - `playManifest/…/format/url/…/ks/<ks>/a.mp4`: the progressive file, with range requests;
 * - `serveFlavor/entryId/<id>/v/1/flavorId/<fid>/ks/<ks>/name/a.mp4[/<file>]`: the file, or the
 *   HLS playlist and its segments (relative URLs, so every segment URL carries the KS);
 * - `thumbnail/entry_id/<id>/…`: the poster, or the seek-bar strip for `vid_slices`.
 *
 * A KS (in the path, the query or Kaltura's `X-Kaltura-Ks` header) is checked like an API
 * call's, on every request, segments included. Failures carry Kaltura's `X-Kaltura:
 * error-<n>` and `X-Kaltura-App` headers (KExternalErrors) and no body; where Kaltura answers
 * HTTP 200 with those headers, the emulator answers 403 or 404 so that browsers and players
 * see the failure.
 */

/** KExternalErrors codes and descriptions used here. */
const ExternalError = {
  ENTRY_NOT_FOUND: [1, 'requested entry not found', 404],
  ACCESS_CONTROL_RESTRICTED: [3, 'entry restricted due to access-control', 403],
  FILE_NOT_FOUND: [5, 'required file was not found', 404],
  FLAVOR_NOT_FOUND: [6, 'requested flavor was not found', 404],
  INVALID_KS: [7, 'ks is not valid', 403],
  PARTNER_NOT_FOUND: [14, 'requested partner not found', 404],
  MISSING_PARAMETER: [20, 'Request parameter [format] is missing', 400],
  BAD_QUERY: [25, 'wrong query attributes, This format is unsupported', 400],
} as const;
type ExternalError = (typeof ExternalError)[keyof typeof ExternalError];

class MediaError extends Error {
  readonly error: ExternalError;
  constructor(error: ExternalError) {
    super(error[1]);
    this.error = error;
  }
}

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'X-Kaltura, X-Kaltura-App, Content-Range, Accept-Ranges',
  // A URL carries a KS: nothing is cached, so every request meets the check.
  'Cache-Control': 'no-store',
} as const;

const HLS_FILE = /^(index\.m3u8|init\.mp4|seg-\d{1,5}\.m4s)$/;
const CONTENT_TYPES: Record<string, string> = {
  m3u8: 'application/vnd.apple.mpegurl',
  mp4: 'video/mp4',
  m4s: 'video/iso.segment',
  jpg: 'image/jpeg',
};

/** The path's `key/value` pairs after the route name, and a trailing odd segment (the file name). */
function readPairs(segments: readonly string[]): { pairs: Map<string, string>; file?: string } {
  const pairs = new Map<string, string>();
  let i = 0;
  for (; i + 1 < segments.length; i += 2) pairs.set(segments[i]!, segments[i + 1]!);
  return { pairs, file: segments[i] };
}

function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

const files = new Map<string, Promise<Buffer>>();

/** The committed files are small (well under 1 MB each): read each once. */
function readMedia(sample: Sample, name: string): Promise<Buffer> {
  const path = mediaPath(sample, name);
  let file = files.get(path);
  if (file === undefined) {
    file = readFile(path);
    files.set(path, file);
    file.catch(() => files.delete(path));
  }
  return file;
}

/** Answers a request under `/p/`; the caller has already answered CORS preflights. */
export async function serveMedia(
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
  query: string,
  env: ApiEnvironment,
  origin: RequestOrigin,
): Promise<void> {
  try {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { ...CORS, Allow: 'GET, HEAD' });
      response.end();
      return;
    }
    const file = await route(request, path, query, env, origin);
    sendFile(request, response, file);
  } catch (error) {
    if (!(error instanceof MediaError)) throw error;
    const [code, description, status] = error.error;
    response.writeHead(status, {
      ...CORS,
      'X-Kaltura': `error-${code}`,
      'X-Kaltura-App': `exiting on error ${code} - ${description}`,
      'Content-Length': 0,
    });
    response.end();
  }
}

interface MediaFile {
  body: Buffer;
  type: string;
}

async function route(
  request: IncomingMessage,
  path: string,
  query: string,
  env: ApiEnvironment,
  origin: RequestOrigin,
): Promise<MediaFile> {
  let segments: string[];
  try {
    segments = path
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
  } catch {
    throw new MediaError(ExternalError.FILE_NOT_FOUND);
  }
  const [p, pid, sp, spid, kind, ...rest] = segments;
  if (p !== 'p' || sp !== 'sp' || !/^\d{1,10}$/.test(pid ?? '') || spid !== `${pid}00`)
    throw new MediaError(ExternalError.FILE_NOT_FOUND);
  const partnerId = Number(pid);
  const { pairs, file } = readPairs(rest);
  const search = new URLSearchParams(query);

  // Kaltura's playManifest reads the KS from X-Kaltura-Ks first, then the request parameters.
  const ks = headerValue(request, 'x-kaltura-ks') || pairs.get('ks') || search.get('ks') || '';
  let session: Session | undefined;
  if (ks !== '') {
    try {
      session = authenticate(env.state, ks, origin, env.clock(), env.memo);
    } catch (error) {
      if (error instanceof ApiException) throw new MediaError(ExternalError.INVALID_KS);
      throw error;
    }
    if (session.partner.id !== partnerId) throw new MediaError(ExternalError.INVALID_KS);
  } else if (!env.state.partners.has(partnerId)) {
    throw new MediaError(ExternalError.PARTNER_NOT_FOUND);
  }

  const entryId = kind === 'thumbnail' ? pairs.get('entry_id') : pairs.get('entryId');
  const sample = entryId === undefined ? undefined : findSample(entryId);
  if (sample === undefined) throw new MediaError(ExternalError.ENTRY_NOT_FOUND);

  // Posters are public; everything that plays goes through the entry's access control.
  if (kind === 'thumbnail') {
    const name = pairs.has('vid_slices') ? 'slices.jpg' : 'thumb.jpg';
    return { body: await readMedia(sample, name), type: CONTENT_TYPES.jpg! };
  }
  if (kind !== 'playManifest' && kind !== 'serveFlavor')
    throw new MediaError(ExternalError.FILE_NOT_FOUND);
  if (!mayPlay(sample, session)) throw new MediaError(ExternalError.ACCESS_CONTROL_RESTRICTED);
  const flavors = (pairs.get('flavorIds') ?? pairs.get('flavorId'))?.split(',');
  if (flavors !== undefined && !flavors.includes(sample.flavorId))
    throw new MediaError(ExternalError.FLAVOR_NOT_FOUND);

  if (kind === 'serveFlavor') {
    if (file === undefined) return { body: await readMedia(sample, 'a.mp4'), type: 'video/mp4' };
    if (!HLS_FILE.test(file)) throw new MediaError(ExternalError.FILE_NOT_FOUND);
    const ext = file.slice(file.lastIndexOf('.') + 1);
    return { body: await readMedia(sample, file), type: CONTENT_TYPES[ext]! };
  }
  const format = pairs.get('format') ?? search.get('format') ?? undefined;
  if (format === 'url') return { body: await readMedia(sample, 'a.mp4'), type: 'video/mp4' };
  if (format === 'applehttp')
    return {
      body: Buffer.from(masterPlaylist(sample, partnerId, ks, env.origin)),
      type: CONTENT_TYPES.m3u8!,
    };
  throw new MediaError(
    format === undefined ? ExternalError.MISSING_PARAMETER : ExternalError.BAD_QUERY,
  );
}

/** One variant: the flavor's playlist on `serveFlavor`, carrying the request's KS. */
function masterPlaylist(sample: Sample, partnerId: number, ks: string, origin: string): string {
  const bandwidth = Math.round((flavorSizeBytes(sample) * 8) / sample.durationSeconds);
  // Raw, as the player writes a KS into a path: a rewrite of `/ks/<old>/` must find it.
  const ksPath = ks === '' ? '' : `/ks/${ks}`;
  return [
    '#EXTM3U',
    '#EXT-X-INDEPENDENT-SEGMENTS',
    `#EXT-X-STREAM-INF:BANDWIDTH=${bandwidth},RESOLUTION=${RENDITION.width}x${RENDITION.height},FRAME-RATE=${RENDITION.frameRate}.000,CODECS="${RENDITION.codecs}"`,
    `${origin}${partnerPath(partnerId)}/serveFlavor/entryId/${sample.id}/v/1/flavorId/${sample.flavorId}${ksPath}/name/a.mp4/index.m3u8`,
    '',
  ].join('\n');
}

/** 200 with the whole file, or 206 for one `bytes=` range (several ranges get the whole file). */
function sendFile(request: IncomingMessage, response: ServerResponse, file: MediaFile): void {
  const size = file.body.length;
  const headers = { ...CORS, 'Content-Type': file.type, 'Accept-Ranges': 'bytes' };
  const range = /^bytes=(\d*)-(\d*)$/.exec(headerValue(request, 'range')?.trim() ?? '');
  let start = 0;
  let end = size - 1;
  let status = 200;
  if (range && (range[1] !== '' || range[2] !== '')) {
    if (range[1] === '') {
      start = Math.max(0, size - Number(range[2]));
    } else {
      start = Number(range[1]);
      if (range[2] !== '') end = Math.min(end, Number(range[2]));
    }
    if (start >= size || start > end) {
      response.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}` });
      response.end();
      return;
    }
    status = 206;
  }
  response.writeHead(status, {
    ...headers,
    'Content-Length': end - start + 1,
    ...(status === 206 ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
  });
  response.end(request.method === 'HEAD' ? undefined : file.body.subarray(start, end + 1));
}
