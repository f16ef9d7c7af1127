import type { Dispatcher } from 'undici';
import { backoffDelay } from '../backoff.js';
import { KalturaApiError, KsError } from '../errors.js';
import {
  apiError,
  type Failure,
  isApiException,
  parseRetryAfter,
  transportFailure,
} from './failure.js';
import type { ResolvedOptions } from './options.js';
import type { KalturaCallObserver, KalturaClientEvent, KalturaClientOptions } from './types.js';

/** One API call, encoded. */
export interface Call {
  service: string;
  /** `''` for `multirequest`, which has no action in its path. */
  action: string;
  /** The whole form-encoded body (credentials travel here, never in the URL). */
  body: string;
  /** Credentials the body carries, removed from anything Kaltura echoes back. */
  secrets: readonly string[];
  /** May be sent again after a failure that might have reached Kaltura. */
  idempotent: boolean;
  signal: AbortSignal | undefined;
}

export interface Transport {
  /** Resolves with Kaltura's parsed JSON answer; rejects with a `KsError`. */
  send(call: Call): Promise<unknown>;
}

type Outcome = { ok: true; value: unknown; status: number } | { ok: false; failure: Failure };

const HEADERS = {
  'content-type': 'application/x-www-form-urlencoded',
  accept: 'application/json',
} as const;

function label(call: Call): string {
  return call.action === '' ? call.service : `${call.service}.${call.action}`;
}

/** The observer `observeCall` gives for a call, if any; one that throws does not fail the call. */
function observerOf(
  observeCall: NonNullable<KalturaClientOptions['observeCall']>,
  call: Call,
): Required<KalturaCallObserver> | undefined {
  try {
    const observer = observeCall({ service: call.service, action: call.action });
    if (observer == null) return undefined;
    return {
      retry: (event) => quietly(() => observer.retry?.(event)),
      end: (event) => quietly(() => observer.end(event)),
    };
  } catch {
    return undefined;
  }
}

function quietly(run: () => void): void {
  try {
    run();
  } catch {
    // An observer must not fail the call.
  }
}

/**
 * Sends calls through one dispatcher with Kaltura's conventions (POST, form body, JSON
 * answer, API errors with HTTP 200), typed errors, bounded retries and one deadline per call.
 */
