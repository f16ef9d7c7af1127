import { toAppTokenHashType } from '../app-token/hash.js';
import { checkPositiveInteger, checkType, checkUserId } from '../ks/fields.js';
import { invalidOption } from '../options.js';
import { formatPrivileges, type PrivilegesInput } from '../privileges/privileges.js';
import type { KalturaAppTokenFilter, KalturaAppTokenInput, KalturaParams } from './types.js';

/**
 * Checks on what callers pass to the typed actions. Fields that end up inside a KS (user
 * id, privileges) get the same checks as `createKs`: Kaltura does not check them, and a `;`
 * in either rewrites a v1 KS (spec §6). The partner's KS version is unknown here, so
 * privileges are checked as for v1, the stricter.
 */

export function paramsObject<T extends object>(value: T | undefined, where: string): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidOption(`${where} needs an object of parameters`);
  }
  return value;
}

/** A non-empty string; the message never quotes the value (it may be a credential). */
export function requiredText(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '')
    throw invalidOption(`${name} must be a non-empty string`);
  return value;
}

export function optionalText(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidOption(`${name} must be a string`);
  return value;
}

export function optionalUserId(value: unknown): string | undefined {
  return value === undefined ? undefined : checkUserId(value);
}

export function optionalType(value: unknown): number | undefined {
  return value === undefined ? undefined : checkType(value);
}

export function optionalSeconds(value: unknown, name: string): number | undefined {
  return value === undefined ? undefined : checkPositiveInteger(value, name);
}

export function optionalPrivileges(value: PrivilegesInput | undefined): string | undefined {
  return value === undefined ? undefined : formatPrivileges(value, 1);
}

export function optionalPartnerId(value: unknown, name = 'partnerId'): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw invalidOption(`${name} must be an integer`);
  }
  return value;
}

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,99}$/;

/** Service and action names go into the URL path: letters, digits and `_` only. */
export function checkName(value: unknown, name: 'service' | 'action'): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw invalidOption(`${name} must be a Kaltura ${name} name (letters, digits, "_")`);
  }
  return value;
}

/** `appToken` as Kaltura's deserializer reads it, with the fields that reach a KS checked. */
export function appTokenObject(input: KalturaAppTokenInput): KalturaParams {
  const t = paramsObject(input, 'appToken');
  return {
    objectType: 'KalturaAppToken',
    expiry: optionalSeconds(t.expiry, 'appToken.expiry'),
    sessionType: optionalType(t.sessionType),
    sessionUserId: optionalUserId(t.sessionUserId),
    sessionDuration: optionalSeconds(t.sessionDuration, 'appToken.sessionDuration'),
    sessionPrivileges: optionalPrivileges(t.sessionPrivileges),
    hashType: t.hashType === undefined ? undefined : toAppTokenHashType(t.hashType),
    description: optionalText(t.description, 'appToken.description'),
  };
}

function list(value: string | readonly (string | number)[] | undefined, name: string) {
  if (value === undefined || typeof value === 'string') return value;
  if (!Array.isArray(value))
    throw invalidOption(`${name} must be a list or a comma-separated string`);
  return value.join(',');
}

export function appTokenFilterObject(input: KalturaAppTokenFilter | undefined): KalturaParams {
  const f = paramsObject(input, 'filter');
  return {
    objectType: 'KalturaAppTokenFilter',
    idEqual: optionalText(f.idEqual, 'filter.idEqual'),
    idIn: list(f.idIn, 'filter.idIn'),
    statusEqual: f.statusEqual,
    statusIn: list(f.statusIn, 'filter.statusIn'),
    sessionUserIdEqual: optionalText(f.sessionUserIdEqual, 'filter.sessionUserIdEqual'),
    createdAtGreaterThanOrEqual: f.createdAtGreaterThanOrEqual,
    createdAtLessThanOrEqual: f.createdAtLessThanOrEqual,
    updatedAtGreaterThanOrEqual: f.updatedAtGreaterThanOrEqual,
    updatedAtLessThanOrEqual: f.updatedAtLessThanOrEqual,
    orderBy: optionalText(f.orderBy, 'filter.orderBy'),
  };
}
