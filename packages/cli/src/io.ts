import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';

/** What a command may touch: injected so tests run commands in-process. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  readStdin: () => Promise<string>;
  now: () => number;
  /**
   * Waits `ms`; resolves true once they have passed, false when interrupted (Ctrl+C), so a
   * command can stop before it does what it was waiting to do.
   */
  sleep: (ms: number) => Promise<boolean>;
}

export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    now: Date.now,
    sleep: (ms) =>
      new Promise((resolve) => {
        const interrupted = () => {
          clearTimeout(timer);
          resolve(false);
        };
        const timer = setTimeout(() => {
          process.off('SIGINT', interrupted);
          resolve(true);
        }, ms);
        process.once('SIGINT', interrupted);
      }),
  };
}

/** A usage mistake: printed with a hint, exit code 2. */
export class UsageError extends Error {}

/**
 * What was asked cannot be done as things are at Kaltura (a token that is not active, one
 * whose expiry has passed): printed with `code`, exit code 1, like a `KsError`.
 */
export class CommandFailure extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Settings come from a flag, else the environment, else a `.env` file (Kaltura's
 * own convention: KALTURA_PARTNER_ID, KALTURA_ADMIN_SECRET, …). The file is read
 * without touching `process.env`.
 */
export class Settings {
  readonly #io: CliIo;
  readonly #envFile: string | undefined;
  #fileValues: Record<string, string> | undefined;

  constructor(io: CliIo, envFile: string | undefined) {
    this.#io = io;
    this.#envFile = envFile;
  }

  get(flag: string | undefined, variable: string): string | undefined {
    if (flag !== undefined) return flag;
    const fromEnv = this.#io.env[variable];
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    const fromFile = this.#file()[variable];
    return fromFile === undefined || fromFile === '' ? undefined : fromFile;
  }

  #file(): Record<string, string> {
    if (this.#fileValues === undefined) {
      const path = resolve(this.#io.cwd, this.#envFile ?? '.env');
      try {
        this.#fileValues = parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
      } catch (error) {
        if (this.#envFile !== undefined)
          throw new UsageError(`Cannot read the settings file ${path} (--dotenv)`);
        void error; // no .env in the working directory: that's fine
        this.#fileValues = {};
      }
    }
    return this.#fileValues;
  }
}
