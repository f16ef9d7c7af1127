export {
  KsProvider,
  type KsProviderProps,
  type KsState,
  type UseKs,
  useKs,
  useKsClient,
} from './ks.js';
export {
  type KalturaPlayerInstance,
  type KalturaPlayerLibrary,
  type UseKalturaPlayer,
  type UseKalturaPlayerOptions,
  useKalturaPlayer,
} from './player.js';
