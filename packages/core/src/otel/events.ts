import type { Attributes, Meter } from '@opentelemetry/api';
import type { KsIssuerEvent } from '../issuer/types.js';
import { errorAttributes, kalturaCode } from './attributes.js';
import { ATTRIBUTES, METRICS } from './names.js';

/** Counts what the issuer reports through `onEvent`. */
export function issuerEventRecorder(meter: Meter): (event: KsIssuerEvent) => void {
  const requests = meter.createCounter(METRICS.requests, {
    unit: '{request}',
    description:
      'KS requests, by outcome: hit (a fresh KS from the cache), stale (from the cache while it is renewed), miss (waited for a new one), fallback (the still-valid one, as no new one could be had), error',
  });
  const evictions = meter.createCounter(METRICS.evictions, {
    unit: '{session}',
    description: 'Sessions that left the cache, by reason',
  });
  const storeCalls = meter.createCounter(METRICS.storeCalls, {
    unit: '{call}',
    description:
      'Calls to the shared store, by operation; error.type on those that failed or were too slow',
  });
  const storeHits = meter.createCounter(METRICS.storeHits, {
    unit: '{session}',
    description: 'Sessions taken from the shared store (another instance minted them)',
  });
  const clockMeasurements = meter.createCounter(METRICS.clockMeasurements, {
    unit: '{measurement}',
    description:
      "Measurements of Kaltura's clock (system.getTime); error.type on those that failed",
  });
  const rejections = meter.createCounter(METRICS.credentialsRejections, {
    unit: '{rejection}',
    description: "Times Kaltura refused the issuer's credentials, with Kaltura's code",
  });
  const reports = meter.createCounter(METRICS.reports, {
    unit: '{report}',
    description: 'Reports that Kaltura refused a KS (getKs rejectedKs), by what was done',
  });

  // The hot path (a hit) allocates nothing.
  const outcome = (value: string): Attributes => ({ [ATTRIBUTES.requestOutcome]: value });
  const HIT = outcome('hit');
  const STALE = outcome('stale');
  const MISS = outcome('miss');
  const FALLBACK = outcome('fallback');

  return (event) => {
    switch (event.type) {
      case 'hit':
        requests.add(1, event.stale ? STALE : HIT);
        break;
      case 'miss-result':
        if (event.outcome === 'error')
          requests.add(1, errorAttributes(event.error, outcome('error')));
        else requests.add(1, event.outcome === 'new' ? MISS : FALLBACK);
        break;
      case 'evict':
        evictions.add(1, { [ATTRIBUTES.evictionReason]: event.reason });
        break;
      case 'store-call':
        storeCalls.add(1, { [ATTRIBUTES.storeOperation]: event.operation });
        break;
      case 'store-error':
        storeCalls.add(
          1,
          errorAttributes(event.error, { [ATTRIBUTES.storeOperation]: event.operation }),
        );
        break;
      case 'shared-hit':
        storeHits.add(1);
        break;
      case 'clock':
        clockMeasurements.add(1);
        break;
      case 'clock-error':
        clockMeasurements.add(1, errorAttributes(event.error));
        break;
      case 'credentials-rejected':
        rejections.add(
          1,
          event.kalturaCode === undefined
            ? {}
            : { [ATTRIBUTES.apiErrorCode]: kalturaCode(event.kalturaCode) },
        );
        break;
      case 'rejected':
        reports.add(1, { [ATTRIBUTES.reportOutcome]: event.outcome });
        break;
    }
  };
}
