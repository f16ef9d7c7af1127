export { createKsIssuer, type GetKsOptions, type KsIssuer } from './issuer.js';
export { localMinter } from './local-minter.js';
export { createMemoryStoreHub } from './memory-store.js';
export type { KsMinter, MintRequest } from './minter.js';
export type { KsIssuerOptions } from './options.js';
export { type Freshness, type FreshnessPolicy, freshness, renewAt } from './policy.js';
export { ANNOUNCE_INTERVAL_MS } from './revocations.js';
export type {
  KsHeardRevocation,
  KsLockRelease,
  KsPendingRevocation,
  KsSharedRead,
  KsSharedStore,
  KsStoreKey,
} from './store.js';
export type {
  KsEvictReason,
  KsIssuerEvent,
  KsKeyInfo,
  KsRequest,
  KsRevokeReach,
  KsRevokeResult,
  KsSession,
} from './types.js';
