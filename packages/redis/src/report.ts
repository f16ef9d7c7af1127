/** Which of the store's two connections an error came from. */
export type RedisConnectionName = 'commands' | 'subscriber';

export interface RedisStoreErrorInfo {
  connection: RedisConnectionName;
  /** Errors of this connection not reported since the last report (rate limiting). */
  suppressed: number;
}

export type RedisStoreErrorHandler = (error: Error, info: RedisStoreErrorInfo) => void;

/**
 * Reports at most one error per connection per `intervalMs`: a Redis outage
 * makes node-redis emit an error on every reconnect attempt, and a log should
 * get a line now and then, not a flood. What was held back is counted.
 * `always` reports an error regardless (an action the store itself took, rare
 * by construction), and starts a new interval.
 */
export function rateLimitedReporter(
  report: RedisStoreErrorHandler | undefined,
  intervalMs: number,
  now: () => number,
): (connection: RedisConnectionName, error: unknown, always?: boolean) => void {
  const state = new Map<RedisConnectionName, { at: number; suppressed: number }>();
  return (connection, error, always = false) => {
    if (report === undefined) return;
    const t = now();
    const last = state.get(connection);
    if (!always && last !== undefined && t - last.at < intervalMs) {
      last.suppressed++;
      return;
    }
    state.set(connection, { at: t, suppressed: 0 });
    try {
      report(error instanceof Error ? error : new Error(String(error)), {
        connection,
        suppressed: last?.suppressed ?? 0,
      });
    } catch {
      // A failing hook must not break the store.
    }
  };
}
