/**
 * Side-by-side measurement: each case and its baseline run in alternating
 * rounds in the same run, so a noisy machine slows both alike and the ratio
 * holds. Medians of the rounds are reported.
 */

export interface Target {
  target: string;
  met: boolean;
  detail?: string;
}

export interface SuiteResult {
  suite: string;
  title: string;
  rows: Array<Record<string, string | number>>;
  targets: Target[];
  notes?: string[];
}

export interface PairResult {
  name: string;
  opsPerSecond: number;
  baselineOpsPerSecond: number;
  ratio: number;
}

function opsPerSecond(fn: () => unknown, ms: number): number {
  const deadline = process.hrtime.bigint() + BigInt(ms) * 1_000_000n;
  const start = process.hrtime.bigint();
  let n = 0;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 256; i++) fn();
    n += 256;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export function comparePair(
  name: string,
  subject: () => unknown,
  baseline: () => unknown,
  { rounds = 7, roundMs = 250 } = {},
): PairResult {
  opsPerSecond(subject, 100); // warm up both
  opsPerSecond(baseline, 100);
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    a.push(opsPerSecond(subject, roundMs));
    b.push(opsPerSecond(baseline, roundMs));
  }
  const ours = median(a);
  const theirs = median(b);
  return {
    name,
    opsPerSecond: Math.round(ours),
    baselineOpsPerSecond: Math.round(theirs),
    ratio: ours / theirs,
  };
}

export function formatNumber(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(2);
}

export function renderTable(rows: Array<Record<string, string | number>>): string {
  if (rows.length === 0) return '';
  const header = Object.keys(rows[0]!);
  const cells = rows.map((row) =>
    header.map((h) =>
      typeof row[h] === 'number' ? formatNumber(row[h] as number) : String(row[h] ?? ''),
    ),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: string[]) =>
    values.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

export function renderMarkdown(rows: Array<Record<string, string | number>>): string {
  if (rows.length === 0) return '';
  const header = Object.keys(rows[0]!);
  const body = rows.map(
    (row) =>
      `| ${header.map((h) => (typeof row[h] === 'number' ? formatNumber(row[h] as number) : String(row[h] ?? ''))).join(' | ')} |`,
  );
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...body,
  ].join('\n');
}

export function ratio(value: number): string {
  return `${value.toFixed(2)}x`;
}
