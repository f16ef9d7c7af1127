import { hash } from 'node:crypto';
import { invalidOption } from '../options.js';

/** The hash functions an app token may use (Kaltura's `KalturaAppTokenHashType`). */
export const AppTokenHashType = {
  MD5: 'MD5',
  SHA1: 'SHA1',
  SHA256: 'SHA256',
  SHA512: 'SHA512',
} as const;
export type AppTokenHashType = (typeof AppTokenHashType)[keyof typeof AppTokenHashType];

const NODE_ALGORITHM: Record<AppTokenHashType, string> = {
  MD5: 'md5',
  SHA1: 'sha1',
  SHA256: 'sha256',
  SHA512: 'sha512',
};

/** Validates a hash type name (case-insensitive) and returns Kaltura's spelling. */
export function toAppTokenHashType(value: unknown): AppTokenHashType {
  const upper = typeof value === 'string' ? value.toUpperCase() : '';
  if (!Object.hasOwn(NODE_ALGORITHM, upper)) {
    throw invalidOption('hashType must be one of MD5, SHA1, SHA256, SHA512');
  }
  return upper as AppTokenHashType;
}

/**
 * The `tokenHash` for `appToken.startSession` (spec §9.7): lower-case hex of
 * H(widgetKs ‖ tokenValue) with the token's hash type (default SHA1).
 */
export function appTokenHash(
  widgetKs: string,
  tokenValue: string,
  hashType: AppTokenHashType | Lowercase<AppTokenHashType> = 'SHA1',
): string {
  if (typeof widgetKs !== 'string' || widgetKs.length === 0) {
    throw invalidOption('appTokenHash needs the widget KS');
  }
  if (typeof tokenValue !== 'string' || tokenValue.length === 0) {
    throw invalidOption('appTokenHash needs the app token value');
  }
  return hash(NODE_ALGORITHM[toAppTokenHashType(hashType)], widgetKs + tokenValue, 'hex');
}
