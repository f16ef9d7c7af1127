export { AppTokenHashType, appTokenHash, toAppTokenHashType } from './app-token/hash.js';
export { type Clock, systemClock } from './clock.js';
export {
  isKsError,
  KalturaApiError,
  type KalturaApiErrorInit,
  KS_ERROR_CODES,
  KsError,
  type KsErrorCode,
  type KsErrorOptions,
} from './errors.js';
export { type CreateKsOptions, createKs } from './ks/create.js';
export { MAX_ADDITIONAL_DATA_LENGTH, MAX_USER_ID_LENGTH } from './ks/fields.js';
export { type KsFields, KsType, type KsVersion } from './ks/types.js';
export {
  type DecodedKs,
  type DecodedKsV1,
  type DecodedKsV2,
  decodeKs,
  type KsSecrets,
  MAX_KS_LENGTH,
  type VerifiedKs,
  type VerifyKsOptions,
  verifyKs,
} from './ks/verify.js';
export {
  buildPrivileges,
  formatPrivileges,
  MAX_PRIVILEGES_LENGTH,
  normalizePrivileges,
  type PrivilegeMap,
  type PrivilegesInput,
  type PrivilegesRecord,
  type PrivilegeValue,
  parsePrivileges,
  validatePrivilegesString,
} from './privileges/privileges.js';
export { KALTURA_SERVER_PRIVILEGES } from './privileges/server-privileges.js';
