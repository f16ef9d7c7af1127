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

const gc = (globalThis as { gc?: () => void }).gc;

/** CPU time (user + system, µs) and wall time (ns) of `fn` run `n` times. */
function timed(fn: () => unknown, n: number): { cpuMicros: number; wallNanos: number } {
  const cpu = process.cpuUsage();
  const wall = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const wallNanos = Number(process.hrtime.bigint() - wall);
  const used = process.cpuUsage(cpu);
  return { cpuMicros: used.user + used.system, wallNanos };
}

/** One round: batches of `fn` until `roundMs` of CPU time is spent; CPU and wall µs per call. */
function cpuRound(fn: () => unknown, roundMs: number): { cpu: number; wall: number } {
  gc?.(); // each side pays for its own garbage, not the other's
  let calls = 0;
  let cpuMicros = 0;
  let wallNanos = 0;
  let batch = 64;
  while (cpuMicros < roundMs * 1000) {
    const t = timed(fn, batch);
    calls += batch;
    cpuMicros += t.cpuMicros;
    wallNanos += t.wallNanos;
    // Batches of about 5 ms keep the clock reads out of the measure.
    if (t.cpuMicros < 5_000) batch *= 2;
  }
  return { cpu: cpuMicros / calls, wall: wallNanos / 1000 / calls };
}

export interface CpuPairResult {
  name: string;
  /** Median CPU µs per call. */
  cpuMicros: number;
  baselineCpuMicros: number;
  /** Median of per-round ratios: baseline CPU time per call / subject CPU time per call. */
  ratio: number;
  /** The same, from wall-clock time (noisier on a shared machine). */
  wallRatio: number;
  /** Smallest and largest per-round CPU ratio. */
  range: [number, number];
}

/**
 * CPU time per call of `subject` against `baseline`, in alternating rounds
 * (A B, then B A, so a trend in the machine's load cancels), each round with
 * a forced GC first when `--expose-gc` is on. CPU time (`process.cpuUsage`) is
 * what a call costs whatever else the machine runs: on a shared machine an
 * unchanged control reads 0.96–1.04× this way, where wall-clock ratios of the
 * same pair ranged 0.5–4.2×. The ratio is the median of the per-round ratios.
 */
export function compareCpu(
  name: string,
  subject: () => unknown,
  baseline: () => unknown,
  { rounds = 9, roundMs = 150 } = {},
): CpuPairResult {
  cpuRound(subject, 50); // warm up both
  cpuRound(baseline, 50);
  const a: Array<{ cpu: number; wall: number }> = [];
  const b: Array<{ cpu: number; wall: number }> = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      a.push(cpuRound(subject, roundMs));
      b.push(cpuRound(baseline, roundMs));
    } else {
      b.push(cpuRound(baseline, roundMs));
      a.push(cpuRound(subject, roundMs));
    }
  }
  const ratios = a.map((x, r) => b[r]!.cpu / x.cpu);
  return {
    name,
    cpuMicros: median(a.map((x) => x.cpu)),
    baselineCpuMicros: median(b.map((x) => x.cpu)),
    ratio: median(ratios),
    wallRatio: median(a.map((x, r) => b[r]!.wall / x.wall)),
    range: [Math.min(...ratios), Math.max(...ratios)],
  };
}
