import type { Clock } from '../clock.js';
import { invalidOption } from '../options.js';
import { formatPrivileges, type PrivilegesInput, v2Fields } from '../privileges/privileges.js';
import { MAX_NUMBER_TEXT, writeAscii, writeInteger, writeUtf8 } from './bytes.js';
import {
  fillSecureRandom,
  ksCipherFor,
  secretBytes,
  secureRandomUint32,
  sha1Latin1,
} from './crypto.js';
import {
  checkAdditionalData,
  checkPartnerId,
  checkPositiveInteger,
  checkSecret,
  checkType,
  checkUserId,
} from './fields.js';
import { phpSeededBytes, phpUrlencode, writePhpUrlencoded } from './php.js';
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
  if (value !== 1 && value !== 2) throw invalidOption('version must be 1 or 2');
  return value;
}

function optionalInteger(value: unknown, name: string): number | undefined {
  return value === undefined || value === null ? undefined : checkPartnerId(value, name);
}

// The user id validated last: a server signs for the same user again and again
// (strings cannot change, so one that passed once passes again).
let lastUserId = '';

function checkedUserId(value: unknown): string {
  if (value !== lastUserId) lastUserId = checkUserId(value);
  return lastUserId;
}

/**
 * Creates a KS locally, byte-compatible with Kaltura's own generator
 * (`kSessionBase::generateSession`, spec §2–§3). Every field is validated first;
 * anything that could change the KS's meaning throws `ERR_KS_INVALID_FIELD`
 * and nothing is signed.
 */
export function createKs(options: CreateKsOptions): string {
  return sign(options);
}

/** `createKs`, also returning the expiry it signed (which `downloadasset` may round). */
export function signKs(options: CreateKsOptions): { ks: string; validUntil: number } {
  const ks = sign(options);
  return { ks, validUntil: signedValidUntil };
}

/** The expiry of the KS `sign` made last (read right after it returns). */
let signedValidUntil = 0;

function sign(options: CreateKsOptions): string {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('createKs needs an options object');
  }
  const secret = checkSecret(options.secret);
  const partnerId = checkPartnerId(options.partnerId);
  const version = checkVersion(options.version ?? 2);
  const type = checkType(options.type ?? KsType.USER);
  const userId = checkedUserId(options.userId ?? '');
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
    // Date.now called as itself: V8 inlines that call, not one through a variable.
    const now = options.now;
    const nowMs = now === undefined ? Date.now() : now();
    validUntil = Math.floor(nowMs / 1000) + expiresIn;
  }

  let random = options.randomBytes;
  let v1Rand: number | undefined;
  if (privileges.downloadAsset) {
    // Kaltura makes these sessions deterministic so that download URLs cache:
    // expiry rounded up to 5 minutes, PHP's RNG seeded with it (spec §3.3).
    validUntil =
      Math.ceil(validUntil / DOWNLOAD_ASSET_ROUNDING_SECONDS) * DOWNLOAD_ASSET_ROUNDING_SECONDS;
    const seed = validUntil;
    random = (size) => phpSeededBytes(seed, size);
    v1Rand = validUntil;
  }

  if (version === 1) {
    const rand = v1Rand ?? (random === undefined ? secureRandomUint32() : randomUint32(random));
    signedValidUntil = validUntil;
    const key = secretBytes(secret);
    return createV1(
      key,
      partnerId,
      validUntil,
      type,
      rand,
      userId,
      privileges.utf8,
      masterPartnerId,
      additionalData,
    );
  }
  const fields = { partnerId, validUntil, type, userId, masterPartnerId, additionalData };
  // Asked before anything is written to the shared scratch space: it may be code of the caller's.
  const randomPrefix = random === undefined ? undefined : randomBytesFrom(random, RANDOM_SIZE);
  signedValidUntil = validUntil;
  return createV2(secret, fields, privileges.query, randomPrefix);
}

/** The fields both versions write besides the privileges, validated. */
interface SignedFields {
  partnerId: number;
  validUntil: number;
  type: number;
  userId: string;
  masterPartnerId: number | undefined;
  additionalData: string | undefined;
}

