import { hexValue, PhpArrayKeyError, phpParseStr } from './php.js';
import { malformed, toText } from './read-text.js';

/** What a KS v2 query holds (spec §4.4), as text: verifyKs checks the integers. */
export interface V2QueryFields {
  /** The privileges as Kaltura reports them: `name:value` or `name`, `,`-joined; `all:*` alone is `*`. */
  privileges: string;
  validUntil: string | undefined;
  type: string | undefined;
  /** `''` when the query has no `_u`. */
  userId: string;
  master: string | undefined;
  additional: string | undefined;
}

/**
 * Reads the query of a decrypted KS v2, `bytes[start, end)`, as PHP's `parse_str`
 * does: over one latin1 string while it is plain ASCII (what kaltura-ks and
 * Kaltura write), byte by byte otherwise. Throws `ERR_KS_MALFORMED` for a key
 * PHP would turn into an array and for text that is not UTF-8.
 */
export function readV2Query(bytes: Buffer, start: number, end: number): V2QueryFields {
  return (
    readAsciiQuery(bytes.toString('latin1', start, end)) ??
    readQueryBytes(bytes.subarray(start, end))
  );
}

// Key characters that PHP's parse_str leaves as they are (1): letters, digits, "_" and "-".
const PLAIN_KEY = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-') {
  PLAIN_KEY[c.charCodeAt(0)] = 1;
}

/**
 * The fast path of `readV2Query`, over the query as a string: `null` (read it
 * byte by byte) unless every key is plain (letters, digits, `_`, `-`: nothing
 * for PHP to normalise) and every character, and every `%XX` escape in a
 * value, is ASCII (so UTF-8 decoding changes nothing).
 */
export function readAsciiQuery(query: string): V2QueryFields | null {
  const names: string[] = [];
  const values: string[] = [];
  const fields: V2QueryFields = {
    privileges: '',
    validUntil: undefined,
    type: undefined,
    userId: '',
    master: undefined,
    additional: undefined,
  };
  const length = query.length;
  let start = 0;
  while (start < length) {
    let end = query.indexOf('&', start);
    if (end < 0) end = length;
    if (end > start) {
      let eq = start;
      for (; eq < end; eq++) {
        const c = query.charCodeAt(eq);
        if (c === 0x3d) break; // '='
        if (c > 0x7f || PLAIN_KEY[c] !== 1) return null;
      }
      if (eq === start) return null; // an empty key, which PHP drops
      const value = eq === end ? '' : asciiUrldecode(query, eq + 1, end);
      if (value === null) return null;
      const name = query.slice(start, eq);
      if (!setReserved(fields, name, value)) {
        // A repeated name keeps its first position and takes the last value, as a PHP array.
        const at = names.indexOf(name);
        if (at < 0) {
          names.push(name);
          values.push(value);
        } else {
          values[at] = value;
        }
      }
    }
    start = end + 1;
  }
  fields.privileges = joinPrivileges(names, values);
  return fields;
}

/** PHP `urldecode` of `text[from, to)`, or `null` when it holds or decodes to anything but ASCII. */
function asciiUrldecode(text: string, from: number, to: number): string | null {
  let out = '';
  let copied = from;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return null;
    if (c === 0x2b) {
      // '+' is a space
      out += `${text.slice(copied, i)} `;
      copied = i + 1;
    } else if (c === 0x25 && i + 2 < to) {
      const hi = hexValue(text.charCodeAt(i + 1));
      const lo = hexValue(text.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        if (hi > 7) return null; // a byte of a multi-byte character
        out += text.slice(copied, i) + String.fromCharCode((hi << 4) | lo);
        i += 2;
        copied = i + 1;
      }
    }
  }
  return copied === from ? text.slice(from, to) : out + text.slice(copied, to);
}

/** The byte path of `readV2Query`: PHP's `parse_str` over bytes, then each field as UTF-8. */
export function readQueryBytes(bytes: Uint8Array): V2QueryFields {
  let query: Map<string, Buffer>;
  try {
    query = phpParseStr(bytes);
  } catch (cause) {
    if (cause instanceof PhpArrayKeyError)
      throw malformed('The KS v2 has a field Kaltura cannot read', cause);
    throw cause;
  }
  const names: string[] = [];
  const values: string[] = [];
  const fields: V2QueryFields = {
    privileges: '',
    validUntil: undefined,
    type: undefined,
    userId: '',
    master: undefined,
    additional: undefined,
  };
  for (const [name, raw] of query) {
    const value = toText(raw, 'field');
    if (!setReserved(fields, name, value)) {
      // Keys come back as raw bytes (one latin1 character each); names are UTF-8.
      names.push(toText(Buffer.from(name, 'latin1'), 'field'));
      values.push(value);
    }
  }
  fields.privileges = joinPrivileges(names, values);
  return fields;
}

/** Fills a reserved field (`_e`, `_t`, `_u`, `_m`, `_d`); false for a privilege. */
function setReserved(fields: V2QueryFields, name: string, value: string): boolean {
  switch (name) {
    case '_e':
      fields.validUntil = value;
      return true;
    case '_t':
      fields.type = value;
      return true;
    case '_u':
      fields.userId = value;
      return true;
    case '_m':
      fields.master = value;
      return true;
    case '_d':
      fields.additional = value;
      return true;
    default:
      return false;
  }
}

function joinPrivileges(names: readonly string[], values: readonly string[]): string {
  let joined = '';
  for (let i = 0; i < names.length; i++) {
    const value = values[i]!;
    joined += `${i === 0 ? '' : ','}${names[i]}${value === '' ? '' : `:${value}`}`;
  }
  return joined === 'all:*' ? '*' : joined;
}
