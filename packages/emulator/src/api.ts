import { APP_TOKEN_ACTIONS } from './actions/app-token.js';
import type { ActionDefinition, CallContext } from './actions/define.js';
import { ENTRY_ACTIONS } from './actions/entries.js';
import { METADATA_ACTIONS } from './actions/metadata.js';
import { PLAYBACK_ACTIONS } from './actions/playback.js';
import { SESSION_ACTIONS } from './actions/session.js';
import { SYSTEM_ACTIONS } from './actions/system.js';
import { USER_ACTIONS } from './actions/user.js';
import { ApiException, apiError, errorBody, type KalturaErrorBody } from './errors.js';
import { Params, type ParamTree, type ParamValue } from './params.js';
import { authenticate, type RequestOrigin, type Session, type SessionMemo } from './session.js';
import type { EmulatorState, PartnerRecord } from './state.js';

/** Every action the emulator serves. */
export const ACTIONS: readonly ActionDefinition[] = [
  ...SESSION_ACTIONS,
  ...APP_TOKEN_ACTIONS,
  ...USER_ACTIONS,
  ...SYSTEM_ACTIONS,
  ...ENTRY_ACTIONS,
  ...PLAYBACK_ACTIONS,
  ...METADATA_ACTIONS,
];

/** Service and action names are case-insensitive, as in Kaltura's dispatcher (`appToken` = `apptoken`). */
const REGISTRY = new Map<string, Map<string, ActionDefinition>>();
for (const definition of ACTIONS) {
  const service = definition.service.toLowerCase();
  const actions = REGISTRY.get(service) ?? new Map<string, ActionDefinition>();
  REGISTRY.set(service, actions);
  actions.set(definition.action.toLowerCase(), definition);
}

export const MULTIREQUEST = 'multirequest';

/** Request counts per `service.action` (canonical spelling) and in total. */
export class Stats {
  #total = 0;
  readonly #counts = new Map<string, number>();

  countRequest(): void {
    this.#total++;
  }

  countCall(key: string): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  snapshot(): EmulatorStats {
    return { ...Object.fromEntries(this.#counts), total: this.#total };
  }

  reset(): void {
    this.#total = 0;
    this.#counts.clear();
  }
}

/**
 * `total` is the number of HTTP requests to the API; every other key is a
 * `service.action` (`appToken.startSession`), counting calls inside multirequests too
 * (`multirequest` counts the envelopes); `<unknown>` counts calls to unknown services or actions.
 */
export type EmulatorStats = Readonly<Record<string, number>> & { readonly total: number };

export interface ApiEnvironment {
  readonly state: EmulatorState;
  readonly memo: SessionMemo;
  readonly stats: Stats;
  /** Epoch milliseconds. */
  readonly clock: () => number;
  readonly origin: string;
}

export type Resolved = { kind: 'action'; definition: ActionDefinition } | { kind: 'multirequest' };

/** Finds the action a request names; the canonical key is what stats and faults use. */
export function resolveAction(tree: ParamTree, allowMultirequest: boolean): Resolved {
  const params = new Params(tree);
  const service = params.string('service');
  if (!service) throw apiError('SERVICE_NOT_SPECIFIED');
  const serviceId = service.toLowerCase();
  if (serviceId === MULTIREQUEST && allowMultirequest) return { kind: 'multirequest' };
  const actions = REGISTRY.get(serviceId);
  if (actions === undefined) throw apiError('SERVICE_DOES_NOT_EXISTS', serviceId);
  const action = params.string('action');
  if (!action) throw apiError('ACTION_NOT_SPECIFIED');
  const definition = actions.get(action.toLowerCase());
  if (definition === undefined)
    throw apiError('ACTION_DOES_NOT_EXISTS', action.toLowerCase(), serviceId);
  return { kind: 'action', definition };
}

function forbidden(definition: ActionDefinition): ApiException {
  const body = errorBody(
    'SERVICE_FORBIDDEN',
    `${definition.service.toLowerCase()}->${definition.action.toLowerCase()}`,
  );
  return new ApiException(body, {
    'X-Kaltura': `error-${body.code}`,
    'X-Kaltura-App': `exiting on error ${body.code} - ${body.message}`,
  });
}

/** Kaltura's `KalturaBaseService::isPermitted`: a partner first (MISSING_KS), then the role (SERVICE_FORBIDDEN). */
function authorize(
  definition: ActionDefinition,
  session: Session | undefined,
  partner: PartnerRecord | undefined,
  partnerIdGiven: boolean,
): void {
  if (definition.partner === 'known' && partner === undefined) throw apiError('MISSING_KS');
  if (definition.partner === 'given' && session === undefined && !partnerIdGiven)
    throw apiError('MISSING_KS');
  const permitted =
    definition.access === 'anyone' ||
    (session !== undefined && (definition.access === 'session' || session.isAdmin));
  if (!permitted) throw forbidden(definition);
}

/**
 * Runs one call in Kaltura's order: the KS (INVALID_KS), the parameters
 * (MISSING_MANDATORY_PARAMETER, INVALID_ENUM_VALUE), the permission (MISSING_KS,
 * SERVICE_FORBIDDEN), the action.
 */
async function invoke(
  definition: ActionDefinition,
  tree: ParamTree,
  env: ApiEnvironment,
  origin: RequestOrigin,
): Promise<unknown> {
  const params = new Params(tree);
  const nowMs = env.clock();
  const ks = params.string('ks');
  const session = ks ? authenticate(env.state, ks, origin, nowMs, env.memo) : undefined;
  // PHP: `partnerId=0` counts as no partner at all.
  const partnerId = params.int('partnerId') || undefined;
  const partner =
    session?.partner ?? (partnerId === undefined ? undefined : env.state.partners.get(partnerId));
  const context: CallContext = {
    state: env.state,
    nowMs,
    nowSeconds: Math.floor(nowMs / 1000),
    session,
    partner,
    origin: env.origin,
  };
  const run = definition.prepare(params, context);
  authorize(definition, session, partner, partnerId !== undefined);
  return await run();
}

export interface CallResult {
  body: unknown;
  error: boolean;
  headers: Record<string, string>;
}

function failure(error: unknown): CallResult {
  // Anything but a Kaltura error is a bug in the emulator: answer as Kaltura does, without details.
  const exception = error instanceof ApiException ? error : apiError('INTERNAL_SERVERL_ERROR');
  return { body: exception.body, error: true, headers: exception.headers };
}

/** Runs one resolved action and turns any failure into Kaltura's error body. */
export async function callAction(
  definition: ActionDefinition,
  tree: ParamTree,
  env: ApiEnvironment,
  origin: RequestOrigin,
): Promise<CallResult> {
  try {
    const body = await invoke(definition, tree, env, origin);
    return { body, error: false, headers: {} };
  } catch (error) {
    const result = failure(error);
    const strict = definition.strictErrors;
    const code = (result.body as KalturaErrorBody).code;
    if (strict !== undefined && !strict.allowed.includes(code)) {
      return { body: errorBody(strict.replaceWith), error: true, headers: {} };
    }
    return result;
  }
}

const REFERENCE = /\{(\d+):result(?::([^}]*))?\}/g;

function lookup(result: unknown, path: string): string | undefined {
  let value = result;
  for (const key of path === '' ? [] : path.split(':')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  // Kaltura's getValueFromObject: only a scalar, and a falsy one counts as missing.
  if (typeof value === 'object' || !value) return undefined;
  return String(value);
}

/** Replaces `{N:result:path}` with values from earlier results (1-based, as Kaltura counts). */
function resolveReferences(tree: ParamTree, results: readonly CallResult[]): ParamTree {
  const resolveValue = (value: ParamValue): ParamValue => {
    if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, resolveValue(v)]));
    return value.replace(REFERENCE, (token, index: string, path: string | undefined) => {
      const n = Number(index);
      if (n < 1 || n > results.length) return token;
      const previous = results[n - 1]!;
      const found = previous.error ? undefined : lookup(previous.body, path ?? '');
      if (found === undefined) throw apiError('MISSING_MANDATORY_PARAMETER', token);
      return found;
    });
  };
  return resolveValue(tree) as ParamTree;
}

