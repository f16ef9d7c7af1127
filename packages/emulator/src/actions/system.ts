import { type ActionDefinition, defineAction } from './define.js';

const ping = defineAction({
  service: 'system',
  action: 'ping',
  access: 'anyone',
  partner: 'none',
  parse: () => ({}),
  run: () => true,
});

/** The server's clock in unix seconds: what clients use to correct their own. */
const getTime = defineAction({
  service: 'system',
  action: 'getTime',
  access: 'anyone',
  partner: 'none',
  parse: () => ({}),
  run: (_args, { nowSeconds }) => nowSeconds,
});

export const SYSTEM_ACTIONS: readonly ActionDefinition[] = [ping, getTime];
