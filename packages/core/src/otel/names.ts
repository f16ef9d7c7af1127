/**
 * The names `@kaltura-ks/core/otel` reports under, in OpenTelemetry's semantic-convention
 * style: one namespace (`kaltura_ks`), durations in seconds, counts in `{thing}` units, and
 * the conventions' own `error.type` and `http.response.status_code` where they apply. The
 * core README's table lists exactly these metrics (a test checks it).
 */

/** Instrumentation scope of the meter and the tracer. */
export const SCOPE = '@kaltura-ks/core';

export const METRICS = {
  requests: 'kaltura_ks.issuer.requests',
  mints: 'kaltura_ks.issuer.mints',
  mintDuration: 'kaltura_ks.issuer.mint.duration',
  cacheSize: 'kaltura_ks.issuer.cache.size',
  evictions: 'kaltura_ks.issuer.evictions',
  storeCalls: 'kaltura_ks.issuer.store.calls',
  storeHits: 'kaltura_ks.issuer.store.hits',
  clockOffset: 'kaltura_ks.issuer.clock.offset',
  clockMeasurements: 'kaltura_ks.issuer.clock.measurements',
  credentialsRejections: 'kaltura_ks.issuer.credentials.rejections',
  reports: 'kaltura_ks.issuer.reports',
  callDuration: 'kaltura_ks.client.call.duration',
} as const;

export const ATTRIBUTES = {
  requestOutcome: 'kaltura_ks.request.outcome',
  mintOutcome: 'kaltura_ks.mint.outcome',
  issuerKind: 'kaltura_ks.issuer.kind',
  partnerId: 'kaltura_ks.partner_id',
  ksType: 'kaltura_ks.ks.type',
  evictionReason: 'kaltura_ks.eviction.reason',
  storeOperation: 'kaltura_ks.store.operation',
  reportOutcome: 'kaltura_ks.report.outcome',
  apiService: 'kaltura_ks.api.service',
  apiAction: 'kaltura_ks.api.action',
  apiAttempt: 'kaltura_ks.api.attempt',
  apiAttempts: 'kaltura_ks.api.attempts',
  apiErrorCode: 'kaltura_ks.api.error_code',
  errorType: 'error.type',
  httpStatus: 'http.response.status_code',
} as const;

export const SPANS = { mint: 'kaltura_ks.mint' } as const;

/**
 * Bucket boundaries (s) for the duration histograms: those the conventions advise for HTTP
 * durations, which a Kaltura call is; a local mint takes well under the first.
 */
export const DURATION_BUCKETS_S = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];
