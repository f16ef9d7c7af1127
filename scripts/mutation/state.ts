import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { filesOf, type GroupName, type MutationGroup } from './groups.js';

/** The parts of a Stryker report (mutation-testing-report-schema) that the scripts read. */
export interface MutantResult {
  id: string;
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
}

export interface MutationReport {
  files: Record<string, { source: string; mutants: MutantResult[] }>;
  testFiles?: Record<string, { source?: string }>;
}

/** Where a group's incremental state lives (committed; it is also a full JSON report). */
export function statePath(group: GroupName): string {
  return `scripts/mutation/state/${group}.json`;
}

export function readState(group: GroupName): MutationReport | undefined {
  const path = statePath(group);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as MutationReport) : undefined;
}

/**
 * Why a group's state no longer describes the tree (a file it mutates or a test it runs was
 * changed, added or removed since the state was written), or `undefined` when it still does.
 */
export function staleReason(
  group: MutationGroup,
  state: MutationReport | undefined,
): string | undefined {
  if (state === undefined) return 'no state yet';
  const mutated = filesOf(group);
  for (const file of mutated) {
    if (state.files[file]?.source !== readFileSync(file, 'utf8')) return `${file} changed`;
  }
  for (const file of Object.keys(state.files)) {
    if (!mutated.includes(file)) return `${file} is no longer mutated`;
  }
  const tests = state.testFiles ?? {};
  for (const file of group.tests) {
    if (tests[file]?.source !== readFileSync(file, 'utf8')) return `${file} changed`;
  }
  return undefined;
}

/**
 * Rewrites a state file as Stryker left it into a stable, diffable shape: without the
 * machine's paths and the run's configuration (`projectRoot`, `config`, `framework`), one
 * mutant or test per line. Stryker reads it back unchanged: it needs only `files` and
 * `testFiles`.
 */
export function tidyState(group: GroupName): void {
  const path = statePath(group);
  const report = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown> & {
    files: Record<string, Record<string, unknown>>;
    testFiles?: Record<string, Record<string, unknown>>;
  };
  const entries = (record: Record<string, Record<string, unknown>>, list: string): string =>
    Object.keys(record)
      .sort()
      .map((file) => {
        const { [list]: items = [], ...rest } = record[file]!;
        const lines = (items as unknown[]).map((item) => `   ${JSON.stringify(item)}`).join(',\n');
        const head = JSON.stringify(rest).slice(0, -1);
        return `  ${JSON.stringify(file)}: ${head}${head === '{' ? '' : ','} ${JSON.stringify(list)}: [\n${lines}\n  ]}`;
      })
      .join(',\n');
  const text = [
    '{',
    ` "schemaVersion": ${JSON.stringify(report.schemaVersion)},`,
    ` "thresholds": ${JSON.stringify(report.thresholds)},`,
    ` "files": {\n${entries(report.files, 'mutants')}\n },`,
    ` "testFiles": {\n${entries(report.testFiles ?? {}, 'tests')}\n }`,
    '}',
    '',
  ].join('\n');
  writeFileSync(path, text);
}
