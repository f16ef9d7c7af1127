import { cpus, loadavg } from 'node:os';
import { type CpuPairResult, ratio, type SuiteResult } from './harness.js';
import { canPin, runToEnd } from './processes.js';

const WORKER = new URL('./workers/ks.ts', import.meta.url);

/** Issue 17's targets: CPU time per call, the frozen pre-issue-17 code over ours. */
const TARGETS: Record<string, number> = {
  'createKs v2': 1.5,
  'createKs v1': 2.2,
  'verifyKs v2': 2,
  'verifyKs v1': 2.6,
};

/**
 * 1. KS create and verify, one core: `@kaltura-ks/core` against the frozen copy of
 * the code before issue 17 (`src/baseline`), and createKs v2 against issue 7's plain
 * reference, by CPU time per call in alternating rounds (see `compareCpu`).
 */
export function runKsSuite(): SuiteResult {
  const pinned = canPin() && cpus().length > 1;
  const load = [loadavg()[0]!];
  const pairs = runToEnd<CpuPairResult[]>(WORKER, [], pinned ? { cpus: '1' } : {});
  load.push(loadavg()[0]!);
  const byName = new Map(pairs.map((p) => [p.name, p]));
  const reference = byName.get('createKs v2 against the plain reference')!;
  const perSecond = (micros: number) => Math.round(1e6 / micros);
  return {
    suite: 'ks',
    title: `KS create and verify (${pinned ? 'pinned to core 1' : 'not pinned: no taskset'}), against the code before issue 17 — CPU time per call, 9 alternating rounds, median of per-round ratios`,
    rows: pairs.map((p) => ({
      case: p.name,
      'CPU µs/op': Math.round(p.cpuMicros * 1000) / 1000,
      'baseline CPU µs/op': Math.round(p.baselineCpuMicros * 1000) / 1000,
      'ops/s (CPU)': perSecond(p.cpuMicros),
      'baseline ops/s (CPU)': perSecond(p.baselineCpuMicros),
      'ratio (CPU time)': ratio(p.ratio),
      'round ratios': `${p.range[0].toFixed(2)}–${p.range[1].toFixed(2)}`,
      'ratio (wall clock)': ratio(p.wallRatio),
    })),
    targets: [
      ...Object.entries(TARGETS).map(([name, target]) => {
        const pair = byName.get(name)!;
        return {
          target: `${name} >= ${target}x the pre-issue-17 code (CPU time)`,
          met: pair.ratio >= target,
          detail: ratio(pair.ratio),
        };
      }),
      {
        target: 'createKs v2 >= 100,000 ops/s (by CPU time)',
        met: perSecond(byName.get('createKs v2')!.cpuMicros) >= 100_000,
        detail: perSecond(byName.get('createKs v2')!.cpuMicros).toLocaleString('en-US'),
      },
      {
        target: 'createKs v2 >= 1.5x the plain reference (CPU time)',
        met: reference.ratio >= 1.5,
        detail: ratio(reference.ratio),
      },
    ],
    notes: [
      `1-minute load average ${load.map((l) => l.toFixed(2)).join(' → ')} on ${cpus().length} cores during the measurement: CPU-time ratios hold under load (the control row shows their spread); ops/s and wall-clock ratios do not.`,
    ],
  };
}
