import { KsType, toAppTokenHashType } from '@kaltura-ks/core';
import {
  type KalturaAppToken,
  type KalturaAppTokenInput,
  KalturaAppTokenStatus,
  type KalturaClient,
} from '@kaltura-ks/core/client';
import { adminKs, SERVICE, SESSION, sessionTable, withClient } from './client.js';
import {
  type Command,
  type CommandGroup,
  durationMs,
  HASH_TYPE,
  hashType,
  integer,
  ksType,
  type Options,
  PARTNER,
  type ParsedArgs,
  print,
  str,
} from './command.js';
import { columns, formatDuration, table, typeName } from './format.js';
import { type CliIo, CommandFailure, UsageError } from './io.js';

const STATUS = ['', 'disabled', 'active', 'deleted'];

/** The longest `--delete-after`: past a day, run `app-token delete` when the time comes. */
const MAX_GRACE_MS = 24 * 3_600_000;

function tokenRow(token: KalturaAppToken): Record<string, unknown> {
  // The token value is a credential: never listed, only shown once at creation.
  const { token: _value, ...rest } = token;
  return rest;
}

function unixDate(seconds: number | undefined): string {
  return seconds === undefined ? 'never' : new Date(seconds * 1000).toISOString();
}

/** The `.env` lines of a new token: the only time its value is shown. */
function envLines(token: KalturaAppToken): string {
  return `  KALTURA_APP_TOKEN_ID=${token.id}\n  KALTURA_APP_TOKEN=${token.token}\n  KALTURA_APP_TOKEN_HASH_TYPE=${token.hashType}\n`;
}

const STORE_NOW = 'Store the token value now, like a password: it is not shown again.\n';

/** What a token does to the sessions it starts, as `add` takes it and `rotate` copies it. */
function tokenSettings(
  token: Omit<KalturaAppTokenInput, 'sessionType' | 'hashType'> & {
    sessionType?: number;
    hashType?: string;
  },
): string {
  return table([
    ['hash type', token.hashType ?? 'SHA1'],
    ['session user', token.sessionUserId ?? "(the caller's)"],
    [
      'session type',
      token.sessionType === undefined ? "(the caller's)" : typeName(token.sessionType),
    ],
    ['session privileges', token.sessionPrivileges || '(none)'],
    [
      'session duration',
      token.sessionDuration === undefined ? undefined : formatDuration(token.sessionDuration),
    ],
    ['expiry', unixDate(token.expiry)],
    ['description', token.description],
  ]);
}

const ADMIN: Options = { ...SERVICE, ...PARTNER };

const add: Command = {
  name: 'app-token add',
  summary: 'Create an app token (with the admin secret) and print its .env lines, once.',
  usage: 'app-token add [options]',
  options: {
    ...ADMIN,
    'hash-type': [{ type: 'string' }, 'MD5, SHA1 (default), SHA256 or SHA512'],
    'session-privileges': [
      { type: 'string' },
      'Privileges every session gets, e.g. "sview:*" (see below)',
    ],
    'session-user-id': [{ type: 'string' }, 'Sessions are always for this user'],
    'session-type': [{ type: 'string' }, 'Sessions are always of this type (user or admin)'],
    'session-duration': [{ type: 'string' }, 'Session lifetime in seconds'],
    expiry: [{ type: 'string' }, 'Unix time after which the token stops working'],
    description: [{ type: 'string' }, 'A description'],
  },
  notes: `Kaltura grants a caller's privileges that it defines itself (sview, edit, list, …) only
where the token lists them with *: for KSs with sview of an entry, add the token with
--session-privileges "sview:*". A --session-user-id makes every session that user's, whoever
asks: leave it out for a server that mints per user.`,
  async run(args, io) {
    const created = await withClient(args, io, async (client, partner) =>
      client.appToken.add(
        {
          hashType: hashType(args, { fromSettings: false }),
          sessionUserId: str(args, 'session-user-id'),
          sessionType: ksType(str(args, 'session-type'), '--session-type'),
          sessionPrivileges: str(args, 'session-privileges'),
          sessionDuration: integer(str(args, 'session-duration'), '--session-duration'),
          expiry: integer(str(args, 'expiry'), '--expiry'),
          description: str(args, 'description'),
        },
        { ks: await adminKs(args, client, partner) },
      ),
    );
    print(
      io,
      args,
      created,
      `App token ${created.id} created.\n\n${envLines(created)}\n${tokenSettings(created)}\n${STORE_NOW}`,
    );
    return 0;
  },
};

