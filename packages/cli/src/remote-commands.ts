import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KsType, toAppTokenHashType } from '@kaltura-ks/core';
import {
  createKalturaClient,
  type KalturaAppToken,
  type KalturaClient,
} from '@kaltura-ks/core/client';
import {
  adminSecret,
  type Command,
  integer,
  ksArgument,
  ksType,
  type OptionSpec,
  PARTNER,
  type ParsedArgs,
  partnerId,
  print,
  str,
} from './commands.js';
import { describeExpiry, table, typeName } from './format.js';
import { type CliIo, UsageError } from './io.js';

const DEFAULT_SERVICE_URL = 'https://www.kaltura.com/api_v3';

const SERVICE: Record<string, [OptionSpec, string]> = {
  'service-url': [
    { type: 'string' },
    `Kaltura's API (or KALTURA_SERVICE_URL; default ${DEFAULT_SERVICE_URL})`,
  ],
};

const SESSION: Record<string, [OptionSpec, string]> = {
  'user-id': [{ type: 'string', short: 'u' }, 'User id (default: anonymous)'],
  type: [{ type: 'string', short: 't' }, 'user (default) or admin'],
  'expires-in': [{ type: 'string', short: 'e' }, 'Lifetime in seconds'],
  privileges: [{ type: 'string' }, 'Privileges, e.g. "sview:*"'],
};

/** A client for the command, closed when it is done. */
async function withClient<T>(
  args: ParsedArgs,
  io: CliIo,
  run: (client: KalturaClient, partner: number) => Promise<T>,
): Promise<T> {
  const serviceUrl =
    args.settings.get(str(args, 'service-url'), 'KALTURA_SERVICE_URL') ?? DEFAULT_SERVICE_URL;
  const partner = partnerId(args, true)!;
  const client = createKalturaClient({
    serviceUrl,
    partnerId: partner,
    now: io.now,
    clientTag: 'kaltura-ks-cli',
  });
  try {
    return await run(client, partner);
  } finally {
    await client.close();
  }
}

/** An ADMIN KS for commands that manage the account, from the admin secret. */
async function adminKs(args: ParsedArgs, client: KalturaClient, partner: number): Promise<string> {
  return client.session.start({
    secret: adminSecret(args),
    partnerId: partner,
    type: KsType.ADMIN,
    expiresInSeconds: 300,
  });
}

function sessionTable(
  io: CliIo,
  fields: {
    partnerId: number;
    userId: string;
    sessionType: number;
    privileges: string;
    expiry: number;
  },
): string {
  return table([
    ['partner', fields.partnerId],
    ['user', fields.userId || '(anonymous)'],
    ['type', typeName(fields.sessionType)],
    ['privileges', fields.privileges || '(none)'],
    ['expires', describeExpiry(fields.expiry, io.now())],
  ]);
}

export const sessionStart: Command = {
  name: 'session-start',
  summary:
    'Start a session at Kaltura with session.start (the admin secret, or the user secret for a USER session).',
  usage: 'session-start [options]',
  options: {
    ...SERVICE,
    ...PARTNER,
    'user-secret': [
      { type: 'boolean' },
      'Use KALTURA_USER_SECRET (USER sessions only) instead of the admin secret',
    ],
    ...SESSION,
    quiet: [{ type: 'boolean', short: 'q' }, 'Print only the KS'],
  },
  async run(args, io) {
    const secret =
      args.values['user-secret'] === true
        ? args.settings.get(undefined, 'KALTURA_USER_SECRET')
        : adminSecret(args);
    if (secret === undefined)
      throw new UsageError('--user-secret needs KALTURA_USER_SECRET (environment or .env)');
    const type = ksType(str(args, 'type')) ?? KsType.USER;
    const ks = await withClient(args, io, (client, partner) =>
      client.session.start({
        secret,
        partnerId: partner,
        userId: str(args, 'user-id') ?? '',
        type,
        expiresInSeconds: integer(str(args, 'expires-in'), '--expires-in'),
        privileges: str(args, 'privileges'),
      }),
    );
    if (args.values.quiet === true && !args.json) io.stdout(`${ks}\n`);
    else print(io, args, { ks }, `${ks}\n`);
    return 0;
  },
};

export const widgetSession: Command = {
  name: 'widget-session',
  summary:
    'Start an anonymous widget session (session.startWidgetSession), the first step of the app-token flow.',
  usage: 'widget-session [options]',
  options: {
    ...SERVICE,
    'partner-id': PARTNER['partner-id']!,
    'widget-id': [{ type: 'string' }, 'Widget id (default _<partnerId>)'],
    'expires-in': [{ type: 'string', short: 'e' }, 'Lifetime in seconds'],
  },
  async run(args, io) {
    const answer = await withClient(args, io, (client) =>
      client.session.startWidgetSession({
        widgetId: str(args, 'widget-id'),
        expiresInSeconds: integer(str(args, 'expires-in'), '--expires-in'),
      }),
    );
    print(io, args, answer, `${answer.ks}\n`);
    return 0;
  },
};

