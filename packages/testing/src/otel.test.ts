import { appTokenHash, KsType } from '@kaltura-ks/core';
import { createKalturaClient } from '@kaltura-ks/core/client';
import {
  createKsIssuer,
  createMemoryStoreHub,
  type KsIssuer,
  type KsIssuerEvent,
  type KsIssuerOptions,
} from '@kaltura-ks/core/issuer';
import { createKsTelemetry } from '@kaltura-ks/core/otel';
import { type Emulator, startEmulator } from '@kaltura-ks/emulator';
import { type Attributes, context, DiagLogLevel, diag } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addAppTokens, START_MS, testClock } from './reliability/support.js';

/**
 * `@kaltura-ks/core/otel` against the emulator on loopback, read through the OpenTelemetry
 * SDK's in-memory exporters (spans and metrics, the metrics exported on demand): what is
 * counted, how spans nest, and that no attribute carries a KS, a secret, a token or privileges.
 */

/** Longest interval a timer takes: the reader exports when the test flushes it, never on its own. */
const NEVER_MS = 2 ** 31 - 1;

const contextManager = new AsyncLocalStorageContextManager();
/** What the SDK reports through its diagnostics logger at level error (collection errors). */
const sdkErrors: unknown[][] = [];
let emulator: Emulator;
let partner: Emulator['partners'][number];

beforeAll(async () => {
  // What an application's OpenTelemetry SDK sets up: spans follow the async context.
  context.setGlobalContextManager(contextManager.enable());
  const ignore = () => {};
  diag.setLogger(
    {
      error: (...args) => sdkErrors.push(args),
      warn: ignore,
      info: ignore,
      debug: ignore,
      verbose: ignore,
    },
    DiagLogLevel.ERROR,
  );
  emulator = await startEmulator();
  partner = emulator.partners[0]!;
});
afterAll(async () => {
  await emulator.close();
  context.disable();
  diag.disable();
});

let metricExporter: InMemoryMetricExporter;
let reader: PeriodicExportingMetricReader;
let spans: InMemorySpanExporter;
let meterProvider: MeterProvider;
let tracerProvider: BasicTracerProvider;
const issuers: KsIssuer[] = [];

beforeEach(() => {
  metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: NEVER_MS,
  });
  meterProvider = new MeterProvider({ readers: [reader] });
  spans = new InMemorySpanExporter();
  tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
});
afterEach(async () => {
  await Promise.all(issuers.splice(0).map((issuer) => issuer.close()));
  emulator.faults.clear();
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
});

function telemetry() {
  return createKsTelemetry({ meterProvider, tracerProvider });
}

function track(issuer: KsIssuer): KsIssuer {
  issuers.push(issuer);
  return issuer;
}

/** What the in-memory exporter holds after one export of everything recorded so far. */
async function collect(): Promise<ResourceMetrics> {
  metricExporter.reset();
  await reader.forceFlush();
  expect(sdkErrors).toEqual([]);
  const exported = metricExporter.getMetrics();
  expect(exported).toHaveLength(1);
  return exported[0]!;
}

/** Every data point of one metric. */
async function points(name: string): Promise<DataPoint<unknown>[]> {
  const all = (await collect()).scopeMetrics.flatMap((scope) => scope.metrics);
  return all
    .filter((m) => m.descriptor.name === name)
    .flatMap((m) => m.dataPoints as DataPoint<unknown>[]);
}

/** A counter's data points as `{ attributes, value }`, for `toEqual`. */
async function counts(name: string): Promise<{ attributes: Attributes; value: number }[]> {
  return (await points(name)).map((p) => ({ attributes: p.attributes, value: p.value as number }));
}

const withAttributes = (attributes: Attributes) => ({ attributes });

