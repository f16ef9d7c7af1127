import { KsType } from '@kaltura-ks/core';
import { adminKs, SERVICE, SESSION, sessionTable, withClient } from './client.js';
import {
  adminSecret,
  type Command,
  integer,
  ksArgument,
  ksType,
  PARTNER,
  print,
  str,
} from './command.js';
import { UsageError } from './io.js';

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
