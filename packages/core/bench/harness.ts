/**
 * A small side-by-side benchmark harness: each case and its baseline run in
 * alternating rounds in the same process, so a noisy machine slows both alike
 * and the ratio holds. Reports the median of the rounds.
 */
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

function median(values: number[]): number {
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

export function printTable(results: PairResult[]): void {
  const rows = results.map((r) => [
    r.name,
    r.opsPerSecond.toLocaleString('en-US'),
    r.baselineOpsPerSecond.toLocaleString('en-US'),
    `${r.ratio.toFixed(2)}x`,
  ]);
  const header = ['case', 'ops/s', 'baseline ops/s', 'ratio'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}
