/**
 * The gate on a mutation run, read from the committed state (scripts/mutation/state/*.json),
 * which must describe the tree as it is (no file it mutates or test it runs changed since):
 * every mutant that survived (or that no test reached) must be listed in equivalents.txt, every
 * entry there must still match a survivor, and every mutated file must score at least
 * SCORE_THRESHOLD. The score is the textbook one: killed (and timed-out) mutants over all that
 * ran, listed equivalents set aside — they cannot be killed. Stryker's own score, which counts
 * them as survivors, is printed beside it. `pnpm test:mutation:check [group…]` runs it alone.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { filesOf, GROUPS, type GroupName, isGroupName } from './groups.js';
import { type MutantResult, readState, staleReason, statePath } from './state.js';

export const SCORE_THRESHOLD = 95;
const EQUIVALENTS = 'scripts/mutation/equivalents.txt';
const UNDETECTED = new Set(['Survived', 'NoCoverage']);
const DETECTED = new Set(['Killed', 'Timeout']);

/** Whitespace collapsed, and a long snippet cut down to its two ends. */
function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  // Each end trimmed: a cut next to a space would print two, which a listed entry (read back
  // through here) collapses to one, and the entry would no longer match.
  return flat.length > 100
    ? `${flat.slice(0, 60).trimEnd()} … ${flat.slice(-30).trimStart()}`
    : flat;
}

function lineStarts(source: string): number[] {
  const starts = [0];
  for (let i = 0; i < source.length; i++) if (source[i] === '\n') starts.push(i + 1);
  return starts;
}

/** The source a mutant replaced (report locations: lines and columns from 1, end exclusive). */
function original(source: string, starts: number[], mutant: MutantResult): string {
  const { start, end } = mutant.location;
  const from = starts[start.line - 1]! + start.column - 1;
  const to = starts[end.line - 1]! + end.column - 1;
  return source.slice(from, to);
}

/** How an entry of equivalents.txt names a mutant: file, mutator, what was replaced and by what. */
function keyOf(file: string, mutator: string, before: string, after: string): string {
  return `${file}  ${mutator}  «${snippet(before)}» → «${snippet(after)}»`;
}

const ENTRY = /^(\S+)\s+(\S+)\s+«(.*?)»\s+→\s+«(.*?)»\s+(\S.*)$/;

function readEquivalents(): Map<string, number> {
  const listed = new Map<string, number>();
  const lines = readFileSync(EQUIVALENTS, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const match = ENTRY.exec(line);
    if (!match) {
      throw new Error(
        `${EQUIVALENTS}:${i + 1}: expected "<file>  <mutator>  «<original>» → «<replacement>»  <reason>"`,
      );
    }
    const [, file, mutator, before, after] = match;
    const key = keyOf(file!, mutator!, before!, after!);
    listed.set(key, (listed.get(key) ?? 0) + 1);
  });
  return listed;
}

interface FileScore {
  file: string;
  killed: number;
  survived: number;
  noCoverage: number;
  equivalent: number;
  /** Stryker's score: equivalents count as survivors. */
  stryker: number;
  /** The score the threshold applies to: equivalents set aside. */
  score: number;
}

/** Checks the groups' committed state; prints the score table and every problem. */
export function checkGroups(groups: readonly GroupName[]): boolean {
  const listed = readEquivalents();
  const problems: string[] = [];
  const scores: FileScore[] = [];
  const checkedFiles = new Set<string>();

  for (const name of groups) {
    const state = readState(name);
    if (state === undefined) {
      problems.push(`${name}: no state in ${statePath(name)}; run \`pnpm test:mutation ${name}\``);
      continue;
    }
    // A state written for other code scores that code, not this: say so rather than pass on it.
    const stale = staleReason(GROUPS[name], state);
    if (stale !== undefined) {
      problems.push(
        `${name}: its state is stale (${stale}); run \`pnpm test:mutation ${name}\` and commit ${statePath(name)}`,
      );
    }
    for (const file of filesOf(GROUPS[name])) {
      checkedFiles.add(file);
      const result = state.files[file];
      if (result === undefined) {
        problems.push(`${file}: not in ${statePath(name)}; run \`pnpm test:mutation ${name}\``);
        continue;
      }
      const starts = lineStarts(result.source);
      const score: FileScore = {
        file,
        killed: 0,
        survived: 0,
        noCoverage: 0,
        equivalent: 0,
        stryker: 100,
        score: 100,
      };
      const unlisted = new Map<string, MutantResult[]>();
      for (const mutant of result.mutants) {
        if (DETECTED.has(mutant.status)) score.killed++;
        if (!UNDETECTED.has(mutant.status)) continue;
        if (mutant.status === 'Survived') score.survived++;
        else score.noCoverage++;
        const key = keyOf(
          file,
          mutant.mutatorName,
          original(result.source, starts, mutant),
          mutant.replacement ?? '',
        );
        const left = listed.get(key) ?? 0;
        if (left > 0) {
          listed.set(key, left - 1);
          score.equivalent++;
        } else {
          unlisted.set(key, [...(unlisted.get(key) ?? []), mutant]);
        }
      }
      const valid = score.killed + score.survived + score.noCoverage;
      const percent = (part: number, whole: number) => (whole === 0 ? 100 : (100 * part) / whole);
      score.stryker = percent(score.killed, valid);
      score.score = percent(score.killed, valid - score.equivalent);
      scores.push(score);
      for (const [key, mutants] of unlisted) {
        for (const mutant of mutants) {
          problems.push(
            `${mutant.status.toLowerCase()} at ${file}:${mutant.location.start.line}:${mutant.location.start.column}, not listed as equivalent:\n    ${key}  <why it cannot change behaviour>`,
          );
        }
      }
      if (score.score < SCORE_THRESHOLD) {
        problems.push(`${file}: mutation score ${score.score.toFixed(1)}% < ${SCORE_THRESHOLD}%`);
      }
    }
  }
  for (const [key, left] of listed) {
    const file = key.slice(0, key.indexOf(' '));
    if (left > 0 && checkedFiles.has(file)) {
      problems.push(
        `listed in ${EQUIVALENTS} but no longer survives (remove the line):\n    ${key}`,
      );
    }
  }

  console.log(
    '\nfile | killed | survived | no coverage | of which equivalent | Stryker score | score',
  );
  console.log('--- | ---: | ---: | ---: | ---: | ---: | ---:');
  for (const s of scores) {
    console.log(
      `${s.file} | ${s.killed} | ${s.survived} | ${s.noCoverage} | ${s.equivalent} | ${s.stryker.toFixed(1)}% | ${s.score.toFixed(1)}%`,
    );
  }
  if (problems.length > 0) {
    console.error(
      `\n${problems.length} mutation problem(s):\n${problems.map((p) => `- ${p}`).join('\n')}`,
    );
    return false;
  }
  console.log(
    `\nEvery survivor is a listed equivalent, and every file scores at least ${SCORE_THRESHOLD}%.`,
  );
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.chdir(fileURLToPath(new URL('../..', import.meta.url)));
  const names = process.argv.slice(2);
  const unknown = names.filter((name) => !isGroupName(name));
  if (unknown.length > 0) {
    console.error(`Unknown group(s): ${unknown.join(', ')}`);
    process.exit(2);
  }
  const selected = (names.length > 0 ? names : Object.keys(GROUPS)) as GroupName[];
  process.exit(checkGroups(selected) ? 0 : 1);
}