async function appTokenIssuer(
  extra: Partial<KsIssuerOptions> = {},
  token?: { id: string; token: string },
): Promise<{ issuer: KsIssuer; token: { id: string; token: string } }> {
  const made =
    token ??
    (
      await addAppTokens(emulator.url, partner.id, partner.adminSecret, [{ hashType: 'SHA256' }])
    )[0]!;
  const t = telemetry();
  const issuer = track(
    createKsIssuer(
      t.instrument({
        partnerId: partner.id,
        appToken: { ...made, hashType: 'SHA256' },
        serviceUrl: emulator.url,
        ...extra,
      }),
    ),
  );
  t.observe(issuer);
  return { issuer, token: made };
}

describe('metrics', () => {
  it('counts hits, misses and mints by way and outcome, the cache size, the clock and each Kaltura call', async () => {
    const { issuer } = await appTokenIssuer();
    await issuer.getKs({ userId: 'alice' });
    await issuer.getKs({ userId: 'alice' });
    await issuer.getKs({ userId: 'alice' });
    await issuer.getKs({ userId: 'bob' });

    expect(await counts('kaltura_ks.issuer.requests')).toEqual([
      { attributes: { 'kaltura_ks.request.outcome': 'miss' }, value: 2 },
      { attributes: { 'kaltura_ks.request.outcome': 'hit' }, value: 2 },
    ]);
    const success = { 'kaltura_ks.issuer.kind': 'app-token', 'kaltura_ks.mint.outcome': 'success' };
    expect(await counts('kaltura_ks.issuer.mints')).toEqual([{ attributes: success, value: 2 }]);
    const [latency] = await points('kaltura_ks.issuer.mint.duration');
    expect(latency).toMatchObject({ attributes: success, value: { count: 2 } });
    expect((latency!.value as Histogram).sum).toBeGreaterThan(0);
    expect((latency!.value as Histogram).sum).toBeLessThan(10); // seconds, not milliseconds

    const issuerAttributes = {
      'kaltura_ks.issuer.kind': 'app-token',
      'kaltura_ks.partner_id': partner.id,
    };
    expect(await counts('kaltura_ks.issuer.cache.size')).toEqual([
      { attributes: issuerAttributes, value: 2 },
    ]);
    // The emulator runs on this machine's clock: an offset of at most the rounding up (≤ 1 s + the round trip).
    const [offset] = await points('kaltura_ks.issuer.clock.offset');
    expect(offset).toMatchObject(withAttributes(issuerAttributes));
    expect(offset!.value).toBe(issuer.clockOffsetMs / 1000);
    expect(Math.abs(offset!.value as number)).toBeLessThan(5);
    expect(await counts('kaltura_ks.issuer.clock.measurements')).toEqual([
      { attributes: {}, value: 1 },
    ]);

    const calls = (await points('kaltura_ks.client.call.duration')).map((p) => [
      `${p.attributes['kaltura_ks.api.service']}.${p.attributes['kaltura_ks.api.action']}`,
      (p.value as Histogram).count,
    ]);
    expect(Object.fromEntries(calls)).toEqual({
      'system.getTime': 1,
      'session.startWidgetSession': 1, // the widget session is cached: one for both users
      'appToken.startSession': 2,
    });
  });

  it("records Kaltura's error code on a failed mint, and what the callers got", async () => {
    const { token } = await appTokenIssuer();
    // The same token with the wrong hash type: Kaltura refuses the hash.
    const t = telemetry();
    const issuer = track(
      createKsIssuer(
        t.instrument({
          partnerId: partner.id,
          appToken: { ...token, hashType: 'SHA1' },
          serviceUrl: emulator.url,
        }),
      ),
    );
    await expect(issuer.getKs({ userId: 'alice' })).rejects.toMatchObject({
      code: 'ERR_KS_CREDENTIALS',
    });
    await expect(issuer.getKs({ userId: 'bob' })).rejects.toMatchObject({
      code: 'ERR_KS_CREDENTIALS',
    });

    const refused = {
      'kaltura_ks.issuer.kind': 'app-token',
      'kaltura_ks.mint.outcome': 'error',
      'error.type': 'ERR_KS_API',
      'kaltura_ks.api.error_code': 'INVALID_APP_TOKEN_HASH',
    };
    // One mint: the breaker holds every other request until its probe.
    expect(await counts('kaltura_ks.issuer.mints')).toEqual([{ attributes: refused, value: 1 }]);
    expect(await points('kaltura_ks.issuer.mint.duration')).toEqual([
      expect.objectContaining({ attributes: refused }),
    ]);
    expect(await counts('kaltura_ks.issuer.requests')).toEqual([
      {
        attributes: {
          'kaltura_ks.request.outcome': 'error',
          'error.type': 'ERR_KS_CREDENTIALS',
          'kaltura_ks.api.error_code': 'INVALID_APP_TOKEN_HASH',
        },
        value: 2,
      },
    ]);
    expect(await counts('kaltura_ks.issuer.credentials.rejections')).toEqual([
      { attributes: { 'kaltura_ks.api.error_code': 'INVALID_APP_TOKEN_HASH' }, value: 1 },
    ]);
    const startSession = (await points('kaltura_ks.client.call.duration')).find(
      (p) => p.attributes['kaltura_ks.api.action'] === 'startSession',
    );
    expect(startSession?.attributes).toEqual({
      'kaltura_ks.api.service': 'appToken',
      'kaltura_ks.api.action': 'startSession',
      'error.type': 'ERR_KS_API',
      'kaltura_ks.api.error_code': 'INVALID_APP_TOKEN_HASH',
    });
  });

  it('counts stale hits, fallbacks while Kaltura fails, and evictions, on an injected clock', async () => {
    const clock = testClock();
    const emulatorOnClock = await startEmulator({ now: clock.now });
    try {
      const p = emulatorOnClock.partners[0]!;
      const t = telemetry();
      let renewalFailed: () => void = () => {};
      const renewal = new Promise<void>((resolve) => {
        renewalFailed = resolve;
      });
      const issuer = track(
        createKsIssuer(
          t.instrument({
            partnerId: p.id,
            sessionStart: { secret: p.adminSecret },
            serviceUrl: emulatorOnClock.url,
            expiresInSeconds: 600,
            now: clock.now,
            random: () => 0.5, // back-off 750 ms after the first failure
            clientOptions: { retry: false },
            onEvent: (event) => {
              if (event.type === 'mint-error') renewalFailed();
            },
          }),
        ),
      );
      const first = await issuer.getKs({ userId: 'alice' });
      clock.advance(500_000); // past 80 % of 600 s: served while it is renewed
      emulatorOnClock.faults.set({ mode: 'http-5xx', service: 'session' });
      expect(await issuer.getKs({ userId: 'alice' })).toBe(first);
      await renewal; // the background renewal failed
      clock.advance(2_000); // past its back-off
      // `fresh` waits for a new one; Kaltura fails again, the still-valid one is served.
      expect(await issuer.getKs({ userId: 'alice' }, { fresh: true })).toBe(first);
      clock.advance(100_000); // expired
      await issuer.clear();

      expect(await counts('kaltura_ks.issuer.requests')).toEqual([
        { attributes: { 'kaltura_ks.request.outcome': 'miss' }, value: 1 },
        { attributes: { 'kaltura_ks.request.outcome': 'stale' }, value: 1 },
        { attributes: { 'kaltura_ks.request.outcome': 'fallback' }, value: 1 },
      ]);
      expect(await counts('kaltura_ks.issuer.mints')).toEqual([
        {
          attributes: {
            'kaltura_ks.issuer.kind': 'session-start',
            'kaltura_ks.mint.outcome': 'success',
          },
          value: 1,
        },
        {
          attributes: {
            'kaltura_ks.issuer.kind': 'session-start',
            'kaltura_ks.mint.outcome': 'error',
            'error.type': 'ERR_KS_HTTP',
          },
          value: 2,
        },
      ]);
      expect(await counts('kaltura_ks.issuer.evictions')).toEqual([
        { attributes: { 'kaltura_ks.eviction.reason': 'cleared' }, value: 1 },
      ]);
    } finally {
      await emulatorOnClock.close();
    }
  });

  it('counts shared-store calls, hits from another instance, and store failures', async () => {
    let t = START_MS;
    const now = () => t;
    const hub = createMemoryStoreHub(now);
    const telemetryA = telemetry();
    const make = () =>
      track(
        createKsIssuer(
          telemetryA.instrument({
            partnerId: partner.id,
            adminSecret: partner.adminSecret,
            store: hub.store(),
            now,
          }),
        ),
      );
    const [a, b] = [make(), make()];
    await a.getKs({ userId: 'alice' });
    await b.getKs({ userId: 'alice' }); // from the store: a's KS
    hub.setFailing(true);
    await a.getKs({ userId: 'bob' });
    t += 1;
    await new Promise((resolve) => setImmediate(resolve));

    expect(await counts('kaltura_ks.issuer.store.hits')).toEqual([{ attributes: {}, value: 1 }]);
    const calls = await counts('kaltura_ks.issuer.store.calls');
    const byOperation = (operation: string, failed = false) =>
      calls.find(
        (c) =>
          c.attributes['kaltura_ks.store.operation'] === operation &&
          (c.attributes['error.type'] !== undefined) === failed,
      )?.value;
    expect(byOperation('get')).toBe(3); // a: get, get under the lock; b: get
    expect(byOperation('set')).toBe(1);
    expect(byOperation('get', true)).toBe(1);
    expect(calls.find((c) => c.attributes['error.type'] !== undefined)?.attributes).toEqual({
      'kaltura_ks.store.operation': 'get',
      'error.type': 'ERR_KS_UNAVAILABLE', // the hub fails with a KsError: its code
    });
  });
});

