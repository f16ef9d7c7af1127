import {
  createKs,
  isKsError,
  KsType,
  type PrivilegeMap,
  parsePrivileges,
  type VerifiedKs,
  validatePrivilegesString,
  verifyKs,
} from '@kaltura-ks/core';
import { isWidgetSession } from '@kaltura-ks/core/internal';
import { type ApiException, apiError } from './errors.js';
import type { EmulatorState, PartnerRecord } from './state.js';

/**
 * What Kaltura puts in INVALID_KS's `KSID` argument when it cannot read a KS is the KS
 * itself (spec §8). The emulator never sends a KS back: it sends this instead.
 */
export const REDACTED_KS = '[redacted]';

/** A request's KS after every check of spec §4 passed. */
export interface Session {
  /** The KS exactly as the request sent it (the appToken hash is computed over these bytes). */
  readonly ks: string;
  readonly fields: VerifiedKs;
  readonly partner: PartnerRecord;
  /** Kaltura counts any type >= 1 as admin. */
  readonly isAdmin: boolean;
  readonly isWidget: boolean;
  readonly privileges: PrivilegeMap;
}

export interface RequestOrigin {
  /** The client's address, IPv4-mapped IPv6 already unwrapped. */
  ip: string;
  /** The request URI as sent (path and query), for `urirestrict`. */
  uri: string;
}

function invalidKs(status: string): ApiException {
  return apiError('INVALID_KS', status, '-1', 'INVALID_STR');
}

interface Verified {
  fields: VerifiedKs;
  privileges: PrivilegeMap;
  isWidget: boolean;
}

const MEMO_SIZE = 10_000;

/**
 * What the emulator remembers about sessions between requests: KSs whose signature
 * already checked out (a client reuses one KS for many calls, and decrypting it again
 * costs more than the rest of a request), and the uses left to `actionslimit` sessions.
 * Expiry and revocation are still checked on every request.
 */
export class SessionMemo {
  readonly #verified = new Map<string, Verified>();
  readonly #actionsLeft = new Map<string, { left: number; validUntil: number }>();

  verified(ks: string): Verified | undefined {
    return this.#verified.get(ks);
  }

  remember(ks: string, verified: Verified): void {
    if (this.#verified.size >= MEMO_SIZE) {
      // Maps iterate in insertion order: drop the oldest.
      const oldest = this.#verified.keys().next().value;
      if (oldest !== undefined) this.#verified.delete(oldest);
    }
    this.#verified.set(ks, verified);
  }

