import { ConfigError } from '../config.js';

/**
 * KS_ONBOARD_SDK_METRICS_ADDRESS: where the Temporal SDK's own Prometheus endpoint listens (`host:port`, e.g.
 * `0.0.0.0:9464`); unset: off. Our own metrics are served at `/metrics` on the health port (KS_ONBOARD_HEALTH_PORT).
 */
export function parseSdkMetricsAddress(env: NodeJS.ProcessEnv): string | undefined {
  const value = env.KS_ONBOARD_SDK_METRICS_ADDRESS?.trim();
  if (!value) return undefined;
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  if (!match || Number(match[2]) > 65535)
    throw new ConfigError(
      `bad configuration: KS_ONBOARD_SDK_METRICS_ADDRESS: must be host:port, e.g. 0.0.0.0:9464 (got ${JSON.stringify(value)})`,
    );
  return value;
}
