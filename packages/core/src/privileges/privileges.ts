import { KsError } from '../errors.js';
import { phpTrim } from '../ks/php.js';
import { hasUnsafeText } from '../ks/text.js';
import type { KsVersion } from '../ks/types.js';
import { invalidOption } from '../options.js';

/**
 * Privileges (spec §5): `name[:value[/value…]]` items joined by `,`.
 *
 * The string form is what goes into a KS. The structured form is friendlier:
 * `{ sview: '*', actionslimit: 10, disableentitlement: true, edit: ['0_a', '0_b'] }`
 * gives `sview:*,actionslimit:10,disableentitlement,edit:0_a/0_b` (`false`, `null` and
 * `undefined` leave the privilege out). `'*': true` gives `*`, every privilege.
 */
export type PrivilegeValue =
  | string
  | number
  | boolean
  | null
  | undefined
  | readonly (string | number)[];
export type PrivilegesRecord = Readonly<Record<string, PrivilegeValue>>;
export type PrivilegesInput = string | PrivilegesRecord;

/** Parsed privileges: name → values, in first-seen order (a bare name has no values). */
export type PrivilegeMap = Map<string, string[]>;

/** Longest privileges string kaltura-ks signs (a KS often travels in URLs). */
export const MAX_PRIVILEGES_LENGTH = 4096;

/** Privilege names kaltura-ks accepts: letters, digits, `_` and `-`, not starting with `_` (those are KS v2's own fields). */
const NAME = /^[A-Za-z0-9-][A-Za-z0-9_-]*$/;

function invalid(message: string): KsError {
  return new KsError('ERR_KS_INVALID_FIELD', message);
}

/**
 * Splits one item on its first `:` (spec §5.1). Returns `[name, value | null]`.
 */
function splitItem(item: string): [string, string | null] {
  const colon = item.indexOf(':');
  return colon < 0 ? [item, null] : [item.slice(0, colon), item.slice(colon + 1)];
}

function explodeValue(value: string | null): string[] {
  return value === null || value === '' ? [] : value.split('/');
}

/**
 * Parses a privileges string the way Kaltura's server does.
 *
 * - `version: 1` (default, `kSessionBase::parsePrivileges`): items kept verbatim (no
 *   trimming, empty items become an empty name), repeated names merge their values.
 * - `version: 2` (what a v2 KS keeps): items trimmed, empty items and `0` dropped,
 *   `*` stored as `all:*`, a repeated name's last value wins in its first position.
 *
 * Parsing never throws: it describes what the server would see. Use
 * `formatPrivileges` to validate input before it goes into a KS.
 */
export function parsePrivileges(
  input: string,
  options: { version?: KsVersion } = {},
): PrivilegeMap {
  const map: PrivilegeMap = new Map();
  if (options.version === 2) {
    for (const [name, value] of v2Fields(input)) map.set(name, explodeValue(value));
    return map;
  }
  for (const item of input.split(',')) {
    const [name, value] = splitItem(item);
    const values = explodeValue(value);
    const existing = map.get(name);
    if (existing) existing.push(...values);
    else map.set(name, values);
  }
  return map;
}

/**
 * The v2 field dictionary built from a privileges string (spec §3.1), before the
 * reserved fields are added: name → raw value (`''` for a bare name).
 */
export function v2Fields(privileges: string): Map<string, string> {
  const fields = new Map<string, string>();
  if (privileges === '') return fields;
  for (const raw of privileges.split(',')) {
    let item = phpTrim(raw);
    if (item === '' || item === '0') continue; // PHP falsiness
    if (item === '*') item = 'all:*';
    const [name, value] = splitItem(item);
    fields.set(name, value ?? ''); // Map#set keeps the first position, like PHP
  }
  return fields;
}

/**
 * Builds a privileges string from a parsed map (Kaltura's `buildPrivileges`):
 * `name:v1/v2`, or the bare name when there are no values.
 */
export function buildPrivileges(map: ReadonlyMap<string, readonly string[]>): string {
  const items: string[] = [];
  for (const [name, values] of map)
    items.push(values.length ? `${name}:${values.join('/')}` : name);
  return items.join(',');
}

function checkName(name: string, version: KsVersion): void {
  if (name === '*') return;
  if (name === '0') {
    // PHP reads "0" as empty: a KS v2 drops a bare `0`, so `0:` would not survive a round trip.
    throw invalid('A privilege cannot be named "0": Kaltura reads "0" as no privilege at all');
  }
  if (!NAME.test(name)) {
    throw invalid(
      name.startsWith('_')
        ? `Privilege name ${JSON.stringify(name)} is reserved: names starting with "_" are KS v2 fields`
        : `Privilege name ${JSON.stringify(truncate(name))} is not allowed in a KS v${version}: use letters, digits, "_" and "-"`,
    );
  }
}