describe('spans', () => {
  const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

  it('a span per mint, with each Kaltura call it makes as its child', async () => {
    const { issuer } = await appTokenIssuer();
    await issuer.getKs({ userId: 'alice' });
    await issuer.getKs({ userId: 'alice' }); // a hit: no span
    await issuer.getKs({ userId: 'bob' });

    const finished = spans.getFinishedSpans();
    const mints = finished.filter((s) => s.name === 'kaltura_ks.mint');
    expect(mints).toHaveLength(2);
    for (const mint of mints) {
      expect(mint.attributes).toEqual({
        'kaltura_ks.issuer.kind': 'app-token',
        'kaltura_ks.partner_id': partner.id,
        'kaltura_ks.ks.type': KsType.USER,
      });
      expect(mint.status.code).toBe(0); // unset: success
    }
    const [first, second] = mints as [ReadableSpan, ReadableSpan];
    const childrenOf = (mint: ReadableSpan) =>
      finished
        .filter((s) => parentOf(s) === mint.spanContext().spanId)
        .map((s) => s.name)
        .sort();
    expect(childrenOf(first)).toEqual([
      'appToken.startSession',
      'session.startWidgetSession',
      'system.getTime',
    ]);
    expect(childrenOf(second)).toEqual(['appToken.startSession']);
    const call = finished.find((s) => s.name === 'appToken.startSession')!;
    expect(call.kind).toBe(2); // CLIENT
    expect(call.attributes).toEqual({
      'kaltura_ks.api.service': 'appToken',
      'kaltura_ks.api.action': 'startSession',
      'kaltura_ks.api.attempts': 1,
      'http.response.status_code': 200,
    });
    expect(call.spanContext().traceId).toBe(first.spanContext().traceId);
  });

  it('a mint span nests under the caller’s span, and records each retry', async () => {
    const { issuer } = await appTokenIssuer({
      clientOptions: {
        // The first attempt gets a 503; the back-off clears the fault. Jitter fixed mid-range:
        // a full-jitter draw under 1 ms is no back-off at all, and the fault would stay.
        random: () => 0.5,
        sleep: async () => {
          emulator.faults.clear();
        },
      },
    });
    emulator.faults.set({ mode: 'http-5xx', status: 503, service: 'appToken' });
    const tracer = tracerProvider.getTracer('app');
    await tracer.startActiveSpan('GET /kaltura/ks', async (span) => {
      await issuer.getKs({ userId: 'alice' });
      span.end();
    });
    const finished = spans.getFinishedSpans();
    const request = finished.find((s) => s.name === 'GET /kaltura/ks')!;
    const mint = finished.find((s) => s.name === 'kaltura_ks.mint')!;
    expect(parentOf(mint)).toBe(request.spanContext().spanId);
    const call = finished.find((s) => s.name === 'appToken.startSession')!;
    expect(parentOf(call)).toBe(mint.spanContext().spanId);
    expect(call.attributes['kaltura_ks.api.attempts']).toBe(2);
    expect(call.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        'retry',
        {
          'kaltura_ks.api.attempt': 1,
          'error.type': 'ERR_KS_HTTP',
          'http.response.status_code': 503,
        },
      ],
    ]);
  });

  it("marks a failed mint and its call with Kaltura's code, as an error", async () => {
    const [token] = await addAppTokens(emulator.url, partner.id, partner.adminSecret, [
      { hashType: 'SHA256' },
    ]);
    const { issuer } = await appTokenIssuer({}, token);
    await issuer.getKs({ userId: 'alice' });
    // The token is deleted (an admin rotated it): Kaltura refuses the next mint.
    const admin = createKalturaClient({ serviceUrl: emulator.url, partnerId: partner.id });
    admin.ks = await admin.session.start({ secret: partner.adminSecret, type: KsType.ADMIN });
    await admin.appToken.delete(token!.id);
    await admin.close();
    await expect(issuer.getKs({ userId: 'bob' })).rejects.toMatchObject({
      code: 'ERR_KS_CREDENTIALS',
    });
    const failed = spans
      .getFinishedSpans()
      .filter((s) => s.status.code === 2) // ERROR
      .map((s) => [s.name, s.status.message, s.attributes['kaltura_ks.api.error_code']]);
    expect(failed).toEqual([
      ['appToken.startSession', 'ERR_KS_API', 'APP_TOKEN_NOT_ACTIVE'],
      ['kaltura_ks.mint', 'ERR_KS_API', 'APP_TOKEN_NOT_ACTIVE'],
    ]);
  });
});

