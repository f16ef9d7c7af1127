import { KsError } from '../errors.js';
import { invalidOption } from '../options.js';
import { hasSemicolonOrUnsafeText } from './text.js';
import { KsType } from './types.js';

/**
 * Kaltura truncates user ids to 100 characters when it looks users up
 * (`kuserPeer::MAX_PUSER_LENGTH`), so two longer ids could meet as one user:
 * kaltura-ks refuses them instead.
 */
export const MAX_USER_ID_LENGTH = 100;
export const MAX_ADDITIONAL_DATA_LENGTH = 1024;

function invalidField(message: string): KsError {
  return new KsError('ERR_KS_INVALID_FIELD', message);
}

/**
 * A user id is safe when it cannot change the KS's meaning: no `;` (the v1 field
 * separator: `mallory;disableentitlement,edit:*` would become privileges), no
 * control characters or broken Unicode, not the `*` wildcard (a KS user `*`
 * matches every user), at most 100 characters.
 */
export function checkUserId(userId: unknown): string {
  if (typeof userId !== 'string') throw invalidField('userId must be a string');
  if (userId.length > MAX_USER_ID_LENGTH) {
    throw invalidField(`userId is longer than ${MAX_USER_ID_LENGTH} characters`);
  }
  if (hasSemicolonOrUnsafeText(userId)) {
    throw invalidField('userId contains ";", a control character or broken Unicode');
  }
  if (userId === '*') throw invalidField('userId "*" is a wildcard that matches every user');
  return userId;
}

export function checkAdditionalData(value: unknown): string {
  if (typeof value !== 'string') throw invalidField('additionalData must be a string');
  if (value.length > MAX_ADDITIONAL_DATA_LENGTH) {
    throw invalidField(`additionalData is longer than ${MAX_ADDITIONAL_DATA_LENGTH} characters`);
  }
  if (hasSemicolonOrUnsafeText(value)) {
    throw invalidField('additionalData contains ";", a control character or broken Unicode');
  }
  return value;
}

export function checkPartnerId(value: unknown, name = 'partnerId'): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw invalidOption(`${name} must be an integer`);
  }
  return value;
}

export function checkType(value: unknown): KsType {
  if (value !== KsType.USER && value !== KsType.ADMIN) {
    throw invalidOption('type must be KsType.USER (0) or KsType.ADMIN (2)');
  }
  return value;
}

export function checkSecret(value: unknown, name = 'secret'): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalidOption(`${name} must be a non-empty string`);
  }
  return value;
}

export function checkPositiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw invalidOption(`${name} must be a positive integer`);
  }
  return value;
}