function checkValue(name: string, value: string): void {
  if (value.includes(';') || hasUnsafeText(value)) {
    throw invalid(
      `Privilege ${JSON.stringify(name)} has a value with a control character, ";" or broken Unicode`,
    );
  }
  const smuggled = nameInValue(value);
  if (smuggled !== undefined) {
    throw invalid(
      `Privilege ${JSON.stringify(name)} has ${JSON.stringify(truncate(`${smuggled}:`))} in its value, which Kaltura would read as a privilege of that name: a ":" in a value may only follow hex digits (an IPv6 address)`,
    );
  }
}

/** Each `:` of a value with the name-like text just before it. */
const NAME_BEFORE_COLON = /([A-Za-z0-9_-]*):/g;
const HEX_RUN = /^[0-9A-Fa-f]*$/;

/**
 * Kaltura tests most privileges by substring (`ks::verifyPrivileges`: `edit:*` or
 * `edit:<entry id>` anywhere in the privileges string), so a value holding `name:`
 * grants that privilege: `sview:0_abc:edit:*` lets the user edit every entry. Returns the
 * name-like text before the first such `:`, or undefined. Hex digits before a `:` are
 * an IPv6 address (`iprestrict:2001:db8::1`): no privilege Kaltura checks is spelt in hex.
 */
function nameInValue(value: string): string | undefined {
  if (!value.includes(':')) return undefined;
  for (const [, run = ''] of value.matchAll(NAME_BEFORE_COLON)) {
    if (!HEX_RUN.test(run)) return run;
  }
  return undefined;
}

function truncate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}

/**
 * Validates a privileges string for a KS of the given version and returns it
 * unchanged (a KS carries it verbatim, so output stays byte-compatible with
 * Kaltura's own generator). Each item is checked as that version's parser will
 * see it: v1 keeps items verbatim, v2 trims them and skips empty ones.
 * Throws `ERR_KS_INVALID_FIELD` for anything that could smuggle in another field
 * or privilege: `;`, control characters, names outside `[A-Za-z0-9_-]`, names
 * starting with `_`, a value on `*`, `name:` inside a value, over-long input.
 */
export function validatePrivilegesString(privileges: string, version: KsVersion = 2): string {
  if (privileges.length > MAX_PRIVILEGES_LENGTH) {
    throw invalid(`Privileges are longer than ${MAX_PRIVILEGES_LENGTH} characters`);
  }
  if (privileges === '') return privileges;
  if (hasUnsafeText(privileges)) {
    throw invalid('Privileges contain a control character or broken Unicode');
  }
  for (const raw of privileges.split(',')) {
    const item = version === 2 ? phpTrim(raw) : raw;
    if (item === '') continue; // v1 keeps an empty item; neither version gives it meaning
    const [name, value] = splitItem(item);
    if (version === 2 && item === '0') continue;
    checkName(name, version);
    if (value !== null) {
      if (name === '*') throw invalid('The "*" privilege takes no value');
      checkValue(name, value);
    }
  }
  return privileges;
}

function formatValue(name: string, value: PrivilegeValue): string | null {
  if (value === false || value === null || value === undefined) return null;
  if (value === true) return '';
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw invalid(`Privilege ${JSON.stringify(name)} must be a finite number`);
    return String(value);
  }
  if (typeof value === 'string') {
    if (value.includes(','))
      throw invalid(`Privilege ${JSON.stringify(name)} has a "," in its value`);
    return value;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) {
      throw invalid(
        `Privilege ${JSON.stringify(name)} has an empty list: leave it out, or use true for a bare name`,
      );
    }
    return value
      .map((v) => {
        const s = formatValue(name, v as string | number);
        if (s === null || s === '')
          throw invalid(`Privilege ${JSON.stringify(name)} has an empty value in its list`);
        return s;
      })
      .join('/');
  }
  throw invalid(`Privilege ${JSON.stringify(name)} has a value of an unsupported type`);
}

/**
 * Turns privileges (a string or the structured form) into the validated string a
 * KS carries. Strings are validated and returned as they are (see
 * `validatePrivilegesString`); records are written `name:value` in key order.
 */
export function formatPrivileges(
  input: PrivilegesInput | undefined,
  version: KsVersion = 2,
): string {
  if (input === undefined) return '';
  if (typeof input === 'string') return validatePrivilegesString(input, version);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalidOption('privileges must be a string or an object of name → value');
  }
  const items: string[] = [];
  for (const name of Object.keys(input)) {
    checkName(name, version);
    const value = formatValue(name, input[name]);
    if (value === null) continue;
    if (name === '*') {
      if (value !== '') throw invalid('The "*" privilege takes no value (use "*": true)');
      items.push('*');
      continue;
    }
    checkValue(name, value);
    items.push(value === '' ? name : `${name}:${value}`);
  }
  return validatePrivilegesString(items.join(','), version);
}

/**
 * A canonical form for comparing and caching: validated and parsed with the
 * given version's semantics (what that KS would mean), empty items dropped,
 * names sorted. Value order is kept: for some
 * privileges (`urirestrict`) the values are one path split on `/`.
 */
export function normalizePrivileges(
  input: PrivilegesInput | undefined,
  version: KsVersion = 2,
): string {
  const map = parsePrivileges(formatPrivileges(input, version), { version });
  map.delete('');
  return buildPrivileges(new Map([...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}