const list: Command = {
  name: 'app-token list',
  summary: "List the partner's app tokens (never their values).",
  usage: 'app-token list [options]',
  options: ADMIN,
  async run(args, io) {
    const answer = await withClient(args, io, async (client, partner) =>
      client.appToken.list({}, {}, { ks: await adminKs(args, client, partner) }),
    );
    const rows = answer.objects.map((t) => [
      t.id,
      STATUS[t.status] ?? String(t.status),
      t.hashType,
      t.sessionUserId ?? '(caller)',
      t.sessionType === undefined ? '(caller)' : t.sessionType === KsType.USER ? 'user' : 'admin',
      t.sessionPrivileges || '-',
      t.expiry === undefined ? 'never' : unixDate(t.expiry).slice(0, 10),
      t.description ?? '',
    ]);
    print(
      io,
      args,
      { objects: answer.objects.map(tokenRow), totalCount: answer.totalCount },
      rows.length === 0
        ? 'No app tokens.\n'
        : columns(
            ['ID', 'STATUS', 'HASH', 'USER', 'TYPE', 'PRIVILEGES', 'EXPIRY', 'DESCRIPTION'],
            rows,
          ),
    );
    return 0;
  },
};

function tokenId(args: ParsedArgs, action: string): string {
  const [id, ...rest] = args.positionals;
  if (rest.length > 0) throw new UsageError(`app-token ${action} takes one token id`);
  const chosen = id ?? args.settings.get(undefined, 'KALTURA_APP_TOKEN_ID');
  if (chosen === undefined)
    throw new UsageError(`app-token ${action} needs the token id (or KALTURA_APP_TOKEN_ID)`);
  return chosen;
}

const remove: Command = {
  name: 'app-token delete',
  summary: 'Delete an app token: Kaltura revokes every session it started.',
  usage: 'app-token delete <id> [options]',
  options: ADMIN,
  async run(args, io) {
    const [id, ...rest] = args.positionals;
    if (id === undefined || rest.length > 0)
      throw new UsageError('app-token delete needs the token id');
    await withClient(args, io, async (client, partner) =>
      client.appToken.delete(id, { ks: await adminKs(args, client, partner) }),
    );
    print(
      io,
      args,
      { deleted: id },
      `App token ${id} deleted; every session it started is revoked.\n`,
    );
    return 0;
  },
};

const startSession: Command = {
  name: 'app-token start-session',
  summary: 'Start a session with an app token: widget session, token hash, appToken.startSession.',
  usage: 'app-token start-session [options]',
  options: {
    ...SERVICE,
    'partner-id': PARTNER['partner-id']!,
    'app-token-id': [{ type: 'string' }, 'The token id (or KALTURA_APP_TOKEN_ID)'],
    token: [{ type: 'string' }, 'The token value (or KALTURA_APP_TOKEN)'],
    ...HASH_TYPE,
    ...SESSION,
  },
  async run(args, io) {
    const id = args.settings.get(str(args, 'app-token-id'), 'KALTURA_APP_TOKEN_ID');
    const token = args.settings.get(str(args, 'token'), 'KALTURA_APP_TOKEN');
    if (id === undefined || token === undefined) {
      throw new UsageError(
        'start-session needs the token id and value: KALTURA_APP_TOKEN_ID, KALTURA_APP_TOKEN (or flags)',
      );
    }
    const info = await withClient(args, io, (client) =>
      client.startAppTokenSession({
        appTokenId: id,
        appTokenValue: token,
        hashType: hashType(args),
        userId: str(args, 'user-id'),
        type: ksType(str(args, 'type')),
        expiresInSeconds: integer(str(args, 'expires-in'), '--expires-in'),
        privileges: str(args, 'privileges'),
      }),
    );
    print(io, args, info, `${info.ks}\n\n${sessionTable(io, info)}`);
    return 0;
  },
};

/** The settings of `old` that a replacement must have, checked as Kaltura answered them. */
function replacementOf(old: KalturaAppToken, expiry: number | undefined): KalturaAppTokenInput {
  const { sessionType } = old;
  if (sessionType !== undefined && sessionType !== KsType.USER && sessionType !== KsType.ADMIN)
    throw new CommandFailure(
      'SETTINGS_NOT_KEPT',
      `app token ${old.id} has session type ${sessionType}, which a new token cannot be given`,
    );
  return {
    hashType: toAppTokenHashType(old.hashType),
    sessionType,
    sessionUserId: old.sessionUserId,
    sessionPrivileges: old.sessionPrivileges,
    sessionDuration: old.sessionDuration,
    expiry,
    description: old.description,
  };
}

/** Settings Kaltura did not keep on the new token (names of the fields that differ). */
function differences(asked: KalturaAppTokenInput, got: KalturaAppToken): string[] {
  const fields = [
    'hashType',
    'sessionType',
    'sessionUserId',
    'sessionPrivileges',
    'sessionDuration',
    'expiry',
  ] as const;
  return fields.filter((name) => asked[name] !== undefined && asked[name] !== got[name]);
}

