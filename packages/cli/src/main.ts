#!/usr/bin/env node
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { KsError } from '@kaltura-ks/core';
import { appToken } from './app-token.js';
import { check } from './check.js';
import {
  type Command,
  type CommandGroup,
  commandHelp,
  groupHelp,
  parseCommandArgs,
} from './command.js';
import { emulator, type PassThrough } from './emulator.js';
import { type CliIo, CommandFailure, processIo, UsageError } from './io.js';
import { decode, mint, tokenHash, verify } from './local.js';
import { sessionStart, verifyRemote, widgetSession } from './session.js';

type Entry = Command | CommandGroup | PassThrough;

export const COMMANDS: readonly Entry[] = [
  mint,
  decode,
  verify,
  tokenHash,
  check,
  sessionStart,
  widgetSession,
  appToken,
  verifyRemote,
  emulator,
];

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

function label(entry: Entry): string {
  return 'aliases' in entry && entry.aliases?.length
    ? `${entry.name} (${entry.aliases.join(', ')})`
    : entry.name;
}

function overview(commands: readonly Entry[]): string {
  const width = Math.max(...commands.map((c) => label(c).length));
  return `kaltura-ks ${version} — Kaltura Sessions from the command line

Usage: kaltura-ks <command> [options]

Commands:
${commands.map((c) => `  ${label(c).padEnd(width)}  ${c.summary}`).join('\n')}

Settings come from flags, the environment or ./.env (--dotenv names another file):
KALTURA_PARTNER_ID, KALTURA_ADMIN_SECRET, KALTURA_USER_SECRET, KALTURA_SERVICE_URL,
KALTURA_APP_TOKEN_ID, KALTURA_APP_TOKEN, KALTURA_APP_TOKEN_HASH_TYPE. Secrets are never
printed, except a new app token's value, once, when it is created.
Run \`kaltura-ks <command> --help\` for a command's options.
`;
}

const isHelp = (arg: string | undefined) => arg === '--help' || arg === '-h' || arg === 'help';

/** Runs the CLI in-process and returns the exit code: 0 ok, 1 refused or failed, 2 usage. */
export async function main(
  argv: string[],
  io: CliIo = processIo(),
  commands: readonly Entry[] = COMMANDS,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || isHelp(name)) {
    io.stdout(overview(commands));
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    io.stdout(`${version}\n`);
    return 0;
  }
  const entry = commands.find(
    (c) => c.name === name || ('aliases' in c && c.aliases?.includes(name)),
  );
  if (entry === undefined) {
    io.stderr(`kaltura-ks: unknown command ${JSON.stringify(name)}. Run kaltura-ks --help.\n`);
    return 2;
  }
  if ('runArgv' in entry) return entry.runArgv(rest, io);
  if ('subcommands' in entry) return runGroup(entry, rest, io);
  return runCommand(entry, rest, io);
}

async function runGroup(group: CommandGroup, argv: string[], io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  if (isHelp(action)) {
    io.stdout(groupHelp(group));
    return 0;
  }
  const command = group.subcommands.find((c) => c.name === `${group.name} ${action}`);
  if (command !== undefined) return runCommand(command, rest, io);
  const names = group.subcommands.map((c) => c.name.slice(group.name.length + 1)).join(', ');
  io.stderr(
    `kaltura-ks ${group.name}: ${action === undefined ? 'needs a command' : `unknown command ${JSON.stringify(action)}`} (${names}).\nRun kaltura-ks ${group.name} --help.\n`,
  );
  return 2;
}

async function runCommand(command: Command, argv: string[], io: CliIo): Promise<number> {
  let args: ReturnType<typeof parseCommandArgs> | undefined;
  try {
    args = parseCommandArgs(command, argv, io);
    if (args.values.help === true) {
      io.stdout(commandHelp(command));
      return 0;
    }
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(
        `kaltura-ks ${command.name}: ${error.message}\nRun kaltura-ks ${command.name} --help.\n`,
      );
      return 2;
    }
    if (error instanceof KsError || error instanceof CommandFailure) {
      const described =
        error instanceof KsError ? error.toJSON() : { code: error.code, message: error.message };
      if (args?.json) io.stdout(`${JSON.stringify({ error: described }, null, 2)}\n`);
      else io.stderr(`kaltura-ks ${command.name}: ${error.code}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

/** Runs `main` with the process's arguments and sets the exit code. */
export function runFromProcess(): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(
        `kaltura-ks: unexpected failure: ${(error as Error)?.message ?? String(error)}\n`,
      );
      process.exitCode = 70;
    },
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  runFromProcess();