/** Validated privileges, and what the signer needs to know about them. */
interface CheckedPrivileges {
  privileges: string;
  /** KS v2: the privileges' part of the query (spec §3.1–§3.2), with a trailing `&` when not empty. */
  query: string;
  /** KS v1: the privileges as UTF-8, copied into each KS in one call. */
  utf8: Buffer;
  downloadAsset: boolean;
}

// A server signs the same few privilege sets over and over: remember which
// strings passed validation, and how each encodes in a v2 query.
const MEMO_MAX = 512;

/** Validated privileges by their string, and the string asked for last (checked first). */
class PrivilegesMemo extends Map<string, CheckedPrivileges> {
  lastInput: string | undefined = undefined;
  last: CheckedPrivileges | undefined = undefined;
}
const checkedV1 = new PrivilegesMemo();
const checkedV2 = new PrivilegesMemo();

function checkedPrivileges(
  input: PrivilegesInput | undefined,
  version: KsVersion,
): CheckedPrivileges {
  const memo = version === 1 ? checkedV1 : checkedV2;
  if (typeof input === 'string') {
    if (input === memo.lastInput) return memo.last!;
    const known = memo.get(input);
    if (known !== undefined) return rememberLast(memo, input, known);
  }
  // A string comes back as it is, a record as its string: either way the memo's key.
  const privileges = formatPrivileges(input, version);
  let checked = memo.get(privileges);
  if (checked === undefined) {
    checked = {
      privileges,
      query: version === 2 ? v2PrivilegesQuery(privileges) : '',
      utf8: Buffer.from(version === 1 ? privileges : '', 'utf8'),
      downloadAsset: privileges.includes('downloadasset'),
    };
    if (memo.size >= MEMO_MAX) memo.clear();
    memo.set(privileges, checked);
  }
  return typeof input === 'string' ? rememberLast(memo, input, checked) : checked;
}

function rememberLast(memo: PrivilegesMemo, input: string, checked: CheckedPrivileges) {
  memo.lastInput = input;
  memo.last = checked;
  return checked;
}

function v2PrivilegesQuery(privileges: string): string {
  let query = '';
  for (const [name, value] of v2Fields(privileges))
    query += `${phpUrlencode(name)}=${phpUrlencode(value)}&`;
  return query;
}

function randomBytesFrom(random: (size: number) => Uint8Array, size: number): Uint8Array {
  const bytes = random(size);
  if (bytes.length < size) throw invalidOption('randomBytes returned too few bytes');
  return bytes;
}

function randomUint32(random: (size: number) => Uint8Array): number {
  const bytes = randomBytesFrom(random, 4);
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
}

// Scratch space reused by every KS, grown on demand: nothing runs between the
// first byte written there and the KS string read out of it but this module's
// own code (no option getter, clock or random source), so one is enough.
let plainScratch: Buffer = Buffer.alloc(1024);
let outScratch: Buffer = Buffer.alloc(1024);

function scratchOf(scratch: Buffer, size: number): Buffer {
  return scratch.length >= size ? scratch : Buffer.alloc(size * 2);
}

/**
 * `buffer.subarray(start, end)`, the same view again while the same range of the
 * same buffer is asked for: one user's KSs keep their length, and making a view
 * costs about as much as hashing a hundred bytes. Only for a range read before
 * anything else asks this function again.
 */
function reusedView(): (buffer: Buffer, start: number, end: number) => Buffer {
  let source: Buffer | undefined;
  let from = -1;
  let to = -1;
  let view: Buffer = Buffer.alloc(0);
  return (buffer, start, end) => {
    if (buffer !== source || start !== from || end !== to) {
      view = buffer.subarray(start, end);
      source = buffer;
      from = start;
      to = end;
    }
    return view;
  };
}
const v1Signed = reusedView();
const v2Hashed = reusedView();
const v2Encrypted = reusedView();

