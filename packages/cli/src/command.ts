import { parseArgs } from 'node:util';
import { type AppTokenHashType, KsType, toAppTokenHashType } from '@kaltura-ks/core';
import { type CliIo, Settings, UsageError } from './io.js';

export type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };

/** Option name → [spec, help text]. */
export type Options = Record<string, [OptionSpec, string]>;

export interface Command {
  /** As typed after `kaltura-ks` (a subcommand's is its group's too: `app-token add`). */
  name: string;
  /** Other names that run it (`create` for `mint`). */
  aliases?: readonly string[];
  summary: string;
  /** What follows `kaltura-ks` on the usage line. */
  usage: string;
  options: Options;
  /** Lines printed after the options in `--help`. */
  notes?: string;
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}

/** A command whose first argument picks one of its subcommands (`app-token add`). */
export interface CommandGroup {
  name: string;
  summary: string;
  subcommands: readonly Command[];
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  settings: Settings;
  json: boolean;
}

const COMMON: Options = {
  json: [{ type: 'boolean' }, 'Print JSON for scripts'],
  // Not `--env-file`: Node reads that flag itself, even after the script name, and exits
  // when the file is missing (nodejs/node#54232).
  dotenv: [{ type: 'string' }, 'Read settings from this file (default: ./.env when present)'],
  help: [{ type: 'boolean', short: 'h' }, 'Show this help'],
};

export const PARTNER: Options = {
  'partner-id': [{ type: 'string', short: 'p' }, 'Partner id (or KALTURA_PARTNER_ID)'],
  secret: [
    { type: 'string', short: 's' },
    'Admin secret (or KALTURA_ADMIN_SECRET; prefer the variable or .env: flags end up in shell history)',
  ],
};

export function parseCommandArgs(command: Command, argv: string[], io: CliIo): ParsedArgs {
  const options = { ...COMMON, ...command.options };
  if (argv.some((arg) => arg === '--env-file' || arg.startsWith('--env-file=')))
    throw new UsageError(
      '--env-file is read by Node itself (nodejs/node#54232); name the settings file with --dotenv <file>',
    );
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
    settings: new Settings(io, values.dotenv as string | undefined),
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
  const aliases = command.aliases?.length
    ? `\nAlso: kaltura-ks ${command.aliases.join(', ')}\n`
    : '';
  const notes = command.notes === undefined ? '' : `\n${command.notes.trimEnd()}\n`;
  return `${command.summary}\n\nUsage: kaltura-ks ${command.usage}\n${aliases}\nOptions:\n${lines.join('\n')}\n${notes}`;
}

/** `kaltura-ks app-token --help`: the subcommands, each with its own `--help`. */
export function groupHelp(group: CommandGroup): string {
  const names = group.subcommands.map((c) => c.name.slice(group.name.length + 1));
  const width = Math.max(...names.map((n) => n.length));
  const lines = group.subcommands.map((c, i) => `  ${names[i]!.padEnd(width)}  ${c.summary}`);
  return `${group.summary}\n\nUsage: kaltura-ks ${group.name} <${names.join(' | ')}> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun \`kaltura-ks ${group.name} <command> --help\` for a command's options.\n`;
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

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000 } as const;

/** A duration such as `90s`, `15m` or `2h` (a bare number is seconds), in ms, at most `maxMs`. */
export function durationMs(
  value: string | undefined,
  name: string,
  maxMs: number,
): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d{1,7})([smh]?)$/.exec(value.trim());
  const ms = match ? Number(match[1]) * UNIT_MS[(match[2] || 's') as keyof typeof UNIT_MS] : NaN;
  if (!(ms > 0) || ms > maxMs)
    throw new UsageError(
      `${name} must be a duration such as 90s, 15m or 2h, at most ${maxMs / 3_600_000}h`,
    );
  return ms;
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

export const HASH_TYPE: Options = {
  'hash-type': [
    { type: 'string' },
    "The token's hash type: MD5, SHA1, SHA256 or SHA512 (or KALTURA_APP_TOKEN_HASH_TYPE; default SHA1)",
  ],
};

/**
 * The app token's hash type: `--hash-type`, else (for an existing token) the setting
 * KALTURA_APP_TOKEN_HASH_TYPE, else SHA1.
 */
export function hashType(args: ParsedArgs, { fromSettings = true } = {}): AppTokenHashType {
  const flag = str(args, 'hash-type');
  const value = fromSettings ? args.settings.get(flag, 'KALTURA_APP_TOKEN_HASH_TYPE') : flag;
  try {
    return toAppTokenHashType(value ?? 'SHA1');
  } catch {
    throw new UsageError(
      `${flag === undefined ? 'KALTURA_APP_TOKEN_HASH_TYPE' : '--hash-type'} must be MD5, SHA1, SHA256 or SHA512`,
    );
  }
}

export function ksType(value: string | undefined, name = '--type'): KsType | undefined {
  if (value === undefined) return undefined;
  const normalized = value.trim().toLowerCase();
  if (normalized === 'user' || normalized === '0') return KsType.USER;
  if (normalized === 'admin' || normalized === '2') return KsType.ADMIN;
  throw new UsageError(`${name} must be user (0) or admin (2), got ${unechoed(value)}`);
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
