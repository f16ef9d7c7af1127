import { apiError } from './errors.js';

/**
 * Request parameters as Kaltura's deserializer sees them (spec §7, DISP
 * `KalturaRequestDeserializer::groupParams`): a tree whose leaves are strings.
 * `filter[statusEqual]=2` (PHP form arrays), `filter:statusEqual=2` (the official clients'
 * flattening) and `{"filter":{"statusEqual":2}}` (JSON) all give the same tree.
 * Maps, not objects: a key such as `__proto__` is just a key.
 */
export type ParamValue = string | ParamTree;
export type ParamTree = Map<string, ParamValue>;

/** PHP allows 64 levels of `a[b][c]…`; nothing Kaltura takes goes deeper than three. */
const MAX_DEPTH = 32;

/** Thrown while reading a request: the body or query could not be decoded at all. */
export class ParamDecodeError extends Error {
  readonly field: string;
  constructor(field: string) {
    super(`Invalid characters in ${field}`);
    this.field = field;
  }
}

/** `application/x-www-form-urlencoded` decoding, strict: a broken `%` escape or invalid UTF-8 is an error. */
function decodeComponent(text: string, field: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    throw new ParamDecodeError(field);
  }
}

/** Splits a form key into its path: `1:filter[statusIn]` → `['1', 'filter', 'statusIn']`. */
function keyPath(key: string): string[] {
  const open = key.indexOf('[');
  if (open <= 0 || !key.endsWith(']')) return key.split(':');
  const base = key.slice(0, open).split(':');
  const inner = key.slice(open + 1, -1).split('][');
  // A key like `a[b]c]` is not PHP's array syntax: keep it whole.
  if (inner.some((part) => part.includes('[') || part.includes(']'))) return key.split(':');
  return [...base, ...inner];
}

/**
 * Sets a value at a path like Kaltura's `setElementByPath`: missing or scalar
 * intermediate nodes become maps; a final `-` only makes sure the parent exists (an
 * empty object); an empty segment (`a[]`) appends.
 */
export function setPath(tree: ParamTree, path: readonly string[], value: ParamValue): void {
  if (path.length > MAX_DEPTH) throw apiError('INVALID_FIELD_VALUE', path[0]);
  let node = tree;
  for (let i = 0; i < path.length; i++) {
    let key = path[i]!;
    const last = i === path.length - 1;
    if (last && key === '-') return;
    if (key === '') key = String(node.size);
    if (last) {
      node.set(key, value);
      return;
    }
    let next = node.get(key);
    if (!(next instanceof Map)) {
      next = new Map();
      node.set(key, next);
    }
    node = next;
  }
}

/** Adds the pairs of a query string or form body; later keys win, as in PHP. */
export function addFormParams(tree: ParamTree, text: string): void {
  if (text === '') return;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const key = decodeComponent(rawKey, 'a parameter name');
    if (key === '') continue;
    const value = eq < 0 ? '' : decodeComponent(pair.slice(eq + 1), key);
    setPath(tree, keyPath(key), value);
  }
}

function fromJson(value: unknown, depth: number): ParamValue | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (depth > MAX_DEPTH) throw apiError('INVALID_JSON');
  const tree: ParamTree = new Map();
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value as Record<string, unknown>);
  for (const [k, v] of entries) {
    const converted = fromJson(v, depth + 1);
    if (converted !== undefined) tree.set(k, converted);
  }
  return tree;
}

/** Adds a JSON object body; top-level keys are split on `:` like every other key. */
export function addJsonParams(tree: ParamTree, body: unknown): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw apiError('INVALID_JSON');
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    const converted = fromJson(value, 1);
    if (converted !== undefined) mergeAt(tree, key.split(':'), converted);
  }
}

/** Merges a value into what the query string may already have given. */
function mergeAt(tree: ParamTree, path: string[], value: ParamValue): void {
  if (!(value instanceof Map)) {
    setPath(tree, path, value);
  } else if (value.size === 0) {
    setPath(tree, [...path, '-'], '');
  } else {
    for (const [key, inner] of value) mergeAt(tree, [...path, key], inner);
  }
}

// Characters XML 1.0 does not allow: Kaltura refuses them (kXml::isXMLValidContent).
const XML_INVALID = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** PHP's `(int)` cast of a string: leading whitespace, an optional sign, digits; anything else is 0. */
export function phpInt(text: string): number {
  const match = /^[ \t\n\r\v\f]*([+-]?\d+)/.exec(text);
  if (!match) return 0;
  const n = Number(match[1]);
  return Math.max(Number.MIN_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, n));
}

