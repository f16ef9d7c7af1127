export {
  delegate,
  eventsOf,
  type FleetSpace,
  type IssuerFleet,
  type IssuerFleetOptions,
  issuerFleet,
  lateBroadcasts,
  type MemorySpace,
  memorySpace,
  storeErrors,
} from './issuer-fleet.js';
export { type RedisSpace, type RedisSpaceOptions, redisSpace, sessionKeys } from './redis-space.js';
export {
  describeStoreContract,
  put,
  read,
  type StoreContractFleet,
  storeKey,
  testSession,
} from './store-contract.js';
