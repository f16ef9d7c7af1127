/**
 * `@kaltura-ks/core/otel`: the issuer's and the Kaltura API client's metrics and spans,
 * through OpenTelemetry's API (`@opentelemetry/api`, an optional peer dependency: no other
 * entry of `@kaltura-ks/core` imports it). The names are in the core README's table.
 */
import { type MeterProvider, metrics, type TracerProvider, trace } from '@opentelemetry/api';
import type { KalturaCallObserver } from '../client/types.js';
import type { KsIssuer } from '../issuer/issuer.js';
import type { KsIssuerOptions } from '../issuer/options.js';
import type { KsIssuerEvent } from '../issuer/types.js';
import { invalidOption } from '../options.js';
import { issuerEventRecorder } from './events.js';
import { issuerGauges } from './gauges.js';
import { SCOPE } from './names.js';
import { type AroundMint, callObserver, mintHook, type ObserveCall } from './spans.js';

export interface KsTelemetryOptions {
  /**
   * Where metrics go. Default: the global one (`metrics.getMeterProvider()`) as it is when
   * `createKsTelemetry` runs — OpenTelemetry's metrics API has no stand-in that picks up a
   * provider registered later, so set the SDK up first.
   */
  meterProvider?: MeterProvider;
  /** Where spans go. Default: the global one (which may be registered later). */
  tracerProvider?: TracerProvider;
}

/** Metrics and spans for issuers and Kaltura clients; see `createKsTelemetry`. */
export interface KsTelemetry {
  /**
   * Issuer options (or an adapter's, which extend them) with the telemetry wired in, each
   * hook composed with the options' own: their `onEvent`, `aroundMint` and
   * `clientOptions.observeCall` still run. An issuer's one-time warnings, given only when
   * nobody listens to its events, are not given then: the metrics carry those failures.
   * With a `client` of your own, give it `observeCall` for the API call spans.
   */
  instrument<O extends KsIssuerOptions>(options: O): O;
  /**
   * Reports an issuer's cache size and clock offset at each collection (attributes: its
   * kind and partner). Returns a function that stops it.
   */
  observe(issuer: KsIssuer): () => void;
  /** The issuer events `instrument` counts, for wiring by hand. */
  readonly onEvent: (event: KsIssuerEvent) => void;
  /** The mint span, counter and histogram `instrument` wires, for wiring by hand. */
  readonly aroundMint: AroundMint;
  /** The API call spans and histogram, for a client you make (`createKalturaClient`). */
  readonly observeCall: ObserveCall;
}

/**
 * Metrics and spans for the issuer and the Kaltura API client:
 *
 * ```ts
 * const telemetry = createKsTelemetry(); // after the OpenTelemetry SDK is set up
 * const issuer = createKsIssuer(telemetry.instrument({ partnerId, appToken, serviceUrl }));
 * telemetry.observe(issuer);
 * ```
 *
 * No attribute carries a KS, a secret, a token, a user id or privileges.
 */
export function createKsTelemetry(options: KsTelemetryOptions = {}): KsTelemetry {
  if (typeof options !== 'object' || options === null)
    throw invalidOption('createKsTelemetry options must be an object');
  const { meterProvider, tracerProvider } = options;
  if (meterProvider !== undefined && typeof meterProvider?.getMeter !== 'function')
    throw invalidOption('meterProvider must be a MeterProvider (with getMeter)');
  if (tracerProvider !== undefined && typeof tracerProvider?.getTracer !== 'function')
    throw invalidOption('tracerProvider must be a TracerProvider (with getTracer)');
  const meter = (meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE);
  const tracer = (tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE);

  const onEvent = issuerEventRecorder(meter);
  const aroundMint = mintHook(meter, tracer);
  const observeCall = callObserver(meter, tracer);
  const observe = issuerGauges(meter);

  return {
    onEvent,
    aroundMint,
    observeCall,
    observe,
    instrument(issuerOptions) {
      if (typeof issuerOptions !== 'object' || issuerOptions === null)
        throw invalidOption('instrument needs issuer options');
      if ((issuerOptions as { issuer?: unknown }).issuer !== undefined) {
        throw invalidOption(
          'instrument the options of createKsIssuer() for an issuer passed as `issuer`: it is made with them',
        );
      }
      const theirs = issuerOptions;
      const instrumented: KsIssuerOptions = {
        ...theirs,
        onEvent: theirs.onEvent === undefined ? onEvent : both(onEvent, theirs.onEvent),
        aroundMint:
          theirs.aroundMint === undefined
            ? aroundMint
            : (mint, info) => aroundMint(() => theirs.aroundMint!(mint, info), info),
      };
      if (theirs.client === undefined) {
        const own = theirs.clientOptions?.observeCall;
        instrumented.clientOptions = {
          ...theirs.clientOptions,
          observeCall: own === undefined ? observeCall : bothCalls(observeCall, own),
        };
      }
      return instrumented as typeof issuerOptions;
    },
  };
}

/**
 * Ours, then theirs — theirs even when ours throws (a failing meter must not cost the user
 * their listener); the issuer keeps a throwing listener from breaking anything else.
 */
function both(
  ours: (event: KsIssuerEvent) => void,
  theirs: (event: KsIssuerEvent) => void,
): (event: KsIssuerEvent) => void {
  return (event) => {
    try {
      ours(event);
    } finally {
      theirs(event);
    }
  };
}

/** Our observer, then theirs; theirs failing leaves ours whole. */
function bothCalls(ours: ObserveCall, theirs: ObserveCall): ObserveCall {
  return (call) => {
    const first = ours(call);
    let second: KalturaCallObserver | undefined;
    try {
      second = theirs(call) ?? undefined;
    } catch {
      // The transport would drop both: keep ours.
    }
    if (first === undefined || second === undefined) return first ?? second;
    const other = second;
    return {
      retry(event) {
        first.retry?.(event);
        other.retry?.(event);
      },
      end(event) {
        first.end(event);
        other.end(event);
      },
    };
  };
}