/** Typed reads of one level of the tree, with Kaltura's errors. `path` names nested objects in errors. */
export class Params {
  readonly tree: ParamTree;
  readonly #prefix: string;

  constructor(tree: ParamTree, prefix = '') {
    this.tree = tree;
    this.#prefix = prefix;
  }

  #name(name: string): string {
    return this.#prefix === '' ? name : `${this.#prefix}:${name}`;
  }

  has(name: string): boolean {
    return this.tree.has(name);
  }

  /** True when the client asked to null the field (`field__null`), as Kaltura's object updates allow. */
  isNulled(name: string): boolean {
    return this.tree.has(`${name}__null`);
  }

  string(name: string): string | undefined {
    const value = this.tree.get(name);
    if (value === undefined) return undefined;
    if (value instanceof Map) throw apiError('INVALID_FIELD_VALUE', this.#name(name));
    if (XML_INVALID.test(value)) throw apiError('INVALID_PARAMETER_CHAR', this.#name(name));
    return value;
  }

  requiredString(name: string): string {
    const value = this.string(name);
    if (value === undefined) throw apiError('MISSING_MANDATORY_PARAMETER', this.#name(name));
    return value;
  }

  int(name: string): number | undefined {
    const value = this.string(name);
    return value === undefined ? undefined : phpInt(value);
  }

  /** An integer enum (Kaltura's `checkEnumValue`): `true`/`false` stand for 1/0. */
  intEnum(name: string, allowed: readonly number[], enumType: string): number | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    const lower = value.toLowerCase();
    const normalized = lower === 'true' ? '1' : lower === 'false' ? '0' : value.trim();
    const n = /^[+-]?\d+(\.0*)?$/.test(normalized) ? Number.parseInt(normalized, 10) : Number.NaN;
    if (!allowed.includes(n)) throw apiError('INVALID_ENUM_VALUE', value, name, enumType);
    return n;
  }

  /** A string enum (Kaltura's `checkStringEnumValue`): exact match. */
  stringEnum<T extends string>(
    name: string,
    allowed: readonly T[],
    enumType: string,
  ): T | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value)) {
      throw apiError('INVALID_ENUM_VALUE', value, name, enumType);
    }
    return value as T;
  }

  object(name: string): Params | undefined {
    const value = this.tree.get(name);
    if (value === undefined) return undefined;
    if (!(value instanceof Map)) throw apiError('INVALID_FIELD_VALUE', this.#name(name));
    return new Params(value, this.#name(name));
  }

  requiredObject(name: string): Params {
    const value = this.object(name);
    if (value === undefined) throw apiError('MISSING_MANDATORY_PARAMETER', this.#name(name));
    return value;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Path pairs (`/service/session/action/start`), then the query string, then the body: later ones win, as in PHP. */
export function readParams(
  path: string,
  query: string,
  contentType: string | undefined,
  body: Buffer,
): ParamTree {
  const tree: ParamTree = new Map();
  const segments = path.split('/').filter((s) => s !== '');
  let i = 1; // after "api_v3"
  if (segments[i] === 'index.php') i++;
  for (; i < segments.length; i += 2) {
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(segments[i]!);
      value = decodeURIComponent(segments[i + 1] ?? '');
    } catch {
      throw apiError('INVALID_PARAMETER_CHAR', 'path');
    }
    if (key !== '') setPath(tree, key.split(':'), value);
  }
  try {
    addFormParams(tree, query);
    if (body.length > 0) {
      const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
      let text: string;
      try {
        text = utf8.decode(body);
      } catch {
        throw type === 'application/json'
          ? apiError('INVALID_JSON')
          : new ParamDecodeError('the request body');
      }
      if (type === 'application/x-www-form-urlencoded') {
        addFormParams(tree, text);
      } else if (type === 'application/json' || type.endsWith('+json')) {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          throw apiError('INVALID_JSON');
        }
        addJsonParams(tree, json);
      } else {
        throw apiError('UNSUPPORTED_CONTENT_TYPE', type === '' ? 'none' : type.slice(0, 100));
      }
    }
  } catch (error) {
    if (error instanceof ParamDecodeError) throw apiError('INVALID_PARAMETER_CHAR', error.field);
    throw error;
  }
  return tree;
}
