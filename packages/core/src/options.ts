/**
 * Option checks, one place for each rule: every kaltura-ks factory checks its
 * options once, when it is created, and a bad one is a `KsError`
 * (`ERR_KS_INVALID_OPTION`) whose message names it. The other packages use
 * these through `@kaltura-ks/core/internal`.
 */
import { KsError } from './errors.js';

/** The error for a missing or invalid option; `message` names the option. */
export function invalidOption(message: string): KsError {
  return new KsError('ERR_KS_INVALID_OPTION', message);
}

/** A duration in milliseconds: finite, positive (or, with `allowZero`, at least 0). */
export function checkMs(value: unknown, name: string, { allowZero = false } = {}): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    (!allowZero && value === 0)
  ) {
    throw invalidOption(
      `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number of milliseconds`,
    );
  }
  return value;
}

/** A fraction strictly between 0 and 1. */
export function checkFraction(value: unknown, name: string): number {
  if (typeof value !== 'number' || !(value > 0 && value < 1))
    throw invalidOption(`${name} must be between 0 and 1`);
  return value;
}

/** A function (a clock, a hook, a listener). */
export function checkFunction<T>(value: unknown, name: string): T {
  if (typeof value !== 'function') throw invalidOption(`${name} must be a function`);
  return value as T;
}