const INHERITED = ['ks', 'partnerId', 'clientTag'];

/**
 * Kaltura's multirequest (FC `handleMultiRequest`): requests are numbered keys (`1:service`,
 * `1:action`… or `{"1": {...}}`; the Node client counts from 0), run in order until one
 * lacks a service or action; `ks`, `partnerId` and `clientTag` are inherited from the
 * envelope; the answer is a JSON array.
 */
export async function multirequest(
  tree: ParamTree,
  env: ApiEnvironment,
  origin: RequestOrigin,
): Promise<unknown[]> {
  const requests = new Map<number, ParamTree>();
  let first = 1;
  let last = 1;
  for (const [key, value] of tree) {
    if (!/^\d{1,6}$/.test(key)) continue;
    const index = Number(key);
    requests.set(index, value instanceof Map ? value : new Map());
    first = Math.min(first, index);
    last = Math.max(last, index);
  }
  const results: CallResult[] = [];
  for (let i = first; i <= last; i++) {
    const request = requests.get(i);
    if (request === undefined || !request.has('service') || !request.has('action')) break;
    for (const name of INHERITED) {
      const inherited = tree.get(name);
      if (!request.has(name) && inherited !== undefined) request.set(name, inherited);
    }
    request.delete('format');
    results.push(await callOne(request, results, env, origin));
  }
  return results.map((r) => r.body);
}

async function callOne(
  request: ParamTree,
  previous: readonly CallResult[],
  env: ApiEnvironment,
  origin: RequestOrigin,
): Promise<CallResult> {
  let definition: ActionDefinition;
  let resolved: ParamTree;
  try {
    const found = resolveAction(request, false);
    if (found.kind !== 'action') throw apiError('SERVICE_DOES_NOT_EXISTS', MULTIREQUEST);
    definition = found.definition;
  } catch (error) {
    env.stats.countCall('<unknown>');
    return failure(error);
  }
  env.stats.countCall(`${definition.service}.${definition.action}`);
  try {
    resolved = resolveReferences(request, previous);
  } catch (error) {
    return failure(error);
  }
  return callAction(definition, resolved, env, origin);
}
