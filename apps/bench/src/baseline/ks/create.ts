import type { Clock } from '../clock.js';
import { KsError } from '../errors.js';
import { formatPrivileges, type PrivilegesInput, v2Fields } from '../privileges/privileges.js';
import { encodeStandardBase64 } from './base64.js';
import { fillSecureRandom, ksCipherFor, secureRandomBytes, sha1, sha1Hex } from './crypto.js';
import {
  checkAdditionalData,
  checkPartnerId,
  checkPositiveInteger,
  checkSecret,
  checkType,
  checkUserId,
} from './fields.js';
import { phpSeededBytes, phpUrlencode } from './php.js';
import { KsType, type KsVersion } from './types.js';

export interface CreateKsOptions {
  /** The partner's admin secret: every KS, whatever its type, is signed with an admin secret. */
  secret: string;
  partnerId: number;
  /** Default `''` (anonymous). */
  userId?: string;
  /** Default `KsType.USER` (0): least privilege. */
  type?: KsType;
  /** Lifetime in seconds from now. Default 86400 (Kaltura's default). */
  expiresInSeconds?: number;
  /** Absolute expiry in unix seconds; wins over `expiresInSeconds`. */
  validUntil?: number;
  /** A privileges string (`sview:*,appid:app-example.com`) or the structured form. */
  privileges?: PrivilegesInput;
  /** KS format, default 2 (encrypted). Version 1 is signed but readable by anyone. */
  version?: KsVersion;
  /** The partner acting on this partner's behalf (impersonation), if any. */
  masterPartnerId?: number;
  additionalData?: string;
  /** The clock, in epoch milliseconds. Default `Date.now`. */
  now?: Clock;
  /**
   * Random bytes (default: a CSPRNG). KS v2 takes 16 bytes (its random prefix);
   * KS v1 takes 4, written as an unsigned big-endian integer in the `rand` field.
   * Inject only to reproduce known vectors.
   */
  randomBytes?: (size: number) => Uint8Array;
}

const DEFAULT_EXPIRES_IN_SECONDS = 86_400;
const DOWNLOAD_ASSET_ROUNDING_SECONDS = 300;

function checkVersion(value: unknown): KsVersion {
  if (value !== 1 && value !== 2)
    throw new KsError('ERR_KS_INVALID_OPTION', 'version must be 1 or 2');
  return value;
}

function optionalInteger(value: unknown, name: string): number | undefined {
  return value === undefined || value === null ? undefined : checkPartnerId(value, name);
}

/**
 * Creates a KS locally, byte-compatible with Kaltura's own generator
 * (`kSessionBase::generateSession`, spec §2–§3). Every field is validated first;
 * anything that could change the KS's meaning throws `ERR_KS_INVALID_FIELD`
 * and nothing is signed.
 */
export function createKs(options: CreateKsOptions): string {
  return signKs(options).ks;
}

/** `createKs`, also returning the expiry it signed (which `downloadasset` may round). */
export function signKs(options: CreateKsOptions): { ks: string; validUntil: number } {
  if (typeof options !== 'object' || options === null) {
    throw new KsError('ERR_KS_INVALID_OPTION', 'createKs needs an options object');
  }
  const secret = checkSecret(options.secret);
  const partnerId = checkPartnerId(options.partnerId);
  const version = checkVersion(options.version ?? 2);
  const type = checkType(options.type ?? KsType.USER);
  const userId = checkUserId(options.userId ?? '');
  const privileges = checkedPrivileges(options.privileges, version);
  const masterPartnerId = optionalInteger(options.masterPartnerId, 'masterPartnerId');
  const additionalData =
    options.additionalData === undefined ? undefined : checkAdditionalData(options.additionalData);

  let validUntil: number;
  if (options.validUntil !== undefined) {
    validUntil = checkPositiveInteger(options.validUntil, 'validUntil');
  } else {
    const expiresIn = checkPositiveInteger(
      options.expiresInSeconds ?? DEFAULT_EXPIRES_IN_SECONDS,
      'expiresInSeconds',
    );
    validUntil = Math.floor((options.now ?? Date.now)() / 1000) + expiresIn;
  }

  let random = options.randomBytes;
  let v1Rand: string | undefined;
  if (privileges.includes('downloadasset')) {
    // Kaltura makes these sessions deterministic so that download URLs cache:
    // expiry rounded up to 5 minutes, PHP's RNG seeded with it (spec §3.3).
    validUntil =
      Math.ceil(validUntil / DOWNLOAD_ASSET_ROUNDING_SECONDS) * DOWNLOAD_ASSET_ROUNDING_SECONDS;
    const seed = validUntil;
    random = (size) => phpSeededBytes(seed, size);
    v1Rand = String(validUntil);
  }

  if (version === 1) {
    const rand = v1Rand ?? randomUint32(random ?? secureRandomBytes);
    const ks = createV1(
      secret,
      partnerId,
      validUntil,
      type,
      rand,
      userId,
      privileges,
      masterPartnerId,
      additionalData,
    );
    return { ks, validUntil };
  }
  // Privilege names never start with "_", so the reserved fields cannot collide
  // with them and simply follow, in the server's order.
  let query = `${v2PrivilegesQuery(privileges)}_e=${validUntil}&_t=${type}&_u=${phpUrlencode(userId)}`;
  if (masterPartnerId !== undefined) query += `&_m=${masterPartnerId}`;
  if (additionalData !== undefined) query += `&_d=${phpUrlencode(additionalData)}`;
  return { ks: createV2(secret, partnerId, query, random), validUntil };
}