const SIGNATURE_HEX_SIZE = 40;
// A byte's two lower-case hex digits, as the 16 bits that hold them in memory (either byte order).
const HEX_PAIRS = new Uint16Array(256);
{
  const digits = new Uint8Array(HEX_PAIRS.buffer);
  for (let i = 0; i < 256; i++) {
    digits[2 * i] = '0123456789abcdef'.charCodeAt(i >> 4);
    digits[2 * i + 1] = '0123456789abcdef'.charCodeAt(i & 15);
  }
}

/**
 * KS v1 (spec §2): `base64(hex(SHA1(secret ‖ info)) ‖ "|" ‖ info)`, the nine
 * info fields as the server writes them (so a plain KS ends in ";;"). The
 * secret is written just before the info, so that one view of the scratch
 * space is hashed, and the signature then over the secret's bytes.
 *
 * A server signs for one partner, many KSs a second, often for the same user: what
 * the KS before wrote is reused where it is still there and the same — the first
 * four fields ("partnerId;partnerId;validUntil;type;"), and what follows `rand` when
 * `rand` has as many digits. Nothing else writes into this scratch space, and nothing
 * runs between the first byte written and the KS read out of it but this function.
 */
function createV1(
  key: Buffer,
  partnerId: number,
  validUntil: number,
  type: number,
  rand: number,
  userId: string,
  privileges: Buffer,
  masterPartnerId: number | undefined,
  additionalData: string | undefined,
): string {
  // The signature and its "|" go before the info, over the secret when that is
  // longer; the signature starts on an even offset, where its digits are written in pairs.
  const start = (Math.max(0, key.length - SIGNATURE_HEX_SIZE - 1) + 1) & ~1;
  const info = start + SIGNATURE_HEX_SIZE + 1;
  const textLength = 3 * (userId.length + (additionalData?.length ?? 0)) + privileges.length;
  const out = scratchOf(v1.scratch, info + 6 * MAX_NUMBER_TEXT + 8 + textLength);
  const last = v1;
  const same = out === last.scratch;
  let o: number;
  if (
    same &&
    info === last.info &&
    partnerId === last.partnerId &&
    validUntil === last.validUntil &&
    type === last.type
  ) {
    // "partnerId;partnerId;validUntil;type;" is still there from the last KS.
    o = last.prefixEnd;
  } else {
    if (!same) {
      last.scratch = out;
      last.pairs = new Uint16Array(out.buffer, out.byteOffset, out.length >> 1);
    }
    // The partner id twice (the second is the unused partner pattern): written once, copied.
    o = writeInteger(out, info, partnerId);
    out[o++] = SEMICOLON;
    for (let i = info; i < o; i++) out[o + i - info] = out[i]!;
    o += o - info;
    o = writeInteger(out, o, validUntil);
    out[o++] = SEMICOLON;
    o = writeInteger(out, o, type);
    out[o++] = SEMICOLON;
    last.info = info;
    last.partnerId = partnerId;
    last.validUntil = validUntil;
    last.type = type;
    last.prefixEnd = o;
  }
  o = writeInteger(out, o, rand);
  out[o++] = SEMICOLON;
  if (
    same &&
    o === last.tailStart &&
    userId === last.userId &&
    privileges === last.privileges &&
    masterPartnerId === last.masterPartnerId &&
    additionalData === last.additionalData
  ) {
    // "userId;privileges;masterPartnerId;additionalData" is still there from the last KS.
    o = last.tailEnd;
  } else {
    last.tailStart = o;
    o = writeUtf8(out, o, userId);
    out[o++] = SEMICOLON;
    out.set(privileges, o);
    o += privileges.length;
    out[o++] = SEMICOLON;
    if (masterPartnerId !== undefined) o = writeInteger(out, o, masterPartnerId);
    out[o++] = SEMICOLON;
    if (additionalData !== undefined) o = writeUtf8(out, o, additionalData);
    last.userId = userId;
    last.privileges = privileges;
    last.masterPartnerId = masterPartnerId;
    last.additionalData = additionalData;
    last.tailEnd = o;
  }
  out.set(key, info - key.length);
  const digest = sha1Latin1(v1Signed(out, info - key.length, o));
  // The digest in lower-case hex, a byte's two digits at a time.
  const pairs = last.pairs;
  for (let i = 0, at = start >> 1; i < SHA1_SIZE; i++, at++) {
    pairs[at] = HEX_PAIRS[digest.charCodeAt(i)]!;
  }
  out[info - 1] = BAR;
  return out.toString('base64', start, o);
}

