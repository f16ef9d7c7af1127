export type { EmulatorStats } from './api.js';
export { type EmulatorCliIo, main } from './cli.js';
export { errorBody, type KalturaErrorBody } from './errors.js';
export { type FaultControls, FaultMode, type FaultRule } from './faults.js';
export { mulberry32 } from './random.js';
export { SAMPLE_ENTRIES, type Sample } from './samples.js';
export { type Emulator, type EmulatorOptions, startEmulator } from './server.js';
export {
  AppTokenStatus,
  type PartnerOptions,
  type PartnerRecord,
  type UserOptions,
  type UserRecord,
} from './state.js';
