import type { MeterProvider } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import type { KsIssuerOptions } from '../issuer/options.js';
import type { KsIssuerEvent } from '../issuer/types.js';
import { createKsTelemetry } from './index.js';

/** A meter whose every instrument throws when it records: telemetry gone wrong. */
function brokenMeterProvider(): MeterProvider {
  const instrument = new Proxy(
    {},
    {
      get: () => () => {
        throw new Error('the meter broke');
      },
    },
  );
  const meter = new Proxy({}, { get: () => () => instrument });
  return { getMeter: () => meter } as unknown as MeterProvider;
}

describe('instrument(): the telemetry listener runs first, and never costs the user theirs', () => {
  it('a throwing telemetry onEvent still lets the user’s onEvent see the event', () => {
    const telemetry = createKsTelemetry({ meterProvider: brokenMeterProvider() });
    const seen: KsIssuerEvent[] = [];
    const options = telemetry.instrument({
      partnerId: 1,
      adminSecret: 'instrument-test-admin-secret-0123',
      onEvent: (event) => seen.push(event),
    } satisfies KsIssuerOptions);
    const event: KsIssuerEvent = { type: 'clock', offsetMs: 0, roundTripMs: 1 };
    // The issuer catches what a listener throws; what matters is that theirs ran.
    expect(() => options.onEvent!(event)).toThrow('the meter broke');
    expect(seen).toEqual([event]);
  });
});