const rotate: Command = {
  name: 'app-token rotate',
  summary:
    'Replace an app token with a new one of the same settings; the old one goes only when you say so.',
  usage: 'app-token rotate [<id>] [options]',
  options: {
    ...ADMIN,
    'delete-after': [
      { type: 'string' },
      'Wait this long (90s, 15m, 2h; at most 24h), then delete the old token',
    ],
    expiry: [
      { type: 'string' },
      "Unix time after which the new token stops working (default: the old token's)",
    ],
    'dry-run': [{ type: 'boolean' }, 'Show what would be done, and do nothing'],
  },
  notes: `The token is <id>, else KALTURA_APP_TOKEN_ID. The new token copies the old one's hash type,
session user, type, privileges, duration, expiry and description; its .env lines are printed
once. The old token keeps working until \`kaltura-ks app-token delete <id>\`, or until the
--delete-after wait ends (Ctrl+C during the wait keeps it). Deleting it revokes every session
it started: switch every server to the new lines first.`,
  async run(args, io) {
    const id = tokenId(args, 'rotate');
    const graceMs = durationMs(str(args, 'delete-after'), '--delete-after', MAX_GRACE_MS);
    const expiryOverride = integer(str(args, 'expiry'), '--expiry');
    const dryRun = args.values['dry-run'] === true;
    return withClient(args, io, async (client, partner) => {
      const ks = await adminKs(args, client, partner);
      const old = await client.appToken.get(id, { ks });
      if (old.status !== KalturaAppTokenStatus.ACTIVE)
        throw new CommandFailure(
          'APP_TOKEN_NOT_ACTIVE',
          `app token ${id} is ${STATUS[old.status] ?? `in status ${old.status}`}: nothing to rotate (app-token add makes a new one)`,
        );
      const expiry = expiryOverride ?? old.expiry;
      if (expiry !== undefined && expiry * 1000 <= io.now())
        throw new CommandFailure(
          'APP_TOKEN_EXPIRED',
          `${expiryOverride === undefined ? `app token ${id} expired` : '--expiry is'} at ${unixDate(expiry)}: give the new token a later --expiry`,
        );
      const settings = replacementOf(old, expiry);
      const deleteAt =
        graceMs === undefined ? undefined : new Date(io.now() + graceMs).toISOString();
      const deleteCommand = `kaltura-ks app-token delete ${id}`;
      if (dryRun) {
        print(
          io,
          args,
          { dryRun: true, rotate: id, settings, deleteOld: deleteAt ?? null },
          `Dry run: nothing changed.\n\nWould create an app token with:\n${tokenSettings(settings)}\n${
            graceMs === undefined
              ? `and keep ${id} until \`${deleteCommand}\`.\n`
              : `and delete ${id} after ${formatDuration(graceMs / 1000)}.\n`
          }`,
        );
        return 0;
      }
      const created = await client.appToken.add(settings, { ks });
      const differ = differences(settings, created);
      print(
        io,
        args,
        { rotated: id, created, deleteOld: deleteAt ?? null, differ },
        `App token ${created.id} replaces ${id}.\n\n${envLines(created)}\n${STORE_NOW}\n${
          graceMs === undefined
            ? `${id} still works. Once every server runs with the lines above:\n  ${deleteCommand}\n`
            : `${id} will be deleted in ${formatDuration(graceMs / 1000)} (${deleteAt}); Ctrl+C keeps it.\n`
        }`,
      );
      if (differ.length > 0)
        throw new CommandFailure(
          'SETTINGS_NOT_KEPT',
          `Kaltura did not keep ${differ.join(', ')} of ${id} on ${created.id}: compare them with app-token list before deleting ${id}`,
        );
      if (graceMs === undefined) return 0;
      return deleteAfter(args, io, graceMs, id, client, partner);
    });
  },
};

/** The second half of a rotation with `--delete-after`: wait, then delete the old token. */
async function deleteAfter(
  args: ParsedArgs,
  io: CliIo,
  graceMs: number,
  id: string,
  client: KalturaClient,
  partner: number,
): Promise<number> {
  if (!(await io.sleep(graceMs))) {
    print(
      io,
      args,
      { kept: id },
      `Interrupted: ${id} is kept. Delete it with kaltura-ks app-token delete ${id}\n`,
    );
    return 130;
  }
  // A fresh admin session: the first one may have expired during the wait.
  await client.appToken.delete(id, { ks: await adminKs(args, client, partner) });
  print(io, args, { deleted: id }, `${id} deleted; every session it started is revoked.\n`);
  return 0;
}

export const appToken: CommandGroup = {
  name: 'app-token',
  summary:
    'Manage app tokens, the way integrations mint without the admin secret: add, list, rotate, delete, start-session.',
  subcommands: [add, list, rotate, remove, startSession],
};
