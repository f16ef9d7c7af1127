/**
 * Does a session read from the shared store answer the request it was read
 * for? It is input, not trusted memory: it is checked the way a KS from the
 * network would be — its KS must say what its fields say — and then the way
 * the issuer checks what its own minter returns (`checkGrant`): a session
 * this issuer would not have accepted from Kaltura is not accepted from
 * another instance either.
 */
import type { Clock } from '../clock.js';
import { isKsError } from '../errors.js';
import type { KsVersion } from '../ks/types.js';
import { decodeKs, verifyKs } from '../ks/verify.js';
import { parsePrivileges } from '../privileges/privileges.js';
import { checkGrant } from './grant-check.js';
import type { MintRequest } from './minter.js';
import type { KsSession } from './types.js';

export interface SharedSessionCheck {
  partnerId: number;
  /** The issuer's way of minting (for `checkGrant`'s wording). */
  kind: string;
  /** With local signing: the admin secret, so the KS is verified, not only decoded. */
  adminSecret?: string;
  now: Clock;
}

/** Whether two privileges strings grant the same, read as a KS of `version` reads them. */
function sameGrant(a: string, b: string, version: KsVersion): boolean {
  const canonical = (privileges: string) => {
    const map = parsePrivileges(privileges, { version });
    map.delete('');
    return JSON.stringify([...map].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  };
  return canonical(a) === canonical(b);
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
 * Whether a session's KS says what the session's fields say, reading it as a
 * KS from the network: with the admin secret it must verify (and not be
 * expired) and carry those fields; without, a KS v1 is decoded and compared
 * field by field, and of a KS v2 only the partner (the rest is encrypted)
 * can be compared.
 */
export function ksMatchesFields(
  session: KsSession,
  options: { adminSecret?: string; now: Clock },
): boolean {
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
    return false;
  }
  return (
    fields.partnerId === session.partnerId &&
    (fields.userId === undefined || fields.userId === session.userId) &&
    (fields.type === undefined || fields.type === session.type) &&
    (fields.privileges === undefined || sameGrant(fields.privileges, session.privileges, version))
  );
}

/**
 * The check the issuer makes on a session it did not mint itself: its KS
 * says what its fields say, and `checkGrant` accepts it for `asked` (partner,
 * user, type, every privilege asked). Returns why not, or `undefined` when it
 * may answer the request. The reason never holds the KS.
 */
export function sharedSessionMismatch(
  session: KsSession,
  asked: Pick<MintRequest, 'userId' | 'type' | 'privileges'>,
  check: SharedSessionCheck,
): string | undefined {
  if (!isSession(session) || !ksMatchesFields(session, check))
    return 'its KS does not say what its fields say';
  try {
    checkGrant({ ...asked, expiresInSeconds: 0 }, session, check.partnerId, check.kind);
    return undefined;
  } catch (error) {
    if (isKsError(error)) return error.message;
    throw error;
  }
}