function tokenRow(token: KalturaAppToken): Record<string, unknown> {
  // The token value is a credential: never listed, only shown once at creation.
  const { token: _value, ...rest } = token;
  return rest;
}

const STATUS = ['', 'disabled', 'active', 'deleted'];

export const appToken: Command = {
  name: 'app-token',
  summary:
    'Manage app tokens: add, list, delete, and start-session (the way integrations mint without the admin secret).',
  usage: 'app-token <add | list | delete <id> | start-session> [options]',
  options: {
    ...SERVICE,
    ...PARTNER,
    'hash-type': [{ type: 'string' }, 'MD5, SHA1 (default), SHA256 or SHA512'],
    'session-user-id': [{ type: 'string' }, 'add: sessions are always for this user'],
    'session-type': [{ type: 'string' }, 'add: sessions are always of this type (user or admin)'],
    'session-privileges': [{ type: 'string' }, 'add: privileges every session gets'],
    'session-duration': [{ type: 'string' }, 'add: session lifetime in seconds'],
    expiry: [{ type: 'string' }, 'add: unix time after which the token stops working'],
    description: [{ type: 'string' }, 'add: a description'],
    'app-token-id': [{ type: 'string' }, 'start-session: the token id (or KALTURA_APP_TOKEN_ID)'],
    token: [{ type: 'string' }, 'start-session: the token value (or KALTURA_APP_TOKEN)'],
    ...SESSION,
  },
  async run(args, io) {
    const [action, ...rest] = args.positionals;
    switch (action) {
      case 'add': {
        const created = await withClient(args, io, async (client, partner) =>
          client.appToken.add(
            {
              hashType: toAppTokenHashType(str(args, 'hash-type') ?? 'SHA1'),
              sessionUserId: str(args, 'session-user-id'),
              sessionType: ksType(str(args, 'session-type')),
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
          `App token ${created.id} created (${created.hashType}).\n\n  KALTURA_APP_TOKEN_ID=${created.id}\n  KALTURA_APP_TOKEN=${created.token}\n\nStore the token value now, like a password: it is not shown again.\n`,
        );
        return 0;
      }
      case 'list': {
        const list = await withClient(args, io, async (client, partner) =>
          client.appToken.list({}, {}, { ks: await adminKs(args, client, partner) }),
        );
        const rows = list.objects.map(tokenRow);
        print(
          io,
          args,
          { objects: rows, totalCount: list.totalCount },
          list.objects.length === 0
            ? 'No app tokens.\n'
            : `${list.objects
                .map((t) =>
                  `${t.id}  ${STATUS[t.status] ?? t.status}  ${t.hashType}  ${t.sessionUserId ?? '*'}  ${t.sessionPrivileges ?? ''}`.trimEnd(),
                )
                .join('\n')}\n`,
        );
        return 0;
      }
      case 'delete': {
        const id = rest[0];
        if (id === undefined) throw new UsageError('app-token delete needs the token id');
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
      }
      case 'start-session': {
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
            hashType: toAppTokenHashType(str(args, 'hash-type') ?? 'SHA1'),
            userId: str(args, 'user-id'),
            type: ksType(str(args, 'type')),
            expiresInSeconds: integer(str(args, 'expires-in'), '--expires-in'),
            privileges: str(args, 'privileges'),
          }),
        );
        print(io, args, info, `${info.ks}\n\n${sessionTable(io, info)}`);
        return 0;
      }
      default:
        throw new UsageError('app-token needs an action: add, list, delete <id> or start-session');
    }
  },
};

export const verifyRemote: Command = {
  name: 'verify-remote',
  summary: 'Ask Kaltura what a KS says (session.get, with an admin session from the admin secret).',
  usage: 'verify-remote <ks | -> [options]',
  options: { ...SERVICE, ...PARTNER },
  async run(args, io) {
    const ks = await ksArgument(args, io);
    const fields = await withClient(args, io, async (client, partner) =>
      client.session.get({ session: ks }, { ks: await adminKs(args, client, partner) }),
    );
    print(io, args, fields, `Kaltura reads this KS as:\n\n${sessionTable(io, fields)}`);
    return 0;
  },
};

export const emulator: Command = {
  name: 'emulator',
  summary:
    'Start a Kaltura-compatible API server on this machine (needs @kaltura-ks/emulator installed).',
  usage: 'emulator [emulator options; --help lists them]',
  options: {},
  async run() {
    throw new UsageError('unreachable');
  },
};

/** `kaltura-ks emulator …` hands its arguments to the emulator's own CLI, resolved from the working directory. */
export async function runEmulator(argv: string[], io: CliIo): Promise<number> {
  const require = createRequire(pathToFileURL(join(io.cwd, 'package.json')));
  let entry: string;
  try {
    entry = require.resolve('@kaltura-ks/emulator');
  } catch {
    io.stderr(
      'kaltura-ks emulator: @kaltura-ks/emulator is not installed here (npm install -D @kaltura-ks/emulator).\n',
    );
    return 2;
  }
  const module = (await import(pathToFileURL(entry).href)) as {
    main: (argv: string[]) => Promise<number>;
  };
  return module.main(argv);
}
