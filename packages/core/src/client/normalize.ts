import { KsError } from '../errors.js';
import type {
  KalturaAppToken,
  KalturaAppTokenListResponse,
  KalturaSessionFields,
  KalturaSessionInfo,
  KalturaStartWidgetSessionResponse,
} from './types.js';

/**
 * Kaltura's JSON follows PHP's runtime types, not the declared ones: a value read back out
 * of a KS (`"partnerId":"123"`) is a string, a computed one an int. These readers accept
 * both and never echo a value in their errors (it may be a KS).
 */

const NUMERIC = /^-?\d+(?:\.\d+)?$/;

function bad(where: string, what: string): KsError {
  return new KsError('ERR_KS_RESPONSE', `${where}: ${what}`);
}

function asObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad(where, 'expected an object in the answer');
  }
  return value as Record<string, unknown>;
}

export function toNumber(value: unknown, field: string, where: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && NUMERIC.test(value)) return Number(value);
  throw bad(where, `"${field}" is not a number`);
}

function toOptionalNumber(value: unknown, field: string, where: string): number | undefined {
  return value === undefined || value === null || value === ''
    ? undefined
    : toNumber(value, field, where);
}

/** Strings, with numbers written in decimal (a widget session's user is the int 0). */
export function toText(value: unknown, field: string, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (value === undefined || value === null) return '';
  throw bad(where, `"${field}" is not a string`);
}

function toOptionalText(value: unknown, field: string, where: string): string | undefined {
  return value === undefined || value === null ? undefined : toText(value, field, where);
}

/** A KS answered as a bare JSON string. */
export function parseKs(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') throw bad(where, 'expected a KS in the answer');
  return value;
}

export function parseBoolean(value: unknown, where: string): boolean {
  if (value === true || value === 1 || value === '1' || value === 'true') return true;
  if (value === false || value === 0 || value === '0' || value === 'false' || value === '') {
    return false;
  }
  throw bad(where, 'expected a boolean in the answer');
}

export function parseSessionFields(value: unknown, where: string): KalturaSessionFields {
  const o = asObject(value, where);
  return {
    partnerId: toNumber(o.partnerId, 'partnerId', where),
    userId: toText(o.userId, 'userId', where),
    expiry: toNumber(o.expiry, 'expiry', where),
    sessionType: toNumber(o.sessionType, 'sessionType', where),
    privileges: toText(o.privileges, 'privileges', where),
  };
}

export function parseSessionInfo(value: unknown, where: string): KalturaSessionInfo {
  const fields = parseSessionFields(value, where);
  const ks = parseKs((value as Record<string, unknown>).ks, where);
  return { ks, ...fields };
}

export function parseWidgetSession(
  value: unknown,
  where: string,
): KalturaStartWidgetSessionResponse {
  const o = asObject(value, where);
  return {
    partnerId: toNumber(o.partnerId, 'partnerId', where),
    ks: parseKs(o.ks, where),
    userId: toText(o.userId, 'userId', where),
  };
}

export function parseAppToken(value: unknown, where: string): KalturaAppToken {
  const o = asObject(value, where);
  const id = toText(o.id, 'id', where);
  if (id === '') throw bad(where, 'the app token has no id');
  const token: KalturaAppToken = {
    id,
    token: toText(o.token, 'token', where),
    partnerId: toNumber(o.partnerId, 'partnerId', where),
    createdAt: toNumber(o.createdAt ?? 0, 'createdAt', where),
    updatedAt: toNumber(o.updatedAt ?? 0, 'updatedAt', where),
    status: toNumber(o.status, 'status', where),
    hashType: toText(o.hashType, 'hashType', where).toUpperCase() || 'SHA1',
  };
  const expiry = toOptionalNumber(o.expiry, 'expiry', where);
  if (expiry !== undefined) token.expiry = expiry;
  const sessionType = toOptionalNumber(o.sessionType, 'sessionType', where);
  if (sessionType !== undefined) token.sessionType = sessionType;
  const sessionUserId = toOptionalText(o.sessionUserId, 'sessionUserId', where);
  if (sessionUserId !== undefined) token.sessionUserId = sessionUserId;
  const sessionDuration = toOptionalNumber(o.sessionDuration, 'sessionDuration', where);
  if (sessionDuration !== undefined) token.sessionDuration = sessionDuration;
  const sessionPrivileges = toOptionalText(o.sessionPrivileges, 'sessionPrivileges', where);
  if (sessionPrivileges !== undefined) token.sessionPrivileges = sessionPrivileges;
  const description = toOptionalText(o.description, 'description', where);
  if (description !== undefined) token.description = description;
  return token;
}

export function parseAppTokenList(value: unknown, where: string): KalturaAppTokenListResponse {
  const o = asObject(value, where);
  const objects = o.objects ?? [];
  if (!Array.isArray(objects)) throw bad(where, '"objects" is not a list');
  return {
    objects: objects.map((item) => parseAppToken(item, where)),
    totalCount: toNumber(o.totalCount ?? objects.length, 'totalCount', where),
  };
}
