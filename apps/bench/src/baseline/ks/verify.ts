import type { Clock } from '../clock.js';
import { KsError } from '../errors.js';
import { decodeKsBase64 } from './base64.js';
import { bytesEqual, ksCipherFor, sha1, sha1Hex } from './crypto.js';
import { PhpArrayKeyError, phpParseStr } from './php.js';
import type { KsFields } from './types.js';

/** Longest KS string kaltura-ks will look at; anything longer is refused unread. */
export const MAX_KS_LENGTH = 16_384;

const INTEGER = /^-?\d{1,15}$/;
const HEX_SIGNATURE = /^[0-9a-f]{40}$/;
// `ignoreBOM`: keep a leading U+FEFF, as Kaltura does (PHP reads bytes): "\uFEFFalice" is not "alice".
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function malformed(message: string, cause?: unknown): KsError {
  return new KsError('ERR_KS_MALFORMED', message, { cause });
}

function toInteger(value: string | undefined, field: string): number {
  if (value === undefined || !INTEGER.test(value))
    throw malformed(`The KS ${field} is not an integer`);
  return Number(value);
}

function toText(bytes: Uint8Array, field: string): string {
  try {
    return utf8.decode(bytes);
  } catch (cause) {
    throw malformed(`The KS ${field} is not valid UTF-8`, cause);
  }
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
  | { version: 1; partnerId: number; signature: string; info: Buffer; parts: string[] }
  | { version: 2; partnerId: number; encrypted: Buffer };

const V2_MAGIC = Buffer.from('v2|', 'latin1');

function open(ks: unknown): Envelope {
  if (typeof ks !== 'string') throw malformed('A KS must be a string');
  if (ks.length > MAX_KS_LENGTH)
    throw malformed(`The KS is longer than ${MAX_KS_LENGTH} characters`);
  const decoded = decodeKsBase64(ks);
  if (decoded === null || decoded.length === 0) throw malformed('The KS is not valid base64');

  if (decoded.subarray(0, 3).equals(V2_MAGIC)) {
    const bar = decoded.indexOf(0x7c, 3); // '|'
    if (bar < 0) throw malformed('The KS v2 has no encrypted part');
    const partnerId = toInteger(decoded.subarray(3, bar).toString('latin1'), 'partner id');
    const encrypted = decoded.subarray(bar + 1);
    if (encrypted.length === 0 || encrypted.length % 16 !== 0) {
      throw malformed('The KS v2 encrypted part is not a whole number of AES blocks');
    }
    return { version: 2, partnerId, encrypted };
  }

  const bar = decoded.indexOf(0x7c);
  if (bar < 0) throw malformed('The KS has no signature separator');
  const signature = decoded.subarray(0, bar).toString('latin1');
  const info = decoded.subarray(bar + 1);
  const parts = toText(info, 'body').split(';');
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

function secretList(secrets: unknown): string[] {
  const list = typeof secrets === 'string' ? [secrets] : Array.isArray(secrets) ? secrets : null;
  if (!list || list.length === 0 || list.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw new KsError(
      'ERR_KS_INVALID_OPTION',
      'secrets must be a non-empty string or a list of them',
    );
  }
  return list as string[];
}

function secretsFor(secrets: KsSecrets, partnerId: number): string[] {
  if (typeof secrets !== 'function') return secretList(secrets);
  const found = secrets(partnerId);
  if (found === undefined || found.length === 0) {
    // Kaltura fails the same way for a partner it does not know.
    throw new KsError('ERR_KS_SIGNATURE', `No secret is known for partner ${partnerId}`);
  }
  return secretList(found);
}

function verifyV1(envelope: Extract<Envelope, { version: 1 }>, secrets: string[]): VerifiedKs {
  // Kaltura compares against lower-case hex exactly: an upper-case signature fails.
  const signature = HEX_SIGNATURE.test(envelope.signature)
    ? Buffer.from(envelope.signature, 'latin1')
    : null;
  const matched =
    signature !== null &&
    secrets.some((secret) =>
      bytesEqual(
        Buffer.from(sha1Hex(Buffer.concat([Buffer.from(secret, 'utf8'), envelope.info])), 'latin1'),
        signature,
      ),
    );
  if (!matched)
    throw new KsError('ERR_KS_SIGNATURE', 'The KS signature does not match the partner secret');
  const { rand: _rand, ...fields } = v1Fields(envelope.parts);
  return { ...fields, hash: envelope.signature };
}

function decryptV2(encrypted: Buffer, secret: string): { hash: Buffer; body: Buffer } | null {
  const plain = ksCipherFor(secret).decrypt(encrypted);
  let end = plain.length;
  while (end > 0 && plain[end - 1] === 0) end--; // rtrim("\0")
  if (end < 20) return null;
  const hash = plain.subarray(0, 20);
  const body = plain.subarray(20, end);
  return bytesEqual(sha1(body), hash) ? { hash, body } : null;
}

function verifyV2(envelope: Extract<Envelope, { version: 2 }>, secrets: string[]): VerifiedKs {
  let opened: { hash: Buffer; body: Buffer } | null = null;
  for (const secret of secrets) {
    opened = decryptV2(envelope.encrypted, secret);
    if (opened) break;
  }
  if (!opened)
    throw new KsError('ERR_KS_SIGNATURE', 'The KS does not decrypt with the partner secret');

  let query: Map<string, Buffer>;
  try {
    query = phpParseStr(opened.body.subarray(16));
  } catch (cause) {
    if (cause instanceof PhpArrayKeyError)
      throw malformed('The KS v2 has a field Kaltura cannot read', cause);
    throw cause;
  }
  const privileges: string[] = [];
  let validUntil: string | undefined;
  let type: string | undefined;
  let userId = '';
  let master: string | undefined;
  let additional: string | undefined;
  for (const [name, raw] of query) {
    const value = toText(raw, 'field');
    switch (name) {
      case '_e':
        validUntil = value;
        break;
      case '_t':
        type = value;
        break;
      case '_u':
        userId = value;
        break;
      case '_m':
        master = value;
        break;
      case '_d':
        additional = value;
        break;
      default: {
        // Keys come back as raw bytes (one latin1 character each); names are UTF-8.
        const privilege = toText(Buffer.from(name, 'latin1'), 'field');
        privileges.push(value === '' ? privilege : `${privilege}:${value}`);
      }
    }
  }
  const joined = privileges.join(',');
  const result: VerifiedKs = {
    version: 2,
    partnerId: envelope.partnerId,
    userId,
    type: type === undefined ? 0 : toInteger(type, 'type'),
    validUntil: toInteger(validUntil, 'expiry'),
    privileges: joined === 'all:*' ? '*' : joined,
    hash: opened.hash.toString('hex'),
  };
  if (master !== undefined && master !== '')
    result.masterPartnerId = toInteger(master, 'master partner id');
  if (additional !== undefined) result.additionalData = additional;
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
    throw new KsError('ERR_KS_INVALID_OPTION', 'verifyKs needs options with the partner secrets');
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
