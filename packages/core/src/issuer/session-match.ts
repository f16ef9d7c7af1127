/**
 * Does a session match the request it is about to answer? A session read from
 * the shared store (or from anywhere the issuer did not mint it itself) is
 * input: it is checked the way a KS from the network would be, before it is
 * served or cached.
 */
import type { Clock } from '../clock.js';
import type { KsVersion } from '../ks/types.js';
import { decodeKs, verifyKs } from '../ks/verify.js';
import { parsePrivileges } from '../privileges/privileges.js';
import type { KsSession } from './types.js';

/** What a request asked for: the partner, user and type, and the privileges as they were minted with. */
export interface AskedSession {
  partnerId: number;
  userId: string;
  type: number;
  /** The validated privileges string of the request (what `MintRequest.privileges` holds). */
  privileges: string;
}

/** Which part of a session does not match: one of the asked fields, or `ks` (a KS that contradicts its own fields). */
export type SessionMismatch = keyof AskedSession | 'ks';

/** Privileges as a KS of `version` grants them: name → values (names without meaning dropped). */
function grants(privileges: string, version: KsVersion): Map<string, string[]> {
  const map = parsePrivileges(privileges, { version });
  map.delete('');
  return map;
}

function sameValues(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((value, i) => value === b[i]);
}

/** Whether `granted` holds every privilege of `asked`, each with the same values. */
function grantsAll(granted: string, asked: string, version: KsVersion): boolean {
  const have = grants(granted, version);
  for (const [name, values] of grants(asked, version))
    if (!sameValues(have.get(name), values)) return false;
  return true;
}

/** Whether two privileges strings grant the same under `version`. */
function sameGrant(a: string, b: string, version: KsVersion): boolean {
  return grantsAll(a, b, version) && grantsAll(b, a, version);
}

/**
 * Which of the session's fields differ from what was asked: the partner, the
 * user and the type must be the ones asked, and every privilege asked must be
 * there with the values asked. More privileges may be there: those the way of
 * minting adds itself (an app token's `sessionid`, `apptoken` and its own
 * session privileges). `version` is the KS version the privileges are read
 * with. `undefined` when it matches.
 */
export function sessionMismatch(
  session: KsSession,
  asked: AskedSession,
  version: KsVersion,
): SessionMismatch | undefined {
  if (session.partnerId !== asked.partnerId) return 'partnerId';
  if (session.userId !== asked.userId) return 'userId';
  if (session.type !== asked.type) return 'type';
  if (!grantsAll(session.privileges, asked.privileges, version)) return 'privileges';
  return undefined;
}

/**
 * Checks that a session's KS says what the session's fields say, reading it
 * as a KS from the network: with the admin secret (when the issuer signs
 * locally) it must verify and carry those fields; without, a KS v1 is decoded
 * and compared field by field, and of a KS v2 only the partner (the rest is
 * encrypted) can be compared. Returns the KS's version when it holds,
 * `undefined` when it does not.
 */
export function readSessionKs(
  session: KsSession,
  options: { adminSecret?: string; now: Clock },
): KsVersion | undefined {
  let fields: { partnerId: number; userId?: string; type?: number; privileges?: string };
  let version: KsVersion;
  try {
    const decoded = decodeKs(session.ks);
    version = decoded.version;
    fields =
      options.adminSecret !== undefined
        ? verifyKs(session.ks, {
            secrets: options.adminSecret,
            partnerId: session.partnerId,
            now: options.now,
          })
        : decoded;
  } catch {
    return undefined;
  }
  if (fields.partnerId !== session.partnerId) return undefined;
  if (fields.userId !== undefined && fields.userId !== session.userId) return undefined;
  if (fields.type !== undefined && fields.type !== session.type) return undefined;
  if (fields.privileges !== undefined && !sameGrant(fields.privileges, session.privileges, version))
    return undefined;
  return version;
}

/** Whether a value read from elsewhere has a session's shape at all. */
function isSession(value: unknown): value is KsSession {
  if (typeof value !== 'object' || value === null) return false;
  const { ks, partnerId, userId, type, privileges } = value as Record<string, unknown>;
  return (
    typeof ks === 'string' &&
    typeof partnerId === 'number' &&
    typeof userId === 'string' &&
    typeof type === 'number' &&
    typeof privileges === 'string'
  );
}

/**
 * The check the issuer makes on a session it did not mint itself (one read
 * from the shared store): its KS must say what its fields say, and its fields
 * must match the request. Returns what does not match, or `undefined`.
 */
export function sharedSessionMismatch(
  session: KsSession,
  asked: AskedSession,
  options: { adminSecret?: string; now: Clock },
): SessionMismatch | undefined {
  if (!isSession(session)) return 'ks';
  const version = readSessionKs(session, options);
  if (version === undefined) return 'ks';
  return sessionMismatch(session, asked, version);
}
