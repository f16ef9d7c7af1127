import { ratio, type SuiteResult } from './harness.js';
import { runToEnd } from './processes.js';

const WORKER = new URL('./workers/memory.ts', import.meta.url);

function measure(users: number, max: number) {
  return runToEnd<{
    users: number;
    max: number;
    cached: number;
    heapDelta: number;
    perSession: number;
    ksPerSession: number;
    beyondKs: number;
  }>(WORKER, [String(users), String(max)]);
}

/** 4. Heap bytes per cached session with 100,000 users, and `max` holding the cache to its bound. */
export function runMemorySuite(): SuiteResult {
  const full = measure(100_000, 100_000);
  const bounded = measure(100_000, 10_000);
  return {
    suite: 'memory',
    title: 'Issuer memory: heap per cached session (100,000 users, local signing, forced GC)',
    rows: [
      {
        case: '100,000 users, max 100,000',
        cached: full.cached,
        'heap/session B': Math.round(full.perSession),
        'KS string B': Math.round(full.ksPerSession),
        'beyond KS B': Math.round(full.beyondKs),
      },
      {
        case: '100,000 users, max 10,000',
        cached: bounded.cached,
        'heap/session B': Math.round(bounded.perSession),
        'KS string B': Math.round(bounded.ksPerSession),
        'beyond KS B': Math.round(bounded.beyondKs),
      },
    ],
    targets: [
      {
        target: 'under 1 KB per session beyond the KS string',
        met: full.beyondKs < 1024,
        detail: `${Math.round(full.beyondKs)} B`,
      },
      {
        target: 'max holds the cache to its bound',
        met: bounded.cached === 10_000,
        detail: `${bounded.cached} cached of 100,000`,
      },
    ],
    notes: [
      `heap grows ${ratio(full.heapDelta / bounded.heapDelta)} from max 10,000 to max 100,000`,
    ],
  };
}
