import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

const at = (r: number) => () => r;

describe('backoffDelay', () => {
  it('doubles its ceiling per failure up to maxMs, and draws equal jitter from its upper half, rounded', () => {
    // 250 ms doubling to 5 s: the issuer's revocation retries.
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, 250, 5_000, at(0)))).toEqual([
      125, 250, 500, 1_000, 2_000, 2_500, 2_500,
    ]);
    expect(backoffDelay(1, 250, 5_000, at(0.5))).toBe(188); // 125 + 62.5, rounded
    expect(backoffDelay(3, 250, 5_000, at(0.999_999))).toBe(1_000);
    expect(backoffDelay(40, 250, 5_000, at(0.5))).toBe(3_750);
  });

  it('draws full jitter from the whole range below the ceiling, rounded down', () => {
    expect(backoffDelay(1, 100, 2_000, at(0), 'full')).toBe(0);
    expect(backoffDelay(3, 100, 2_000, at(0.999_999), 'full')).toBe(399);
    expect(backoffDelay(9, 100, 2_000, at(0.5), 'full')).toBe(1_000);
  });

  it('stays finite for any count of failures, and at 0 for a base of 0', () => {
    expect(backoffDelay(10_000, 1_000, 300_000, at(0.5))).toBe(225_000);
    expect(backoffDelay(10_000, 0, 300_000, at(0.5), 'full')).toBe(0);
  });
});

describe('backoffDelay (exponential, equal jitter by default)', () => {
  it('lies between half and all of base × 2^(failures − 1)', () => {
    expect(backoffDelay(1, 1_000, 60_000, () => 0)).toBe(500);
    expect(backoffDelay(1, 1_000, 60_000, () => 1)).toBe(1_000);
    expect(backoffDelay(3, 1_000, 60_000, () => 0)).toBe(2_000);
    expect(backoffDelay(3, 1_000, 60_000, () => 0.5)).toBe(3_000);
    expect(backoffDelay(3, 1_000, 60_000, () => 1)).toBe(4_000);
  });

  it('is capped at maxMs, even after very many failures', () => {
    expect(backoffDelay(7, 1_000, 60_000, () => 1)).toBe(60_000);
    expect(backoffDelay(7, 1_000, 60_000, () => 0)).toBe(30_000);
    expect(backoffDelay(10_000, 1, Number.MAX_SAFE_INTEGER, () => 1)).toBe(2 ** 30);
  });

  it('rounds to whole milliseconds', () => {
    expect(backoffDelay(1, 3, 60_000, () => 0)).toBe(2);
    expect(backoffDelay(1, 1_000, 60_000, () => 0.3333)).toBe(667);
  });
});
