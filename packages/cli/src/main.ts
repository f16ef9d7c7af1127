#!/usr/bin/env node
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { KsError } from '@kaltura-ks/core';
import {
  type Command,
  commandHelp,
  decode,
  mint,
  parseCommandArgs,
  tokenHash,
  verify,
} from './commands.js';
import { type CliIo, processIo, UsageError } from './io.js';
import {
  appToken,
  emulator,
  runEmulator,
  sessionStart,
  verifyRemote,
  widgetSession,
} from './remote-commands.js';

export const COMMANDS: readonly Command[] = [
  mint,
  decode,
  verify,
  tokenHash,
  sessionStart,
  widgetSession,
  appToken,
  verifyRemote,
  emulator,
];

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

function overview(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `kaltura-ks ${version} — Kaltura Sessions from the command line

Usage: kaltura-ks <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Settings come from flags, the environment or ./.env (KALTURA_PARTNER_ID,
KALTURA_ADMIN_SECRET, KALTURA_USER_SECRET, KALTURA_SERVICE_URL,
KALTURA_APP_TOKEN_ID, KALTURA_APP_TOKEN). Secrets are never printed, except
a new app token's value, once, when it is created.
Run \`kaltura-ks <command> --help\` for a command's options.
`;
}

/** Runs the CLI in-process and returns the exit code: 0 ok, 1 failed check, 2 usage. */
export async function main(
  argv: string[],
  io: CliIo = processIo(),
  commands: readonly Command[] = COMMANDS,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(overview(commands));
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    io.stdout(`${version}\n`);
    return 0;
  }
  if (name === emulator.name && commands.includes(emulator)) return runEmulator(rest, io);
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr(`kaltura-ks: unknown command ${JSON.stringify(name)}. Run kaltura-ks --help.\n`);
    return 2;
  }
  let args: ReturnType<typeof parseCommandArgs> | undefined;
  try {
    args = parseCommandArgs(command, rest, io);
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
    if (error instanceof KsError) {
      if (args?.json) io.stdout(`${JSON.stringify({ error: error.toJSON() }, null, 2)}\n`);
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
