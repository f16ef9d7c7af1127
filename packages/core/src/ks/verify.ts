import { isAscii } from 'node:buffer';
import type { Clock } from '../clock.js';
import { KsError } from '../errors.js';
import { invalidOption } from '../options.js';
import { decodeKsBase64, decodePlainKsBase64ToLatin1 } from './base64.js';
import { ksCipherFor, latin1Equal, sha1Hex, sha1Latin1, textEqual } from './crypto.js';
import { malformed, toText } from './read-text.js';
import type { KsFields } from './types.js';
import { readV2Query } from './v2-query.js';

/** Longest KS string kaltura-ks will look at; anything longer is refused unread. */
export const MAX_KS_LENGTH = 16_384;

const INTEGER = /^-?\d{1,15}$/;

function toInteger(value: string | undefined, field: string): number {
  if (value === undefined || !INTEGER.test(value))
    throw malformed(`The KS ${field} is not an integer`);
  return Number(value);
}

/** A KS v1 read without its secret: every field, none of them trustworthy. */
export interface DecodedKsV1 extends KsFields {
  version: 1;
  verified: false;
  /** The `rand` field (any string without `;`). */
  rand: string;
}

/** A KS v2 without its secret: only the version and partner are in the clear. */
export interface DecodedKsV2 {
  version: 2;
  verified: false;
  partnerId: number;
}

export type DecodedKs = DecodedKsV1 | DecodedKsV2;

/** A KS whose signature or encryption checked out and that has not expired. */
export interface VerifiedKs extends KsFields {
  /**
   * The hash Kaltura revokes a KS by (`session.end`): v1 its hex signature, v2 the
   * hex SHA1 inside it. Safe to log or store as a session id: it cannot be replayed.
   */
  hash: string;
}

/** One admin secret or several; a function looks them up by the KS's partner id. */
export type KsSecrets =
  | string
  | readonly string[]
  | ((partnerId: number) => string | readonly string[] | undefined);

export interface VerifyKsOptions {
  /**
   * The partner's admin secret, or all of them (each is tried in order, as
   * Kaltura does), or a lookup by partner id for servers of many partners.
   */
  secrets: KsSecrets;
  /**
   * The partner the KS must belong to. Give it whenever `secrets` is a fixed
   * list: a KS v2 does not encrypt its partner id, so without this check a KS
   * whose id was edited would verify and report the edited id.
   */
  partnerId?: number;
  /** The clock, in epoch milliseconds. Default `Date.now`. */
  now?: Clock;
}

type Envelope =
  | { version: 1; partnerId: number; signature: string; info: string; parts: string[] }
  | { version: 2; partnerId: number; encrypted: Buffer };

const BAR = 0x7c; // '|'
const V2_BASE64 = 'djJ8'; // base64 of "v2|"

function open(ks: unknown): Envelope {
  if (typeof ks !== 'string') throw malformed('A KS must be a string');
  if (ks.length > MAX_KS_LENGTH)
    throw malformed(`The KS is longer than ${MAX_KS_LENGTH} characters`);
  // "djJ8" is base64 for "v2|": anything else is worth trying as plain v1 text first.
  if (!ks.startsWith(V2_BASE64)) {
    const text = decodePlainKsBase64ToLatin1(ks);
    // ASCII reads the same as latin1 and as UTF-8 (one byte per character either way).
    if (text !== null && text.length > 0 && Buffer.byteLength(text, 'utf8') === text.length) {
      if (text.startsWith('v2|')) return openV2(Buffer.from(text, 'latin1'));
      const bar = text.indexOf('|');
      if (bar < 0) throw malformed('The KS has no signature separator');
      return openV1(text.slice(0, bar), text.slice(bar + 1));
    }
  }
  const decoded = decodeKsBase64(ks);
  if (decoded === null || decoded.length === 0) throw malformed('The KS is not valid base64');

  if (decoded[0] === 0x76 && decoded[1] === 0x32 && decoded[2] === BAR) return openV2(decoded); // "v2|"

  let signature: string;
  let info: string;
  if (isAscii(decoded)) {
    // ASCII reads the same as latin1 and as UTF-8: one string for the whole KS.
    const text = decoded.toString('latin1');
    const bar = text.indexOf('|');
    if (bar < 0) throw malformed('The KS has no signature separator');
    signature = text.slice(0, bar);
    info = text.slice(bar + 1);
  } else {
    const bar = decoded.indexOf(BAR);
    if (bar < 0) throw malformed('The KS has no signature separator');
    signature = decoded.toString('latin1', 0, bar);
    info = toText(decoded.subarray(bar + 1), 'body');
  }
  return openV1(signature, info);
}

