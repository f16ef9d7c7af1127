/**
 * `pnpm test:mutation [group…] [--changed] [--force] [--concurrency N] [--budget-minutes N]`
 *
 * Runs StrykerJS (vitest runner) over each group of groups.ts in incremental mode: only the
 * mutants whose code or covering tests changed since the committed state are tested again.
 * Writes the state back (scripts/mutation/state/<group>.json, commit it) and the reports
 * (reports/mutation/<group>.json and .html, not committed), then runs the check (check.ts):
 * a survivor missing from equivalents.txt, or a file under 95%, fails.
 *
 *   --changed          skip a group whose files and tests are byte-identical to its state (CI)
 *   --force            test every mutant again, ignoring the state
 *   --concurrency N    test runners in parallel (default 1: the machine is shared)
 *   --budget-minutes N give up, and fail, after N minutes
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Stryker } from '@stryker-mutator/core';
import { checkGroups } from './check.js';
import { GROUPS, type GroupName, isGroupName, type MutationRegion } from './groups.js';
import { readState, staleReason, statePath, tidyState } from './state.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
process.chdir(root);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    changed: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '1' },
    'budget-minutes': { type: 'string' },
  },
});

const unknown = positionals.filter((name) => !isGroupName(name));
if (unknown.length > 0) {
  console.error(
    `Unknown group(s): ${unknown.join(', ')}. Groups: ${Object.keys(GROUPS).join(', ')}`,
  );
  process.exit(2);
}
const selected = (positionals.length > 0 ? positionals : Object.keys(GROUPS)) as GroupName[];
const concurrency = Number(values.concurrency);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error('--concurrency must be a positive integer');
  process.exit(2);
}

/** The group Stryker is testing, for the message when the budget runs out. */
let running: GroupName | undefined;

if (values['budget-minutes'] !== undefined) {
  const minutes = Number(values['budget-minutes']);
  if (!(minutes > 0)) {
    console.error('--budget-minutes must be a positive number');
    process.exit(2);
  }
  // Counted from the process's start: loading Stryker alone takes a while on a busy machine.
  const left = minutes * 60_000 - process.uptime() * 1000;
  setTimeout(
    () => {
      const group = running === undefined ? '' : ` ${running}`;
      console.error(
        `[mutation] FAILED: the budget of ${minutes} min ran out${group && ` while testing${group}`}, so the change is not checked. Run \`pnpm test:mutation${group}\` locally and commit scripts/mutation/state/: CI then re-tests only what is left.`,
      );
      process.exit(1);
    },
    Math.max(0, left),
  ).unref();
}

/** A `mutate` entry as Stryker takes it: a file, or `file:first-last` for a region. */
function strykerPattern(entry: string | MutationRegion): string {
  if (typeof entry === 'string') return entry;
  const lines = readFileSync(entry.file, 'utf8').split('\n');
  const lineOf = (marker: string): number => {
    const found = lines.flatMap((line, i) => (line.includes(marker) ? [i + 1] : []));
    if (found.length !== 1) {
      throw new Error(
        `${entry.file}: ${JSON.stringify(marker)} occurs ${found.length} times, not once: update scripts/mutation/groups.ts`,
      );
    }
    return found[0]!;
  };
  const first = lineOf(entry.from);
  const last = lineOf(entry.to) - 1;
  if (last < first) throw new Error(`${entry.file}: ${JSON.stringify(entry.to)} comes first`);
  return `${entry.file}:${first}-${last}`;
}

mkdirSync('reports/mutation', { recursive: true });
const plugin = fileURLToPath(import.meta.resolve('@stryker-mutator/vitest-runner'));
const timings: string[] = [];

for (const name of selected) {
  const group = GROUPS[name];
  if (values.changed && !values.force) {
    const reason = staleReason(group, readState(name));
    if (reason === undefined) {
      console.log(`[mutation] ${name}: unchanged since its state, not run`);
      continue;
    }
    console.log(`[mutation] ${name}: ${reason}`);
  }
  const started = Date.now();
  running = name;
  await new Stryker({
    configFile: 'stryker.config.json',
    plugins: [plugin],
    mutate: group.mutate.map(strykerPattern),
    testFiles: [...group.tests],
    incrementalFile: statePath(name),
    force: values.force,
    concurrency,
    jsonReporter: { fileName: `reports/mutation/${name}.json` },
    htmlReporter: { fileName: `reports/mutation/${name}.html` },
  }).runMutationTest();
  running = undefined;
  tidyState(name);
  timings.push(`${name} ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

if (timings.length > 0) console.log(`[mutation] wall time: ${timings.join(', ')}`);
process.exit(checkGroups(selected) ? 0 : 1);
