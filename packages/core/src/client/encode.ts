import { invalidOption } from '../options.js';
import type { KalturaParams, KalturaParamValue } from './types.js';

/**
 * Parameter names whose values are credentials: they are sent in the body only, and
 * removed from anything Kaltura echoes back (errors) before it reaches a caller or a log.
 * Compared case-insensitively with the last segment of a flattened name.
 */
const SENSITIVE = new Set(['ks', 'secret', 'password', 'token', 'tokenhash', 'session', 'otp']);

/** A form-encoded body and the credentials it carries (for redaction). */
export interface EncodedParams {
  /** `name=value&…`, without a leading `&`. */
  body: string;
  secrets: string[];
}

/**
 * Form-encodes Kaltura parameters the way PHP parses them: nested objects and arrays become
 * `filter[statusEqual]=2`, `objects[0][id]=…`; booleans `1`/`0`; `null` and `undefined` are
 * left out (Kaltura then applies its default).
 */
export function encodeParams(
  params: KalturaParams | undefined,
  prefix = '',
  into?: EncodedParams,
): EncodedParams {
  const out = into ?? { body: '', secrets: [] };
  if (params === undefined) return out;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw invalidOption('params must be an object of name → value');
  }
  for (const name of Object.keys(params)) {
    append(out, prefix === '' ? name : `${prefix}[${name}]`, name, params[name]);
  }
  return out;
}

/** Appends one already-encoded `name=value` pair. */
export function appendPair(out: EncodedParams, name: string, value: string): void {
  const pair = `${encodeComponent(name, name)}=${encodeComponent(value, name)}`;
  out.body = out.body === '' ? pair : `${out.body}&${pair}`;
}

function append(out: EncodedParams, key: string, leaf: string, value: KalturaParamValue): void {
  if (value === undefined || value === null) return;
  switch (typeof value) {
    case 'string':
      if (value !== '' && SENSITIVE.has(leaf.toLowerCase())) out.secrets.push(value);
      appendPair(out, key, value);
      return;
    case 'number':
      if (!Number.isFinite(value)) {
        throw invalidOption(`param ${key} must be a finite number`);
      }
      appendPair(out, key, String(value));
      return;
    case 'boolean':
      appendPair(out, key, value ? '1' : '0');
      return;
    case 'object':
      if (Array.isArray(value)) {
        const list = value as readonly KalturaParamValue[];
        for (let i = 0; i < list.length; i++) append(out, `${key}[${i}]`, String(i), list[i]);
      } else {
        encodeParams(value as KalturaParams, key, out);
      }
      return;
    default:
      throw invalidOption(`param ${key} has an unsupported type`);
  }
}

function encodeComponent(text: string, name: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    // A lone surrogate cannot be UTF-8 encoded. The value is not echoed.
    throw invalidOption(`param ${name} is not valid Unicode`);
  }
}
