export {
  createKsClient,
  type KsClient,
  type KsClientOptions,
  type KsEvent,
  type KsListener,
  type KsRouteBody,
  type KsSession,
  type TimerProvider,
} from './client.js';
export { KsClientError, type KsClientErrorCode } from './errors.js';
export type { KalturaPlayerLike, PlayerRequest, PlayerRequestFilter } from './player.js';
