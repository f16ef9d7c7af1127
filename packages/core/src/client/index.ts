/**
 * `@kaltura-ks/core/client`: a Kaltura API client on undici (Node only).
 */
export {
  isKsError,
  KalturaApiError,
  type KalturaApiErrorInit,
  KsError,
  type KsErrorCode,
} from '../errors.js';
export { createKalturaClient } from './client.js';
export { REDACTED } from './redact.js';
export {
  type AppTokenStartSessionParams,
  type KalturaAppToken,
  type KalturaAppTokenFilter,
  type KalturaAppTokenInput,
  type KalturaAppTokenListResponse,
  type KalturaAppTokenService,
  KalturaAppTokenStatus,
  type KalturaCallInfo,
  type KalturaCallObserver,
  type KalturaCallOptions,
  type KalturaClient,
  type KalturaClientEvent,
  type KalturaClientOptions,
  type KalturaFilterPager,
  type KalturaMultiRequestItem,
  type KalturaMultiRequestResult,
  type KalturaParams,
  type KalturaParamValue,
  type KalturaRequestOptions,
  type KalturaRetryOptions,
  type KalturaSessionFields,
  type KalturaSessionInfo,
  type KalturaSessionService,
  type KalturaStartWidgetSessionResponse,
  type KalturaSystemService,
  type KalturaUserService,
  type SessionGetParams,
  type SessionStartParams,
  type SessionStartWidgetSessionParams,
  type StartAppTokenSessionParams,
  type UserLoginByLoginIdParams,
} from './types.js';
