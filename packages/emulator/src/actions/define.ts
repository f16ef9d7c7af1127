import type { KalturaErrorCode } from '../errors.js';
import type { Params } from '../params.js';
import type { Session } from '../session.js';
import type { EmulatorState, PartnerRecord } from '../state.js';

/** What an action runs with: the state, the time, and who is calling. */
export interface CallContext {
  readonly state: EmulatorState;
  readonly nowMs: number;
  /** Whole unix seconds, Kaltura's unit. */
  readonly nowSeconds: number;
  /** The request's KS, fully validated; undefined when the request carried none. */
  readonly session: Session | undefined;
  /** The partner the call acts for: the KS's, else the `partnerId` parameter's when that partner exists. */
  readonly partner: PartnerRecord | undefined;
  /** `http://host:port`, for URLs the emulator writes into answers. */
  readonly origin: string;
}

/**
 * Who may call an action (Kaltura's permission tables, spec §9): `anyone` (no KS
 * needed), `session` (any KS: user, widget or admin), `admin` (an ADMIN KS).
 */
export type Access = 'anyone' | 'session' | 'admin';

/**
 * Whether the action needs a partner before it runs (Kaltura's `partnerRequired`):
 * `known` — the KS's or an existing `partnerId`'s, else MISSING_KS; `given` — some
 * partner id, the action itself checks that it exists; `none`.
 */
export type PartnerRequirement = 'known' | 'given' | 'none';

export interface ActionDefinition {
  /** Canonical names, as Kaltura's clients spell them (`appToken`, `startSession`). */
  readonly service: string;
  readonly action: string;
  readonly access: Access;
  readonly partner: PartnerRequirement;
  /**
   * Kaltura's `api_strict_error_map` for this action: any error not listed is replaced by
   * `replaceWith` (anti-enumeration on login, spec §9.5).
   */
  readonly strictErrors?: {
    readonly allowed: readonly string[];
    readonly replaceWith: KalturaErrorCode;
  };
  /**
   * Reads the parameters (MISSING_MANDATORY_PARAMETER, INVALID_ENUM_VALUE…) and returns
   * the action, to run once the caller is authorized — Kaltura's order.
   */
  prepare(params: Params, context: CallContext): () => unknown;
}

interface ActionSpec<A> extends Omit<ActionDefinition, 'prepare'> {
  parse(params: Params, context: CallContext): A;
  run(args: A, context: CallContext): unknown;
}

export function defineAction<A>(spec: ActionSpec<A>): ActionDefinition {
  const { parse, run, ...definition } = spec;
  return {
    ...definition,
    prepare(params, context) {
      const args = parse(params, context);
      return () => run(args, context);
    },
  };
}

/** Kaltura clamps every requested expiry to the partner's maximum (there is no floor). */
export function clampExpiry(requested: number, partner: PartnerRecord): number {
  return Math.min(requested, partner.maxKsExpirySeconds);
}

export const SESSION_TYPES: readonly number[] = [0, 2];
export const SESSION_TYPE_ENUM = 'KalturaSessionType';
export const DEFAULT_EXPIRY_SECONDS = 86_400;
