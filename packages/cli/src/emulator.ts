import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CliIo } from './io.js';

/** A command that takes its arguments as they are and parses them itself. */
export interface PassThrough {
  name: string;
  summary: string;
  runArgv(argv: string[], io: CliIo): Promise<number>;
}

/**
 * `kaltura-ks emulator …` hands its arguments to the emulator's own CLI, resolved from the
 * working directory: the emulator is installed by whoever wants it, never a dependency of the
 * command.
 */
export const emulator: PassThrough = {
  name: 'emulator',
  summary:
    'Start a Kaltura-compatible API server on this machine (needs @kaltura-ks/emulator installed; --help lists its options).',
  async runArgv(argv, io) {
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
  },
};
