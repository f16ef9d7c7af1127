import { parseArgs } from 'node:util';
import {
  appTokenHash,
  createKs,
  decodeKs,
  KsType,
  type KsVersion,
  toAppTokenHashType,
  verifyKs,
} from '@kaltura-ks/core';
import { describeExpiry, table, typeName } from './format.js';
import { type CliIo, Settings, UsageError } from './io.js';

export type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Option name → [spec, help text]. */
  options: Record<string, [OptionSpec, string]>;
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  settings: Settings;
  json: boolean;
}

const COMMON: Record<string, [OptionSpec, string]> = {
  json: [{ type: 'boolean' }, 'Print JSON for scripts'],
  'env-file': [{ type: 'string' }, 'Read settings from this file (default: ./.env when present)'],
  help: [{ type: 'boolean', short: 'h' }, 'Show this help'],
};

export const PARTNER: Record<string, [OptionSpec, string]> = {
  'partner-id': [{ type: 'string', short: 'p' }, 'Partner id (or KALTURA_PARTNER_ID)'],
  secret: [
    { type: 'string', short: 's' },
    'Admin secret (or KALTURA_ADMIN_SECRET; prefer the variable or .env: flags end up in shell history)',
  ],
};

export function parseCommandArgs(command: Command, argv: string[], io: CliIo): ParsedArgs {
  const options = { ...COMMON, ...command.options };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.entries(options).map(([name, [spec]]) => [name, spec])),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const values = parsed.values as ParsedArgs['values'];
  return {
    values,
    positionals: parsed.positionals,
    settings: new Settings(io, values['env-file'] as string | undefined),
    json: values.json === true,
  };
}

export function str(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function commandHelp(command: Command): string {
  const options = { ...command.options, ...COMMON };
  const width = Math.max(...Object.keys(options).map((name) => name.length + 4));
  const lines = Object.entries(options).map(([name, [spec, help]]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'string' ? ' <value>' : ''}`;
    return `  ${flag.padEnd(width + 14)} ${help}`;
  });
  return `${command.summary}\n\nUsage: kaltura-ks ${command.usage}\n\nOptions:\n${lines.join('\n')}\n`;
}

/**
 * How an invalid setting is described without echoing it: a value read from the
 * environment or a `.env` file may be a secret pasted onto the wrong line.
 */
export function unechoed(value: string): string {
  return value.trim() === '' ? 'an empty value' : `a ${value.length}-character value`;
}

export function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim()))
    throw new UsageError(`${name} must be an integer, got ${unechoed(value)}`);
  return Number(value.trim());
}

export function partnerId(args: ParsedArgs, required: boolean): number | undefined {
  const id = integer(
    args.settings.get(str(args, 'partner-id'), 'KALTURA_PARTNER_ID'),
    '--partner-id',
  );
  if (id === undefined && required) {
    throw new UsageError('A partner id is needed: --partner-id, KALTURA_PARTNER_ID or a .env file');
  }
  return id;
}

export function adminSecret(args: ParsedArgs): string {
  const secret = args.settings.get(str(args, 'secret'), 'KALTURA_ADMIN_SECRET');
  if (secret === undefined) {
    throw new UsageError(
      'An admin secret is needed: KALTURA_ADMIN_SECRET, a .env file or --secret',
    );
  }
  return secret;
}

export function ksType(value: string | undefined): KsType | undefined {
  if (value === undefined) return undefined;
  const normalized = value.trim().toLowerCase();
  if (normalized === 'user' || normalized === '0') return KsType.USER;
  if (normalized === 'admin' || normalized === '2') return KsType.ADMIN;
  throw new UsageError(`--type must be user (0) or admin (2), got ${unechoed(value)}`);
}

function ksVersion(value: string | undefined): KsVersion | undefined {
  if (value === undefined) return undefined;
  if (value === '1' || value === '2') return Number(value) as KsVersion;
  throw new UsageError(`--ks-version must be 1 or 2, got ${unechoed(value)}`);
}

/** The KS argument: a positional, or `-` to read it from standard input. */
export async function ksArgument(args: ParsedArgs, io: CliIo): Promise<string> {
  const [ks, ...rest] = args.positionals;
  if (ks === undefined)
    throw new UsageError('Give the KS as an argument, or - to read it from standard input');
  if (rest.length > 0) throw new UsageError('Give one KS at a time');
  return ks === '-' ? (await io.readStdin()).trim() : ks;
}

export function print(io: CliIo, args: ParsedArgs, json: unknown, human: string): void {
  io.stdout(args.json ? `${JSON.stringify(json, null, 2)}\n` : human);
}

export const mint: Command = {
  name: 'mint',
  summary: 'Create a KS locally, signed with the partner admin secret (no network).',
  usage: 'mint [options]',
  options: {
    ...PARTNER,
    'user-id': [{ type: 'string', short: 'u' }, 'User id (default: anonymous)'],
    type: [{ type: 'string', short: 't' }, 'user (default) or admin'],
    'expires-in': [{ type: 'string', short: 'e' }, 'Lifetime in seconds (default 86400)'],
    'valid-until': [{ type: 'string' }, 'Absolute expiry, unix seconds (wins over --expires-in)'],
    privileges: [{ type: 'string' }, 'Privileges, e.g. "sview:*,appid:app-example.com"'],
    'ks-version': [{ type: 'string' }, 'KS format: 2 (default, encrypted) or 1'],
    'master-partner-id': [{ type: 'string' }, 'Impersonating partner id'],
    'additional-data': [{ type: 'string' }, 'Additional data field'],
    quiet: [{ type: 'boolean', short: 'q' }, 'Print only the KS'],
  },
  async run(args, io) {
    const fields = {
      partnerId: partnerId(args, true)!,
      userId: str(args, 'user-id') ?? '',
      type: ksType(str(args, 'type')) ?? KsType.USER,
      privileges: str(args, 'privileges') ?? '',
      version: ksVersion(str(args, 'ks-version')) ?? 2,
    };
    const ks = createKs({
      ...fields,
      secret: adminSecret(args),
      expiresInSeconds: integer(str(args, 'expires-in'), '--expires-in'),
      validUntil: integer(str(args, 'valid-until'), '--valid-until'),
      masterPartnerId: integer(str(args, 'master-partner-id'), '--master-partner-id'),
      additionalData: str(args, 'additional-data'),
      now: io.now,
    });
    // Read the KS back rather than repeating the inputs: it shows what was signed
    // (downloadasset, for one, rounds the expiry).
    const { validUntil } = verifyKs(ks, {
      secrets: adminSecret(args),
      partnerId: fields.partnerId,
      now: io.now,
    });
    if (args.values.quiet === true && !args.json) {
      io.stdout(`${ks}\n`);
      return 0;
    }
    print(
      io,
      args,
      { ks, ...fields, validUntil },
      `${ks}\n\n${table([
        ['partner', fields.partnerId],
        ['user', fields.userId || '(anonymous)'],
        ['type', typeName(fields.type)],
        ['privileges', fields.privileges || '(none)'],
        ['expires', describeExpiry(validUntil, io.now())],
        ['version', fields.version],
      ])}`,
    );
    return 0;
  },
};

export const decode: Command = {
  name: 'decode',
  summary:
    'Show what a KS says without its secret: every field of a v1 KS (unverified), the partner of a v2 KS.',
  usage: 'decode <ks | ->',
  options: {},
  async run(args, io) {
    const decoded = decodeKs(await ksArgument(args, io));
    if (decoded.version === 2) {
      print(
        io,
        args,
        decoded,
        `KS v2 for partner ${decoded.partnerId}. Its fields are encrypted: \`kaltura-ks verify\` with the admin secret shows them.\n`,
      );
      return 0;
    }
    print(
      io,
      args,
      decoded,
      `KS v1, UNVERIFIED (anyone can write these fields; \`kaltura-ks verify\` checks the signature)\n\n${table(
        [
          ['partner', decoded.partnerId],
          ['user', decoded.userId || '(anonymous)'],
          ['type', typeName(decoded.type)],
          ['privileges', decoded.privileges || '(none)'],
          ['expires', describeExpiry(decoded.validUntil, io.now())],
          ['master partner', decoded.masterPartnerId],
          ['additional data', decoded.additionalData],
        ],
      )}`,
    );
    return 0;
  },
};