export function createTransport(options: ResolvedOptions, dispatcher: Dispatcher): Transport {
  const { origin, basePath, headersTimeoutMs, bodyTimeoutMs, requestTimeoutMs, retry } = options;
  const { now, random, sleep } = options;
  // Named in connection failures; `serviceUrl` holds no credentials (checked at creation).
  const host = new URL(origin).host;
  const listener = options.onEvent;
  const { observeCall } = options;
  const emit = listener
    ? (event: KalturaClientEvent) => {
        try {
          listener(event);
        } catch {
          // A failing observer must not fail the call.
        }
      }
    : undefined;

  const paths = new Map<string, string>();
  function pathOf(service: string, action: string): string {
    const key = `${service}/${action}`;
    let path = paths.get(key);
    if (path === undefined) {
      path =
        action === ''
          ? `${basePath}/service/${service}`
          : `${basePath}/service/${service}/action/${action}`;
      if (paths.size < 1000) paths.set(key, path);
    }
    return path;
  }

  async function attempt(call: Call, path: string, signal: AbortSignal): Promise<Outcome> {
    const where = label(call);
    let response: Dispatcher.ResponseData;
    try {
      response = await dispatcher.request({
        origin,
        path,
        method: 'POST',
        headers: HEADERS,
        body: call.body,
        signal,
        headersTimeout: headersTimeoutMs,
        bodyTimeout: bodyTimeoutMs,
      });
    } catch (cause) {
      return { ok: false, failure: transportFailure(cause, where, options, host) };
    }
    const status = response.statusCode;
    let text: string;
    try {
      text = await response.body.text();
    } catch (cause) {
      return { ok: false, failure: { ...transportFailure(cause, where, options, host), status } };
    }
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

    let value: unknown;
    // An empty answer is taken as "nothing" (a void action); typed readers still refuse it.
    let parsed = text.trim() === '';
    if (!parsed) {
      try {
        value = JSON.parse(text);
        parsed = true;
      } catch {
        // Not JSON. The SyntaxError is not kept: its message quotes the body.
      }
    }
    if (parsed && isApiException(value)) {
      const error = apiError(value, call.secrets, call.service, call.action, status);
      return { ok: false, failure: { error, retry: 'never', status } };
    }
    if (status < 200 || status >= 300) {
      const retryAfterMs = parseRetryAfter(response.headers['retry-after'], now());
      const error = new KsError('ERR_KS_HTTP', `${where}: HTTP ${status} from Kaltura`);
      if (status === 429)
        return { ok: false, failure: { error, retry: 'unsent', status, retryAfterMs } };
      // 501 Not Implemented and 505 HTTP Version Not Supported will not change on a retry.
      if (status >= 500 && status !== 501 && status !== 505) {
        return { ok: false, failure: { error, retry: 'maybe-sent', status, retryAfterMs } };
      }
      return { ok: false, failure: { error, retry: 'never', status } };
    }
    if (!parsed) {
      const error = new KsError('ERR_KS_RESPONSE', `${where}: the answer is not JSON`);
      return { ok: false, failure: { error, retry: 'never', status } };
    }
    return { ok: true, value, status };
  }

  /** The backoff before the next attempt, or undefined when there is to be none. */
  function nextDelay(call: Call, failure: Failure, attempts: number, started: number) {
    if (retry === null || failure.retry === 'never') return undefined;
    if (failure.retry === 'maybe-sent' && !call.idempotent) return undefined;
    if (attempts >= retry.maxAttempts) return undefined;
    // Full jitter: uniform in [0, min(max, base · 2^(n-1))).
    let delay = backoffDelay(attempts, retry.baseDelayMs, retry.maxDelayMs, random, 'full');
    if (failure.retryAfterMs !== undefined) delay = Math.max(delay, failure.retryAfterMs);
    const elapsed = now() - started;
    if (elapsed + delay > retry.maxTotalMs || elapsed + delay >= requestTimeoutMs) return undefined;
    return delay;
  }

  async function send(call: Call): Promise<unknown> {
    const where = label(call);
    const started = now();
    const caller = call.signal;
    if (caller?.aborted) {
      throw new KsError('ERR_KS_ABORTED', `${where}: aborted`, { cause: caller.reason });
    }
    const observer = observeCall === undefined ? undefined : observerOf(observeCall, call);
    /** The last answer's HTTP status, for the observer. */
    let status: number | undefined;
    const controller = new AbortController();
    let abortedBy: 'deadline' | 'caller' | undefined;
    const timer = setTimeout(() => {
      abortedBy ??= 'deadline';
      controller.abort();
    }, requestTimeoutMs);
    const onCallerAbort = () => {
      abortedBy ??= 'caller';
      controller.abort();
    };
    caller?.addEventListener('abort', onCallerAbort, { once: true });

    const stopped = (attempts: number): KsError => {
      const error =
        abortedBy === 'caller'
          ? new KsError('ERR_KS_ABORTED', `${where}: aborted`, { cause: caller?.reason })
          : new KsError(
              'ERR_KS_TIMEOUT',
              `${where}: no answer within requestTimeoutMs (${requestTimeoutMs} ms)`,
            );
      const durationMs = now() - started;
      emit?.({
        type: 'failure',
        service: call.service,
        action: call.action,
        attempts,
        durationMs,
        error,
      });
      observer?.end({ attempts, durationMs, status, error });
      return error;
    };

    try {
      const path = pathOf(call.service, call.action);
      for (let attempts = 1; ; attempts++) {
        emit?.({ type: 'request', service: call.service, action: call.action, attempt: attempts });
        const begun = emit ? now() : 0;
        const outcome = await attempt(call, path, controller.signal);
        status = outcome.ok ? outcome.status : outcome.failure.status;
        if (outcome.ok) {
          emit?.({
            type: 'response',
            service: call.service,
            action: call.action,
            attempt: attempts,
            status: outcome.status,
            durationMs: now() - begun,
          });
          observer?.end({ attempts, durationMs: now() - started, status });
          return outcome.value;
        }
        if (controller.signal.aborted) throw stopped(attempts);
        const { failure } = outcome;
        if (emit && failure.status !== undefined) {
          emit({
            type: 'response',
            service: call.service,
            action: call.action,
            attempt: attempts,
            status: failure.status,
            durationMs: now() - begun,
            ...(failure.error instanceof KalturaApiError
              ? { kalturaCode: failure.error.kalturaCode }
              : {}),
          });
        }
        const delay = nextDelay(call, failure, attempts, started);
        if (delay === undefined) {
          const error =
            attempts === 1 || failure.error instanceof KalturaApiError
              ? failure.error
              : new KsError(
                  failure.error.code,
                  `${failure.error.message} (after ${attempts} attempts)`,
                  { cause: failure.error.cause },
                );
          const durationMs = now() - started;
          emit?.({
            type: 'failure',
            service: call.service,
            action: call.action,
            attempts,
            durationMs,
            error,
          });
          observer?.end({ attempts, durationMs, status, error });
          throw error;
        }
        emit?.({
          type: 'retry',
          service: call.service,
          action: call.action,
          attempt: attempts,
          delayMs: delay,
          error: failure.error,
        });
        observer?.retry({ attempt: attempts, delayMs: delay, error: failure.error, status });
        if (delay > 0) {
          try {
            await sleep(delay, controller.signal);
          } catch (error) {
            if (!controller.signal.aborted) throw error;
          }
        }
        if (controller.signal.aborted) throw stopped(attempts);
      }
    } finally {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onCallerAbort);
    }
  }

  return { send };
}
