import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '@kaltura-ks/cli';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Regression (core CLI and the demo's config): a setting that fails validation is
 * echoed in the error message — `--partner-id must be an integer, got "<value>"`
 * (packages/cli/src/commands.ts `integer()`, also `ksType()` and `ksVersion()`), and
 * `KALTURA_PARTNER_ID must be a whole number … (got "<value>")`, `KS_STRATEGY must be one
 * of … (got "<value>")`, `KALTURA_ENTRY_ID must look like … (got "<value>")`
 * (apps/demo/src/config.ts). When the value comes from the environment or a `.env` file, a
 * swapped or mis-pasted line puts the admin secret (or an app token) there, and the message
 * prints it to the terminal and CI logs — against the rule that no secret ever appears in
 * an error message.
 *
 * The fix: do not echo values read from the environment or a file; say what was wrong
 * and how long the value was (`KALTURA_PARTNER_ID must be a whole number from 1 to
 * 2147483647 (got a 29-character value)`). Flags typed on the command line may still be
 * echoed if the lead prefers, but the same helper serves both, so the simplest fix is to
 * stop echoing altogether.
 */

const MISPLACED = 'HYGIENE-ADMIN-SECRET-misplaced-0d1e';
const dir = mkdtempSync(join(tmpdir(), 'ks-misplaced-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function run(argv: string[], env: Record<string, string>): Promise<string> {
  let out = '';
  await main(argv, {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      out += t;
    },
    env,
    cwd: dir,
    readStdin: async () => '',
    now: Date.now,
    sleep: async () => true,
  });
  return out;
}

describe('a secret pasted into the wrong setting is not echoed', () => {
  it('kaltura-ks: KALTURA_PARTNER_ID from the environment or .env', async () => {
    const fromEnv = await run(['mint'], {
      KALTURA_PARTNER_ID: MISPLACED,
      KALTURA_ADMIN_SECRET: 'x',
    });
    writeFileSync(join(dir, '.env'), `KALTURA_PARTNER_ID=${MISPLACED}\nKALTURA_ADMIN_SECRET=x\n`);
    const fromFile = await run(['mint'], {});
    for (const out of [fromEnv, fromFile]) {
      expect(out).toContain('partner');
      expect(out).not.toContain(MISPLACED);
    }
  });

  it('the demo: KALTURA_PARTNER_ID, KS_STRATEGY and KALTURA_ENTRY_ID', async () => {
    // apps/demo is not a dependency of this package: loaded by path.
    const url = new URL('../../../../apps/demo/src/config.ts', import.meta.url).href;
    const { loadConfig } = (await import(/* @vite-ignore */ url)) as {
      loadConfig(env: Record<string, string>): unknown;
    };
    for (const name of ['KALTURA_PARTNER_ID', 'KS_STRATEGY', 'KALTURA_ENTRY_ID']) {
      const env = { [name]: MISPLACED };
      let message = '';
      try {
        loadConfig(env);
      } catch (error) {
        message = String(error);
      }
      expect(message).not.toBe('');
      expect(message).not.toContain(MISPLACED);
    }
  });
});