/** A decoded KS v2: `v2|partnerId|` and the encrypted part. */
function openV2(decoded: Buffer): Envelope {
  let bar = 3;
  while (bar < decoded.length && decoded[bar] !== BAR) bar++;
  if (bar === decoded.length) throw malformed('The KS v2 has no encrypted part');
  const partnerId = toInteger(decoded.toString('latin1', 3, bar), 'partner id');
  const encrypted = decoded.subarray(bar + 1);
  if (encrypted.length === 0 || encrypted.length % 16 !== 0) {
    throw malformed('The KS v2 encrypted part is not a whole number of AES blocks');
  }
  return { version: 2, partnerId, encrypted };
}

/** A decoded KS v1: its signature and its info text, split into fields. */
function openV1(signature: string, info: string): Envelope {
  const parts = info.split(';');
  if (parts.length < 3) throw malformed('The KS v1 has fewer than three fields');
  return { version: 1, partnerId: toInteger(parts[0], 'partner id'), signature, info, parts };
}

function v1Fields(parts: string[]): KsFields & { rand: string } {
  const master = parts[7];
  const additional = parts[8];
  const fields: KsFields & { rand: string } = {
    version: 1,
    partnerId: toInteger(parts[0], 'partner id'),
    userId: parts[5] ?? '',
    type: parts[3] === undefined ? 0 : toInteger(parts[3], 'type'),
    validUntil: toInteger(parts[2], 'expiry'),
    privileges: parts[6] ?? '',
    rand: parts[4] ?? '',
  };
  if (master !== undefined && master !== '')
    fields.masterPartnerId = toInteger(master, 'master partner id');
  if (additional !== undefined && additional !== '') fields.additionalData = additional;
  return fields;
}

/**
 * Reads a KS without its secret. A v1 KS shows every field (marked
 * `verified: false`: anyone can forge them); a v2 KS shows only its version
 * and partner. Throws `ERR_KS_MALFORMED` for anything Kaltura could not parse.
 */
export function decodeKs(ks: string): DecodedKs {
  const envelope = open(ks);
  if (envelope.version === 2) return { version: 2, verified: false, partnerId: envelope.partnerId };
  return { ...v1Fields(envelope.parts), version: 1, verified: false };
}

function invalidSecrets(): KsError {
  return invalidOption('secrets must be a non-empty string or a list of them');
}

function secretList(secrets: unknown): readonly string[] {
  if (typeof secrets === 'string') {
    if (secrets.length === 0) throw invalidSecrets();
    return [secrets];
  }
  if (!Array.isArray(secrets) || secrets.length === 0) throw invalidSecrets();
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret.length === 0) throw invalidSecrets();
  }
  return secrets as string[];
}

function secretsFor(secrets: KsSecrets, partnerId: number): readonly string[] {
  if (typeof secrets !== 'function') return secretList(secrets);
  const found = secrets(partnerId);
  if (found === undefined || found.length === 0) {
    // Kaltura fails the same way for a partner it does not know.
    throw new KsError('ERR_KS_SIGNATURE', `No secret is known for partner ${partnerId}`);
  }
  return secretList(found);
}

