import { ratio, type SuiteResult } from './harness.js';
import { runToEnd } from './processes.js';

const WORKER = new URL('./workers/memory.ts', import.meta.url);

function measure(users: number, max: number, mode: 'issuer' | 'map' = 'issuer') {
  return runToEnd<{
    users: number;
    max: number;
    cached: number;
    heapDelta: number;
    perSession: number;
    ksPerSession: number;
    beyondKs: number;
  }>(WORKER, [String(users), String(max), mode]);
}

/** Issue 17: at most this many heap bytes per cached session beyond the KS string. */
const MAX_BEYOND_KS = 300;

/**
 * 4. Heap bytes per cached session at 10,000 and 100,000 users, against a hand-rolled
 * Map of user id → { ks, expiresAt } (the floor), and `max` holding the cache to its bound.
 */
export function runMemorySuite(): SuiteResult {
  const row = (name: string, m: ReturnType<typeof measure>) => ({
    case: name,
    cached: m.cached,
    'heap/session B': Math.round(m.perSession),
    'KS string B': Math.round(m.ksPerSession),
    'beyond KS B': Math.round(m.beyondKs),
  });
  const small = measure(10_000, 10_000);
  const smallMap = measure(10_000, 10_000, 'map');
  const full = measure(100_000, 100_000);
  const fullMap = measure(100_000, 100_000, 'map');
  const bounded = measure(100_000, 10_000);
  return {
    suite: 'memory',
    title:
      'Issuer memory: heap per cached session (local signing, forced GC), against a hand-rolled Map',
    rows: [
      row('10,000 users, max 10,000', small),
      row('baseline: a Map, 10,000 users', smallMap),
      row('100,000 users, max 100,000', full),
      row('baseline: a Map, 100,000 users', fullMap),
      row('100,000 users, max 10,000', bounded),
    ],
    targets: [
      ...[
        ['10,000', small, smallMap],
        ['100,000', full, fullMap],
      ].map(([users, m, base]) => {
        const ours = m as ReturnType<typeof measure>;
        const map = base as ReturnType<typeof measure>;
        return {
          target: `<= ${MAX_BEYOND_KS} B per session beyond the KS string at ${users} users`,
          met: ours.beyondKs <= MAX_BEYOND_KS,
          detail: `${Math.round(ours.beyondKs)} B; the Map ${Math.round(map.beyondKs)} B`,
        };
      }),
      {
        target: 'max holds the cache to its bound',
        met: bounded.cached === 10_000,
        detail: `${bounded.cached} cached of 100,000`,
      },
    ],
    notes: [
      `heap grows ${ratio(full.heapDelta / bounded.heapDelta)} from max 10,000 to max 100,000`,
      'Bytes per session are stable from run to run (forced GC, no other work in the worker).',
    ],
  };
}