  /** Counts one use of an `actionslimit:<n>` KS; false once it has used up its actions. */
  useAction(fields: VerifiedKs, limit: number, nowSeconds: number): boolean {
    let entry = this.#actionsLeft.get(fields.hash);
    if (entry === undefined) {
      if (this.#actionsLeft.size >= MEMO_SIZE) {
        for (const [hash, e] of this.#actionsLeft)
          if (e.validUntil <= nowSeconds) this.#actionsLeft.delete(hash);
      }
      entry = { left: limit, validUntil: fields.validUntil };
      this.#actionsLeft.set(fields.hash, entry);
    }
    if (entry.left <= 0) return false;
    entry.left--;
    return true;
  }
}

/**
 * Validates a request's KS as Kaltura's `kCurrentContext::initKsPartnerUser` and
 * `ks::isValid` do (spec §4): signature or decryption with the partner's admin secrets,
 * expiry, revocation by hash and by `sessionid` group (not for widget sessions, which
 * Kaltura never checks), `iprestrict`, `urirestrict`, `actionslimit`. Any failure is
 * INVALID_KS; its KSID is the status name, or the redacted marker when the KS could not
 * be read at all.
 */
export function authenticate(
  state: EmulatorState,
  ks: string,
  origin: RequestOrigin,
  nowMs: number,
  memo: SessionMemo,
): Session {
  let verified = memo.verified(ks);
  if (verified === undefined) {
    let fields: VerifiedKs;
    try {
      fields = verifyKs(ks, {
        secrets: (partnerId) => state.secretsFor(partnerId),
        now: () => nowMs,
      });
    } catch (error) {
      throw invalidKs(isKsError(error, 'ERR_KS_EXPIRED') ? 'EXPIRED' : REDACTED_KS);
    }
    verified = {
      fields,
      privileges: parsePrivileges(fields.privileges),
      isWidget: isWidgetSession(fields),
    };
    memo.remember(ks, verified);
  } else if (Math.floor(nowMs / 1000) >= verified.fields.validUntil) {
    throw invalidKs('EXPIRED');
  }
  const { fields, privileges, isWidget } = verified;
  const partner = state.partners.get(fields.partnerId);
  if (partner === undefined) throw invalidKs(REDACTED_KS);

  const ips = privileges.get('iprestrict');
  if (ips !== undefined && !ips.includes(origin.ip)) throw invalidKs('EXCEEDED_RESTRICTED_IP');
  const uris = privileges.get('urirestrict');
  if (uris !== undefined && !uriAllowed(uris.join('/'), origin.uri))
    throw invalidKs('EXCEEDED_RESTRICTED_URI');

  if (!isWidget) {
    if (state.isKsRevoked(fields.hash)) throw invalidKs('LOGOUT');
    const sessionIds = privileges.get('sessionid');
    if (sessionIds?.some((id) => state.isSessionIdRevoked(fields.partnerId, id)))
      throw invalidKs('LOGOUT');
  }
  const actionsLimit = privileges.get('actionslimit')?.[0];
  if (
    actionsLimit !== undefined &&
    !memo.useAction(fields, Number(actionsLimit), Math.floor(nowMs / 1000))
  ) {
    throw invalidKs('EXCEEDED_ACTIONS_LIMIT');
  }
  return { ks, fields, partner, isAdmin: fields.type >= 1, isWidget, privileges };
}

function uriAllowed(patterns: string, uri: string): boolean {
  return patterns
    .split('|')
    .some((pattern) =>
      pattern.endsWith('*') ? uri.startsWith(pattern.slice(0, -1)) : uri === pattern,
    );
}

export interface IssueOptions {
  type: number;
  userId: string;
  privileges: string;
  /** Seconds from now; may be 0 or negative (an already expired KS, as Kaltura makes). */
  expiresInSeconds: number;
  /** The admin secret to sign with; default the partner's main one. */
  secret?: string;
  /** Parameter names to blame when a field is refused. */
  fieldNames?: { userId: string; privileges: string };
}

/**
 * Makes a KS for a partner with core's `createKs` (signed with an admin secret, in the
 * partner's KS version). Core refuses fields that could change the KS's meaning (`;` in a
 * user id, odd privilege names…) where Kaltura would sign them anyway: the emulator
 * answers INVALID_FIELD_VALUE naming the field instead.
 */
export function issueKs(
  partner: PartnerRecord,
  options: IssueOptions,
  nowMs: number,
): { ks: string; validUntil: number } {
  let validUntil = Math.max(1, Math.floor(nowMs / 1000) + options.expiresInSeconds);
  try {
    const ks = createKs({
      secret: options.secret ?? partner.adminSecret,
      partnerId: partner.id,
      userId: options.userId,
      type: options.type === KsType.ADMIN ? KsType.ADMIN : KsType.USER,
      privileges: options.privileges,
      validUntil,
      version: partner.ksVersion,
      now: () => nowMs,
    });
    // createKs rounds these up to five minutes, as Kaltura does (spec §3.3).
    if (options.privileges.includes('downloadasset'))
      validUntil = Math.ceil(validUntil / 300) * 300;
    return { ks, validUntil };
  } catch (error) {
    if (!isKsError(error, 'ERR_KS_INVALID_FIELD', 'ERR_KS_INVALID_OPTION')) throw error;
    const names = options.fieldNames ?? { userId: 'userId', privileges: 'privileges' };
    let field = names.userId;
    try {
      validatePrivilegesString(options.privileges, partner.ksVersion);
    } catch {
      field = names.privileges;
    }
    throw apiError('INVALID_FIELD_VALUE', field);
  }
}

/** Kaltura validates some privileges when a session starts (spec §5.3). */
export function checkStartPrivileges(privileges: string): void {
  const map = parsePrivileges(privileges);
  const limit = map.get('actionslimit');
  if (limit !== undefined && !(/^\d+$/.test(limit[0] ?? '') && Number(limit[0]) > 0)) {
    throw apiError('INVALID_ACTIONS_LIMIT');
  }
  for (const role of map.get('setrole') ?? []) {
    if (/^-\d+$/.test(role)) throw apiError('INVALID_SET_ROLE');
  }
}
