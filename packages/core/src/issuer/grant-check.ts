import { KsError } from '../errors.js';
import { KsType } from '../ks/types.js';
import { isWidgetSession } from '../ks/widget.js';
import { buildPrivileges, type PrivilegeMap, parsePrivileges } from '../privileges/privileges.js';
import type { MintRequest } from './minter.js';
import type { KsSession } from './types.js';

/**
 * Privileges whose values restrict a KS: another IP, another URI, another limit or role
 * loosens it as surely as a missing one, so they must come back exactly as asked.
 */
const RESTRICTING = new Set([
  'iprestrict',
  'urirestrict',
  'actionslimit',
  'limitentry',
  'setrole',
  'restrictingrole',
  'privacycontext',
  'searchcontext',
  'virtualeventid',
]);

const TYPE_NAMES: Record<number, string> = { [KsType.USER]: 'USER', [KsType.ADMIN]: 'ADMIN' };

function typeName(type: number): string {
  return `${TYPE_NAMES[type] ?? 'unknown'} (${type})`;
}

function quoted(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/** v1 grammar (repeated names merged); `*` and v2's `all:*` are one privilege. */
function parse(privileges: string): PrivilegeMap {
  const map = privileges === '' ? new Map<string, string[]>() : parsePrivileges(privileges);
  if (map.has('*')) {
    map.delete('*');
    map.set('all', ['*']);
  }
  return map;
}

/** A privilege's name as a person wrote it (`*`, not v2's `all`). */
function shown(name: string): string {
  return name === 'all' ? '*' : name;
}

function isSession(value: KsSession): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof value.ks === 'string' &&
    value.ks !== '' &&
    typeof value.partnerId === 'number' &&
    typeof value.userId === 'string' &&
    typeof value.type === 'number' &&
    typeof value.privileges === 'string' &&
    Number.isFinite(value.expiresAt) &&
    Number.isFinite(value.issuedAt)
  );
}

function notGranted(message: string): KsError {
  return new KsError('ERR_KS_NOT_GRANTED', message);
}

/** What to change, in the words of the way the KS was minted. */
function onTheToken(kind: string, appToken: string, other: string): string {
  return kind === 'app-token' ? appToken : other;
}

/**
 * Checks the KS a minter returned against what was asked, before it is cached or handed
 * out: Kaltura may issue something else (an app token's `sessionUserId`, `sessionType` and
 * `sessionPrivileges` override or drop what the caller asks, spec §9.7). The KS must be for
 * this partner and this user, of the type asked or a lower one, not an anonymous widget
 * session, and carry every privilege asked — restricting ones (`iprestrict`, `actionslimit`…)
 * with exactly the values asked. Throws `ERR_KS_NOT_GRANTED` saying which field differs and
 * what to change; the message never holds the KS. Returns the privileges the KS carries
 * beyond the request (`''` when none), for the mint event.
 */
export function checkGrant(
  asked: MintRequest,
  issued: KsSession,
  partnerId: number,
  kind: string,
): string {
  if (!isSession(issued)) {
    throw new KsError(
      'ERR_KS_RESPONSE',
      'The minter returned no session { ks, partnerId, userId, type, privileges, expiresAt, issuedAt }',
    );
  }
  if (issued.partnerId !== partnerId) {
    throw notGranted(
      `Kaltura issued a KS for partner ${issued.partnerId} where partner ${partnerId} was asked`,
    );
  }
  if (issued.userId !== asked.userId) {
    throw notGranted(
      `Kaltura issued a KS for user ${quoted(issued.userId)} where ${quoted(asked.userId)} was asked: ${onTheToken(
        kind,
        'the app token sets sessionUserId; clear it (appToken.update with sessionUserId__null) so each request names its user',
        'the minter must mint for the user asked',
      )}`,
    );
  }
  if (issued.type !== KsType.USER && issued.type !== KsType.ADMIN) {
    throw notGranted(`Kaltura issued a KS of type ${issued.type}, which is neither USER nor ADMIN`);
  }
  if (issued.type > asked.type) {
    throw notGranted(
      `Kaltura issued an ${typeName(issued.type)} KS where ${typeName(asked.type)} was asked: ${onTheToken(
        kind,
        'the app token sets sessionType; unset it or make it 0 (USER)',
        'the minter must not raise the type',
      )}`,
    );
  }
  if (isWidgetSession(issued)) {
    throw notGranted(
      'Kaltura issued an anonymous widget session (user "" or "0" with widget:1), which it never checks for revocation',
    );
  }

  const want = parse(asked.privileges);
  const have = parse(issued.privileges);
  const missing: string[] = [];
  const changed: string[] = [];
  const all = have.get('all')?.includes('*') === true;
  for (const [name, values] of want) {
    const got = have.get(name);
    if (RESTRICTING.has(name)) {
      const same =
        got !== undefined &&
        got.length === values.length &&
        values.every((value) => got.includes(value));
      if (!same) (got === undefined ? missing : changed).push(name);
      continue;
    }
    if (got === undefined) {
      if (!all) missing.push(name);
    } else if (!values.every((value) => got.includes(value) || got.includes('*'))) {
      missing.push(name);
    }
  }
  if (missing.length > 0 || changed.length > 0) {
    const sentences: string[] = [];
    if (missing.length > 0) {
      const names = missing.map(shown);
      sentences.push(
        `Kaltura left out privileges that were asked: ${names.join(', ')}.`,
        onTheToken(
          kind,
          `Kaltura keeps a caller's server privilege only where the app token grants it with "*": add ${missing
            .map((name) => (name === 'all' ? '*' : `${name}:*`))
            .join(
              ',',
            )} to the token's sessionPrivileges (kaltura-ks app-token add --session-privileges), or stop asking for it.`,
          'The minter must issue every privilege asked.',
        ),
      );
    }
    if (changed.length > 0) {
      sentences.push(
        `Kaltura issued other values than asked for: ${changed.map(shown).join(', ')}.`,
        onTheToken(
          kind,
          `The app token sets them itself: remove them from its sessionPrivileges, or grant them with "*" so each request sets its own.`,
          'The minter must issue them as asked.',
        ),
      );
    }
    throw notGranted(sentences.join(' '));
  }

  const extra: PrivilegeMap = new Map();
  for (const [name, values] of have) {
    const asked = want.get(name);
    if (asked === undefined) extra.set(name, values);
    else {
      const more = values.filter((value) => !asked.includes(value));
      if (more.length > 0) extra.set(name, more);
    }
  }
  return buildPrivileges(extra);
}
