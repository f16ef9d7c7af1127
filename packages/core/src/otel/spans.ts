import {
  type Attributes,
  context,
  type Meter,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { KalturaClientOptions } from '../client/types.js';
import type { KsIssuerOptions } from '../issuer/options.js';
import { errorAttributes } from './attributes.js';
import { ATTRIBUTES, DURATION_BUCKETS_S, METRICS, SPANS } from './names.js';

export type AroundMint = NonNullable<KsIssuerOptions['aroundMint']>;
export type ObserveCall = NonNullable<KalturaClientOptions['observeCall']>;

/**
 * A span per mint (its Kaltura calls are its children: the mint runs in its context), and
 * the mint counter and duration histogram. Attributes name the way of minting, the partner
 * and the session type: never the user, the privileges or anything the KS carries.
 */
export function mintHook(meter: Meter, tracer: Tracer): AroundMint {
  const mints = meter.createCounter(METRICS.mints, {
    unit: '{mint}',
    description:
      "This instance's mints (a KS from the shared store is not one), by way of minting and outcome, with Kaltura's code when it refused",
  });
  const duration = meter.createHistogram(METRICS.mintDuration, {
    unit: 's',
    description: "How long this instance's mints took, Kaltura's answer and the checks included",
    advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
  });
  return (mint, { key, kind }) => {
    const started = performance.now();
    const span = tracer.startSpan(SPANS.mint, {
      kind: SpanKind.INTERNAL,
      attributes: {
        [ATTRIBUTES.issuerKind]: kind,
        [ATTRIBUTES.partnerId]: key.partnerId,
        [ATTRIBUTES.ksType]: key.type,
      },
    });
    const end = (failed: boolean, error?: unknown) => {
      const attributes: Attributes = {
        [ATTRIBUTES.issuerKind]: kind,
        [ATTRIBUTES.mintOutcome]: failed ? 'error' : 'success',
      };
      if (failed) failSpan(span, errorAttributes(error, attributes));
      span.end();
      mints.add(1, attributes);
      duration.record((performance.now() - started) / 1000, attributes);
    };
    return context.with(trace.setSpan(context.active(), span), mint).then(
      () => end(false),
      (error: unknown) => {
        end(true, error);
        throw error;
      },
    );
  };
}

/**
 * A client span per Kaltura API call, named `service.action`, a child of whatever span is
 * active as it begins (a mint's); retries are its events. And the call duration histogram.
 */
export function callObserver(meter: Meter, tracer: Tracer): ObserveCall {
  const duration = meter.createHistogram(METRICS.callDuration, {
    unit: 's',
    description:
      "Kaltura API calls, every attempt and back-off included, by service, action and outcome, with Kaltura's code when it refused",
    advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
  });
  return ({ service, action }) => {
    const call: Attributes = { [ATTRIBUTES.apiService]: service, [ATTRIBUTES.apiAction]: action };
    const span = tracer.startSpan(action === '' ? service : `${service}.${action}`, {
      kind: SpanKind.CLIENT,
      attributes: call,
    });
    return {
      retry({ attempt, error, status }) {
        const attributes = errorAttributes(error, { [ATTRIBUTES.apiAttempt]: attempt });
        if (status !== undefined) attributes[ATTRIBUTES.httpStatus] = status;
        span.addEvent('retry', attributes);
      },
      end({ attempts, durationMs, status, error }) {
        const attributes: Attributes = { ...call };
        span.setAttribute(ATTRIBUTES.apiAttempts, attempts);
        if (status !== undefined) span.setAttribute(ATTRIBUTES.httpStatus, status);
        if (error !== undefined) failSpan(span, errorAttributes(error, attributes));
        span.end();
        duration.record(durationMs / 1000, attributes);
      },
    };
  };
}

/** Marks a span failed with the error's attributes; the status says the error type, never a message. */
function failSpan(span: ReturnType<Tracer['startSpan']>, attributes: Attributes): void {
  span.setAttributes(attributes);
  span.setStatus({ code: SpanStatusCode.ERROR, message: String(attributes[ATTRIBUTES.errorType]) });
}