// A server signs the same few privilege sets over and over: remember which
// strings passed validation and how each encodes in a v2 query.
const MEMO_MAX = 512;
const validV1 = new Set<string>();
const v2Queries = new Map<string, string>();

function remember<T>(memo: Set<string> | Map<string, T>, add: () => void): void {
  if (memo.size >= MEMO_MAX) memo.clear();
  add();
}

function checkedPrivileges(input: PrivilegesInput | undefined, version: KsVersion): string {
  if (typeof input === 'string' && (version === 1 ? validV1.has(input) : v2Queries.has(input))) {
    return input;
  }
  const privileges = formatPrivileges(input, version);
  if (version === 1 && !validV1.has(privileges)) remember(validV1, () => validV1.add(privileges));
  return privileges;
}

/** The privileges' part of a v2 query (spec §3.1–§3.2), with a trailing `&` when not empty. */
function v2PrivilegesQuery(privileges: string): string {
  let query = v2Queries.get(privileges);
  if (query === undefined) {
    query = '';
    for (const [name, value] of v2Fields(privileges))
      query += `${phpUrlencode(name)}=${phpUrlencode(value)}&`;
    const encoded = query;
    remember(v2Queries, () => v2Queries.set(privileges, encoded));
  }
  return query;
}

function randomUint32(random: (size: number) => Uint8Array): string {
  const bytes = random(4);
  if (bytes.length < 4)
    throw new KsError('ERR_KS_INVALID_OPTION', 'randomBytes returned too few bytes');
  return String(((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0);
}

function createV1(
  secret: string,
  partnerId: number,
  validUntil: number,
  type: number,
  rand: string,
  userId: string,
  privileges: string,
  masterPartnerId: number | undefined,
  additionalData: string | undefined,
): string {
  // Nine fields, as the server writes them (so a plain KS ends in ";;").
  const info = `${partnerId};${partnerId};${validUntil};${type};${rand};${userId};${privileges};${masterPartnerId ?? ''};${additionalData ?? ''}`;
  const signature = sha1Hex(secret + info);
  return encodeStandardBase64(Buffer.from(`${signature}|${info}`, 'utf8'));
}

const SHA1_SIZE = 20;
const RANDOM_SIZE = 16;
const BASE64_PADDING = ['', '===', '==', '='];

// Scratch space reused by every v2 KS (cipher and hash copy what they read),
// grown on demand: the hot path allocates only what Node's crypto returns.
let plainScratch = Buffer.alloc(1024);
let outScratch = Buffer.alloc(1024);

function createV2(
  secret: string,
  partnerId: number,
  query: string,
  random: ((size: number) => Uint8Array) | undefined,
): string {
  const prefix = `v2|${partnerId}|`;
  // After url-encoding the query is pure ASCII: one byte per character.
  const plainLength = SHA1_SIZE + RANDOM_SIZE + query.length;
  const paddedLength = Math.ceil(plainLength / 16) * 16; // zero padding, none if already aligned
  if (plainScratch.length < paddedLength) plainScratch = Buffer.alloc(paddedLength * 2);
  const plain = plainScratch.subarray(0, paddedLength);
  if (random === undefined) {
    fillSecureRandom(plain, SHA1_SIZE, RANDOM_SIZE);
  } else {
    const bytes = random(RANDOM_SIZE);
    if (bytes.length < RANDOM_SIZE)
      throw new KsError('ERR_KS_INVALID_OPTION', 'randomBytes returned too few bytes');
    plain.set(bytes.subarray(0, RANDOM_SIZE), SHA1_SIZE);
  }
  plain.write(query, SHA1_SIZE + RANDOM_SIZE, 'latin1');
  plain.fill(0, plainLength);
  plain.set(sha1(plain.subarray(SHA1_SIZE, plainLength)), 0);
  const encrypted = ksCipherFor(secret).encrypt(plain);
  const total = prefix.length + encrypted.length;
  if (outScratch.length < total) outScratch = Buffer.alloc(total * 2);
  outScratch.write(prefix, 0, 'latin1');
  encrypted.copy(outScratch, prefix.length);
  // base64url, but with the '=' padding Kaltura keeps.
  const encoded = outScratch.toString('base64url', 0, total);
  return encoded + BASE64_PADDING[encoded.length & 3];
}
