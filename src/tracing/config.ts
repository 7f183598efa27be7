import { ConfigError } from '../config.js';

/** Where spans go (OTLP over HTTP), once tracing is on. */
export interface TracingConfig {
  /** the OTLP/HTTP traces endpoint, e.g. http://otel-collector:4318/v1/traces */
  endpoint: string;
  /** OTEL_SERVICE_NAME, else the process's role (`ks-onboard-worker`, `ks-onboard-intake`) */
  serviceName?: string;
}

const ON = new Set(['1', 'true', 'on', 'yes']);
const OFF = new Set(['0', 'false', 'off', 'no']);
const DEFAULT_ENDPOINT = 'http://localhost:4318/v1/traces';

/**
 * Tracing is off unless asked: `KS_ONBOARD_TRACING=1`, or an OTLP endpoint set the standard way
 * (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`); `KS_ONBOARD_TRACING=0`
 * keeps it off whatever else is set. The exporter reads the other `OTEL_EXPORTER_OTLP_*` variables itself
 * (headers, timeout, compression).
 */
export function parseTracingConfig(env: NodeJS.ProcessEnv): TracingConfig | undefined {
  const flag = env.KS_ONBOARD_TRACING?.trim().toLowerCase();
  if (flag && !ON.has(flag) && !OFF.has(flag))
    throw new ConfigError(`bad configuration: KS_ONBOARD_TRACING: must be 1 or 0, not ${JSON.stringify(flag)}`);
  if (flag && OFF.has(flag)) return undefined;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const [variable, endpoint] = traces
    ? ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', traces]
    : base
      ? ['OTEL_EXPORTER_OTLP_ENDPOINT', `${base.replace(/\/+$/, '')}/v1/traces`]
      : ['KS_ONBOARD_TRACING', flag ? DEFAULT_ENDPOINT : undefined];
  if (!endpoint) return undefined;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ConfigError(`bad configuration: ${variable}: must be an http(s) URL, e.g. http://otel-collector:4318`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(
      `bad configuration: ${variable}: must be an http(s) URL (OTLP over HTTP), not ${url.protocol}`,
    );
  const serviceName = env.OTEL_SERVICE_NAME?.trim();
  return { endpoint: url.toString(), ...(serviceName ? { serviceName } : {}) };
}