function verifyV1(
  envelope: Extract<Envelope, { version: 1 }>,
  secrets: readonly string[],
): VerifiedKs {
  // SHA1(secret bytes ‖ info bytes): the info text came from valid UTF-8, so encoding it
  // again gives its bytes back. Kaltura compares against lower-case hex exactly, so an
  // upper-case signature fails.
  let matched = false;
  for (const secret of secrets) {
    if (textEqual(sha1Hex(secret + envelope.info), envelope.signature)) {
      matched = true;
      break;
    }
  }
  if (!matched)
    throw new KsError('ERR_KS_SIGNATURE', 'The KS signature does not match the partner secret');
  const { parts } = envelope;
  const master = parts[7];
  const additional = parts[8];
  const type = parts[3] === undefined ? 0 : toInteger(parts[3], 'type');
  // The hash goes last, after the optional fields, as it always has for a v1 KS.
  const verified: KsFields & { hash?: string } = {
    version: 1,
    partnerId: envelope.partnerId,
    userId: parts[5] ?? '',
    type,
    validUntil: toInteger(parts[2], 'expiry'),
    privileges: parts[6] ?? '',
  };
  if (master !== undefined && master !== '')
    verified.masterPartnerId = toInteger(master, 'master partner id');
  if (additional !== undefined && additional !== '') verified.additionalData = additional;
  verified.hash = envelope.signature;
  return verified as VerifiedKs;
}

const SHA1_SIZE = 20;
const RANDOM_SIZE = 16;

function verifyV2(
  envelope: Extract<Envelope, { version: 2 }>,
  secrets: readonly string[],
): VerifiedKs {
  let plain: Buffer | undefined;
  let end = 0;
  for (const secret of secrets) {
    const candidate = ksCipherFor(secret).decrypt(envelope.encrypted);
    end = candidate.length;
    while (end > 0 && candidate[end - 1] === 0) end--; // rtrim("\0")
    if (end < SHA1_SIZE) continue;
    if (latin1Equal(candidate, 0, sha1Latin1(candidate.subarray(SHA1_SIZE, end)))) {
      plain = candidate;
      break;
    }
  }
  if (plain === undefined)
    throw new KsError('ERR_KS_SIGNATURE', 'The KS does not decrypt with the partner secret');

  // After the hash, 16 random bytes, then the query (nothing, if the KS is that short).
  const fields = readV2Query(plain, Math.min(SHA1_SIZE + RANDOM_SIZE, end), end);
  const result: VerifiedKs = {
    version: 2,
    partnerId: envelope.partnerId,
    userId: fields.userId,
    type: fields.type === undefined ? 0 : toInteger(fields.type, 'type'),
    validUntil: toInteger(fields.validUntil, 'expiry'),
    privileges: fields.privileges,
    hash: plain.toString('hex', 0, SHA1_SIZE),
  };
  if (fields.master !== undefined && fields.master !== '')
    result.masterPartnerId = toInteger(fields.master, 'master partner id');
  if (fields.additional !== undefined) result.additionalData = fields.additional;
  return result;
}

/**
 * Verifies a KS as Kaltura's server does (spec §4): decodes it (both base64
 * alphabets, optional padding, whitespace), checks the v1 signature or the v2
 * decryption and hash against each secret in turn, then the partner and the
 * expiry (`now < validUntil`, no grace). Returns the fields only when all of
 * that holds; otherwise throws a `KsError` (`ERR_KS_MALFORMED`,
 * `ERR_KS_PARTNER_MISMATCH`, `ERR_KS_SIGNATURE`, `ERR_KS_EXPIRED`).
 */
export function verifyKs(ks: string, options: VerifyKsOptions): VerifiedKs {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('verifyKs needs options with the partner secrets');
  }
  if (typeof options.secrets !== 'function') secretList(options.secrets);
  const envelope = open(ks);
  if (options.partnerId !== undefined && envelope.partnerId !== options.partnerId) {
    throw new KsError(
      'ERR_KS_PARTNER_MISMATCH',
      `The KS belongs to partner ${envelope.partnerId}, not ${options.partnerId}`,
    );
  }
  const secrets = secretsFor(options.secrets, envelope.partnerId);
  const verified =
    envelope.version === 1 ? verifyV1(envelope, secrets) : verifyV2(envelope, secrets);
  const nowSeconds = Math.floor((options.now ?? Date.now)() / 1000);
  if (nowSeconds >= verified.validUntil) {
    throw new KsError(
      'ERR_KS_EXPIRED',
      `The KS expired at ${describeUnixTime(verified.validUntil)}`,
    );
  }
  return verified;
}

function describeUnixTime(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? `unix time ${seconds}` : date.toISOString();
}
