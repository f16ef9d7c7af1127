import { createKsTelemetry, type KsTelemetry } from '@kaltura-ks/core/otel';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { Request, Response } from 'express';

export interface DemoMetrics {
  instrument: KsTelemetry['instrument'];
  observe: KsTelemetry['observe'];
  /** `GET /metrics`: the counters in Prometheus's text format, read at each request. */
  handler(req: Request, res: Response): void;
  close(): Promise<void>;
}

/**
 * The issuer's metrics through the OpenTelemetry SDK, as an operator would wire them: a
 * meter provider whose reader is the Prometheus exporter, served on the demo's own port
 * (`preventServerStart`: no second server). A real deployment would set its SDK up once
 * for the whole app and give `createKsTelemetry` nothing.
 */
export function createDemoMetrics(): DemoMetrics {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  const telemetry = createKsTelemetry({ meterProvider });
  return {
    instrument: telemetry.instrument,
    observe: telemetry.observe,
    handler: (req, res) => {
      res.set('Cache-Control', 'no-store');
      exporter.getMetricsRequestHandler(req, res);
    },
    close: () => meterProvider.shutdown(),
  };
}