describe('what telemetry never carries', () => {
  it('no KS, secret, token, token hash, user id or privileges in any span, event, status or metric', async () => {
    const PRIVILEGES = 'sview:1_telemetry0,edit:1_telemetry1';
    const USER = 'telemetry-user-7f3a';
    const [token] = await addAppTokens(emulator.url, partner.id, partner.adminSecret, [
      { hashType: 'SHA256', sessionPrivileges: 'sview:*,edit:*' },
    ]);
    const { issuer } = await appTokenIssuer({}, token);
    const sessions = [
      await issuer.getKs({ userId: USER, privileges: PRIVILEGES }),
      await issuer.getKs({ userId: USER, privileges: PRIVILEGES }, { forceRefresh: true }),
      await issuer.getKs({ userId: `${USER}-2`, type: KsType.USER }),
    ];
    // A failure path too: a refused KS report, and an API error that quotes the KS.
    await issuer.getKs({ userId: USER, privileges: PRIVILEGES }, { rejectedKs: sessions[0]!.ks });
    const client = createKalturaClient({
      serviceUrl: emulator.url,
      partnerId: partner.id,
      observeCall: createKsTelemetry({ meterProvider, tracerProvider }).observeCall,
    });
    await expect(client.session.get({}, { ks: `${sessions[0]!.ks}x` })).rejects.toThrow();
    await client.close();

    const forbidden = [
      partner.adminSecret,
      partner.userSecret,
      token!.token,
      USER,
      PRIVILEGES,
      'sview:1_telemetry0',
      '1_telemetry0',
      ...sessions.map((s) => s.ks),
      ...sessions.map((s) => appTokenHash(s.ks, token!.token, 'SHA256')),
    ];
    const finished = spans.getFinishedSpans();
    expect(finished.length).toBeGreaterThan(5);
    const seen = [
      ...finished.flatMap((s) => [
        s.name,
        s.status.message ?? '',
        JSON.stringify(s.attributes),
        JSON.stringify(s.events.map((e) => [e.name, e.attributes])),
        JSON.stringify(s.links),
      ]),
      JSON.stringify(
        (await collect()).scopeMetrics.flatMap((scope) =>
          scope.metrics.map((m) => [m.descriptor, m.dataPoints.map((p) => p.attributes)]),
        ),
      ),
    ].join('\n');
    // The resource is the SDK's default (its service.name holds the node binary's path, which
    // under `npx node@22` has long base64-like runs): only the exact values are looked for there.
    const resources = finished.map((s) => JSON.stringify(s.resource.attributes)).join('\n');
    for (const value of forbidden) {
      expect(seen).not.toContain(value);
      expect(resources).not.toContain(value);
    }
    // Nor anything shaped like a KS (a long base64 run), a widget KS included.
    expect(seen).not.toMatch(/[A-Za-z0-9+/_-]{40,}/);
  });
});

