import { KsType } from '@kaltura-ks/core';
import { createKalturaClient, type KalturaClient } from '@kaltura-ks/core/client';
import { adminSecret, type Options, type ParsedArgs, partnerId, str } from './command.js';
import { describeExpiry, table, typeName } from './format.js';
import type { CliIo } from './io.js';

const DEFAULT_SERVICE_URL = 'https://www.kaltura.com/api_v3';

export const SERVICE: Options = {
  'service-url': [
    { type: 'string' },
    `Kaltura's API (or KALTURA_SERVICE_URL; default ${DEFAULT_SERVICE_URL})`,
  ],
};

export const SESSION: Options = {
  'user-id': [{ type: 'string', short: 'u' }, 'User id (default: anonymous)'],
  type: [{ type: 'string', short: 't' }, 'user (default) or admin'],
  'expires-in': [{ type: 'string', short: 'e' }, 'Lifetime in seconds'],
  privileges: [{ type: 'string' }, 'Privileges, e.g. "sview:*"'],
};

export function serviceUrl(args: ParsedArgs): string {
  return args.settings.get(str(args, 'service-url'), 'KALTURA_SERVICE_URL') ?? DEFAULT_SERVICE_URL;
}

/** A client for the command, closed when it is done. */
export async function withClient<T>(
  args: ParsedArgs,
  io: CliIo,
  run: (client: KalturaClient, partner: number) => Promise<T>,
): Promise<T> {
  const partner = partnerId(args, true)!;
  const client = createKalturaClient({
    serviceUrl: serviceUrl(args),
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
export async function adminKs(
  args: ParsedArgs,
  client: KalturaClient,
  partner: number,
): Promise<string> {
  return client.session.start({
    secret: adminSecret(args),
    partnerId: partner,
    type: KsType.ADMIN,
    expiresInSeconds: 300,
  });
}

export function sessionTable(
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