// KS v1's own scratch space (and its bytes in pairs), and what the last KS wrote there.
const v1 = {
  scratch: Buffer.alloc(1024) as Buffer,
  pairs: new Uint16Array(0) as Uint16Array,
  info: -1,
  partnerId: -1,
  validUntil: -1,
  type: -1,
  prefixEnd: -1,
  tailStart: -1,
  userId: '',
  privileges: Buffer.alloc(0) as Buffer,
  masterPartnerId: undefined as number | undefined,
  additionalData: undefined as string | undefined,
  tailEnd: -1,
};
v1.pairs = new Uint16Array(v1.scratch.buffer, v1.scratch.byteOffset, v1.scratch.length >> 1);

const SHA1_SIZE = 20;
const RANDOM_SIZE = 16;
const BLOCK = 16;
const SEMICOLON = 0x3b;
const BAR = 0x7c;
const BASE64_PADDING = ['', '===', '==', '='];

/**
 * KS v2 (spec §3): the query written after the hash and random prefix, hashed,
 * zero-padded to whole blocks, encrypted, and `v2|partnerId|` before it, in
 * base64url with the `=` padding Kaltura keeps.
 */
function createV2(
  secret: string,
  fields: SignedFields,
  privilegesQuery: string,
  randomPrefix: Uint8Array | undefined,
): string {
  const { userId, additionalData } = fields;
  const bound =
    SHA1_SIZE +
    RANDOM_SIZE +
    privilegesQuery.length +
    4 * (4 + MAX_NUMBER_TEXT) +
    9 * (userId.length + (additionalData?.length ?? 0)) +
    BLOCK;
  plainScratch = scratchOf(plainScratch, bound);
  const plain = plainScratch;
  if (randomPrefix === undefined) fillSecureRandom(plain, SHA1_SIZE, RANDOM_SIZE);
  else plain.set(randomPrefix.subarray(0, RANDOM_SIZE), SHA1_SIZE);
  // Privilege names never start with "_", so the reserved fields cannot collide
  // with them and simply follow, in the server's order.
  let o = SHA1_SIZE + RANDOM_SIZE;
  o = writeAscii(plain, o, privilegesQuery); // url-encoded: ASCII
  o = writeAscii(plain, o, '_e=');
  o = writeInteger(plain, o, fields.validUntil);
  o = writeAscii(plain, o, '&_t=');
  o = writeInteger(plain, o, fields.type);
  o = writeAscii(plain, o, '&_u=');
  o = writePhpUrlencoded(plain, o, userId);
  if (fields.masterPartnerId !== undefined) {
    o = writeAscii(plain, o, '&_m=');
    o = writeInteger(plain, o, fields.masterPartnerId);
  }
  if (additionalData !== undefined) {
    o = writeAscii(plain, o, '&_d=');
    o = writePhpUrlencoded(plain, o, additionalData);
  }
  const padded = Math.ceil(o / BLOCK) * BLOCK; // zero padding, none if already aligned
  for (let i = o; i < padded; i++) plain[i] = 0;
  writeAscii(plain, 0, sha1Latin1(v2Hashed(plain, SHA1_SIZE, o))); // latin1: one byte a character
  const encrypted = ksCipherFor(secret).encrypt(v2Encrypted(plain, 0, padded));

  const total = 4 + MAX_NUMBER_TEXT + encrypted.length;
  outScratch = scratchOf(outScratch, total);
  const out = outScratch;
  let p = writeAscii(out, 0, 'v2|');
  p = writeInteger(out, p, fields.partnerId);
  out[p++] = BAR;
  out.set(encrypted, p);
  const encoded = out.toString('base64url', 0, p + encrypted.length);
  return encoded + BASE64_PADDING[encoded.length & 3];
}
