import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * The HR intake's metrics, at its `/metrics`: deliveries by vendor and HTTP status, and how long answering took.
 * The vendor label is one of the intake's paths (`generic`, `bamboohr`, `hibob`) or `unknown`: never what a caller
 * put in the URL.
 */
export interface IntakeMetrics {
  readonly registry: Registry;
  delivery(vendor: string, status: number, seconds: number): void;
}

const VENDORS = new Set(['generic', 'bamboohr', 'hibob']);
const BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createIntakeMetrics(options: { registry?: Registry; processMetrics?: boolean } = {}): IntakeMetrics {
  const registry = options.registry ?? new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const deliveries = new Counter({
    name: 'ks_onboard_intake_deliveries_total',
    help: 'HR deliveries answered, by vendor and HTTP status (202 accepted, 200 duplicate, 4xx refused, 503 Temporal unreachable)',
    labelNames: ['vendor', 'status'] as const,
    registers: [registry],
  });
  const seconds = new Histogram({
    name: 'ks_onboard_intake_delivery_duration_seconds',
    help: 'Time to answer an HR delivery (verification and the hand-over to Temporal), by vendor',
    labelNames: ['vendor'] as const,
    buckets: BUCKETS,
    registers: [registry],
  });
  return {
    registry,
    delivery(vendor, status, took) {
      const label = VENDORS.has(vendor) ? vendor : 'unknown';
      deliveries.inc({ vendor: label, status: String(status) });
      seconds.observe({ vendor: label }, took);
    },
  };
}