describe('wiring', () => {
  it("keeps the options' own onEvent, aroundMint, clientOptions and observeCall: theirs run too", async () => {
    const events: KsIssuerEvent['type'][] = [];
    const aroundMints: string[] = [];
    const observed: string[] = [];
    const { issuer } = await appTokenIssuer({
      onEvent: (event) => events.push(event.type),
      aroundMint: async (mint, info) => {
        aroundMints.push(info.kind);
        await mint();
      },
      clientOptions: {
        clientTag: 'kept',
        observeCall: ({ service, action }) => ({
          end: () => observed.push(`${service}.${action}`),
        }),
      },
    });
    emulator.resetStats();
    await issuer.getKs({ userId: 'alice' });
    expect(events).toEqual(expect.arrayContaining(['miss', 'mint', 'miss-result']));
    expect(aroundMints).toEqual(['app-token']);
    expect(observed).toContain('appToken.startSession');
    expect((await counts('kaltura_ks.issuer.mints'))[0]?.value).toBe(1);
    expect(spans.getFinishedSpans().map((s) => s.name)).toContain('appToken.startSession');
  });

  it('refuses options that carry an issuer already made, and providers that are not', () => {
    const t = telemetry();
    const issuer = track(createKsIssuer({ partnerId: 1, adminSecret: partner.adminSecret }));
    expect(() => t.instrument({ issuer } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_KS_INVALID_OPTION' }),
    );
    expect(() => createKsTelemetry({ meterProvider: {} as never })).toThrow(/meterProvider/);
    expect(() => createKsTelemetry({ tracerProvider: {} as never })).toThrow(/tracerProvider/);
  });

  it('stops reporting an issuer once told to', async () => {
    const t = telemetry();
    const issuer = track(createKsIssuer({ partnerId: 1, adminSecret: partner.adminSecret }));
    const stop = t.observe(issuer);
    await issuer.getKs({ userId: 'alice' });
    expect((await counts('kaltura_ks.issuer.cache.size')).map((c) => c.value)).toEqual([1]);
    stop();
    await issuer.getKs({ userId: 'bob' });
    expect(issuer.size).toBe(2);
    expect((await counts('kaltura_ks.issuer.cache.size')).map((c) => c.value)).not.toContain(2);
  });
});
