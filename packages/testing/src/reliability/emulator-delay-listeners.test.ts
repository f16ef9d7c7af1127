import { type Emulator, startEmulator } from '@kaltura-ks/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequestOnce } from './support.js';

/**
 * Regression (emulator): every request held by a `delay` fault adds an `abort` listener to the
 * one AbortSignal that `close()` aborts (`sleep(latencyMs, undefined, { signal:
 * closing.signal })` in packages/emulator/src/server.ts). More than ten delayed requests
 * at once make Node emit `MaxListenersExceededWarning: Possible EventTarget memory leak
 * detected` on the process — noise in every suite that delays a burst of requests, and a
 * false leak alarm. Fix: `setMaxListeners(0, closing.signal)` (node:events) right after
 * `const closing = new AbortController()`.
 */

const DELAYED = 12;
let emulator: Emulator;
const warnings: Error[] = [];
const onWarning = (warning: Error) => {
  warnings.push(warning);
};

beforeAll(async () => {
  emulator = await startEmulator();
  process.on('warning', onWarning);
});

afterAll(async () => {
  process.off('warning', onWarning);
  await emulator.close();
});

describe('the emulator under a delay fault', () => {
  it(`holds ${DELAYED} delayed requests at once without a listener-leak warning`, async () => {
    emulator.faults.set({ service: 'system', action: 'ping', mode: 'delay', latencyMs: 50 });
    const answers = await Promise.all(
      Array.from({ length: DELAYED }, () =>
        httpRequestOnce(`${emulator.url}/service/system/action/ping`, { method: 'POST' }),
      ),
    );
    for (const answer of answers) expect(answer.json).toBe(true);
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
  });
});
