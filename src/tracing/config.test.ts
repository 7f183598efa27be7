import { describe, expect, it } from 'vitest';
import { observabilityConfig } from '../config.js';

describe('observability configuration', () => {
  it('tracing is off by default, on with KS_ONBOARD_TRACING=1 or an OTLP endpoint, and 0 keeps it off', () => {
    expect(observabilityConfig({}).tracing).toBeUndefined();
    expect(observabilityConfig({ KS_ONBOARD_TRACING: '1' }).tracing).toEqual({
      endpoint: 'http://localhost:4318/v1/traces',
    });
    expect(observabilityConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing).toEqual({
      endpoint: 'http://collector:4318/v1/traces',
    });
    expect(
      observabilityConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/otlp/v1/traces',
        OTEL_SERVICE_NAME: 'onboarding-eu',
      }).tracing,
    ).toEqual({ endpoint: 'https://traces.example.com/otlp/v1/traces', serviceName: 'onboarding-eu' });
    expect(
      observabilityConfig({ KS_ONBOARD_TRACING: '0', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing,
    ).toBeUndefined();
  });

  it('names the variable of a bad value', () => {
    expect(() => observabilityConfig({ KS_ONBOARD_TRACING: 'maybe' })).toThrow(/KS_ONBOARD_TRACING/);
    expect(() => observabilityConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
    expect(() => observabilityConfig({ KS_ONBOARD_AUDIT: 'syslog' })).toThrow(/KS_ONBOARD_AUDIT/);
    expect(() => observabilityConfig({ KS_ONBOARD_SDK_METRICS_ADDRESS: ':9464' })).toThrow(
      /KS_ONBOARD_SDK_METRICS_ADDRESS/,
    );
  });

  it('audits to stdout by default; the SDK metrics endpoint is off unless an address is given', () => {
    expect(observabilityConfig({})).toEqual({
      audit: { kind: 'stdout' },
      sdkMetricsAddress: undefined,
      tracing: undefined,
    });
    expect(observabilityConfig({ KS_ONBOARD_SDK_METRICS_ADDRESS: '0.0.0.0:9464' }).sdkMetricsAddress).toBe(
      '0.0.0.0:9464',
    );
  });
});
