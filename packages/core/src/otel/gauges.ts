import type { Meter } from '@opentelemetry/api';
import type { KsIssuer } from '../issuer/issuer.js';
import { ATTRIBUTES, METRICS } from './names.js';

/** Reads each observed issuer's cache size and clock offset when metrics are collected. */
export function issuerGauges(meter: Meter): (issuer: KsIssuer) => () => void {
  const observed = new Set<KsIssuer>();
  const size = meter.createObservableUpDownCounter(METRICS.cacheSize, {
    unit: '{session}',
    description: "Sessions in the issuer's in-memory cache",
  });
  const offset = meter.createObservableGauge(METRICS.clockOffset, {
    unit: 's',
    description:
      "Kaltura's clock minus this server's, as the issuer uses it: measured with system.getTime and rounded up by the measurement's uncertainty, or kalturaClockOffsetMs",
  });
  meter.addBatchObservableCallback(
    (result) => {
      for (const issuer of observed) {
        const attributes = {
          [ATTRIBUTES.issuerKind]: issuer.kind,
          [ATTRIBUTES.partnerId]: issuer.partnerId,
        };
        result.observe(size, issuer.size, attributes);
        result.observe(offset, issuer.clockOffsetMs / 1000, attributes);
      }
    },
    [size, offset],
  );
  return (issuer) => {
    observed.add(issuer);
    return () => {
      observed.delete(issuer);
    };
  };
}