export const verify: Command = {
  name: 'verify',
  summary:
    "Check a KS against the partner's admin secret(s), as Kaltura does: signature or encryption, partner, expiry.",
  usage: 'verify <ks | -> [options]',
  options: {
    ...PARTNER,
    'also-secret': [{ type: 'string', multiple: true }, 'Another admin secret to try (repeatable)'],
  },
  async run(args, io) {
    const ks = await ksArgument(args, io);
    const extra = (args.values['also-secret'] as string[] | undefined) ?? [];
    const fields = verifyKs(ks, {
      secrets: [adminSecret(args), ...extra],
      partnerId: partnerId(args, false),
      now: io.now,
    });
    print(
      io,
      args,
      { verified: true, ...fields },
      `KS v${fields.version}, verified\n\n${table([
        ['partner', fields.partnerId],
        ['user', fields.userId || '(anonymous)'],
        ['type', typeName(fields.type)],
        ['privileges', fields.privileges || '(none)'],
        ['expires', describeExpiry(fields.validUntil, io.now())],
        ['master partner', fields.masterPartnerId],
        ['additional data', fields.additionalData],
        ['session hash', fields.hash],
      ])}`,
    );
    return 0;
  },
};

export const tokenHash: Command = {
  name: 'token-hash',
  summary:
    "Compute appToken.startSession's tokenHash: lower-case hex of H(widget KS + app token value).",
  usage: 'token-hash <widget-ks | -> [options]',
  options: {
    token: [{ type: 'string' }, 'The app token value (or KALTURA_APP_TOKEN)'],
    'hash-type': [{ type: 'string' }, 'MD5, SHA1 (default), SHA256 or SHA512'],
  },
  async run(args, io) {
    const widgetKs = await ksArgument(args, io);
    const token = args.settings.get(str(args, 'token'), 'KALTURA_APP_TOKEN');
    if (token === undefined)
      throw new UsageError(
        'The app token value is needed: KALTURA_APP_TOKEN, a .env file or --token',
      );
    const hashType = toAppTokenHashType(str(args, 'hash-type') ?? 'SHA1');
    const hash = appTokenHash(widgetKs, token, hashType);
    print(io, args, { hashType, tokenHash: hash }, `${hash}\n`);
    return 0;
  },
};
