import type { Command } from 'commander';
import {
  hrConfig,
  kubesphereConfig,
  notifyConfig,
  observabilityConfig,
  requiredCodecKeyRing,
  temporalConfig,
  workerConfig,
  workerPolicyConfig,
} from '../../config.js';
import { startHealthServer } from '../../temporal/health.js';
import { createLogger, installRuntime } from '../logger.js';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a worker: onboarding workflows and KubeSphere activities (stops gracefully on SIGINT/SIGTERM)')
    .addHelpText(
      'after',
      `
Environment:
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE (TLS, mTLS, API keys: TEMPORAL_TLS*, TEMPORAL_API_KEY; docs/configuration.md), KS_ONBOARD_TASK_QUEUE
  KUBESPHERE_HOST and KUBESPHERE_USERNAME + KUBESPHERE_PASSWORD (or KUBESPHERE_PASSWORD_FILE), or KUBESPHERE_TOKEN
  KS_ONBOARD_ELEVATED_ROLES (scope:role list; platform:platform-admin always), KS_ONBOARD_APPROVAL_TIMEOUT (default 72h)
  KS_ONBOARD_PROTECTED_WORKSPACES (besides system-workspace)
  KS_ONBOARD_MAX_CONCURRENT_ACTIVITIES (default 20), KS_ONBOARD_ACTIVITIES_PER_SECOND (task queue wide, default 50),
  KS_ONBOARD_KUBESPHERE_REQUESTS_PER_SECOND (the deployment's, shared by its workers, default 100)
  KS_ONBOARD_SEAL_PRIVATE_KEYS (comma-separated PEM files), KS_ONBOARD_SHUTDOWN_GRACE (default 30s)
  KS_ONBOARD_CODEC_KEYS (payload key ring, key-id:base64 list, the first encrypts; required)
  KS_ONBOARD_HEALTH_PORT (serves /healthz, /readyz and /metrics)
  Observability (docs/observability.md): KS_ONBOARD_AUDIT (stdout (default), file:<path> or off),
  KS_ONBOARD_SDK_METRICS_ADDRESS (the SDK's Prometheus endpoint, host:port), LOG_LEVEL (default info),
  KS_ONBOARD_TRACING=1 or OTEL_EXPORTER_OTLP_ENDPOINT (OpenTelemetry tracing over OTLP/HTTP; off by default)
  HR deliveries (verified again here): KS_ONBOARD_WEBHOOK_SECRETS, KS_ONBOARD_BAMBOOHR_SECRETS, KS_ONBOARD_HIBOB_SECRETS,
  KS_ONBOARD_PLACEMENT (mapping file), KS_ONBOARD_HR_TIME_ZONE (default UTC), KS_ONBOARD_HR_LEAD_TIME (default 2d),
  vendor APIs: KS_ONBOARD_BAMBOOHR_API_URL + KS_ONBOARD_BAMBOOHR_API_KEY, KS_ONBOARD_HIBOB_API_URL + KS_ONBOARD_HIBOB_SERVICE_USER
  Notifications (docs/notifications.md): KS_ONBOARD_NOTIFY_URL, KS_ONBOARD_NOTIFY_SECRET (or _FILE),
  KS_ONBOARD_NOTIFY_EVENTS (default all), KS_ONBOARD_NOTIFY_EXPIRY_WARNING (default 12h), KS_ONBOARD_NOTIFY_ALLOW_HTTP`,
    )
    .action(async () => {
      const log = createLogger();
      const config = {
        temporal: temporalConfig(),
        kubesphere: kubesphereConfig(),
        worker: workerConfig(),
        policy: workerPolicyConfig(),
        hr: hrConfig(),
        keyRing: requiredCodecKeyRing(),
        notify: notifyConfig(),
        observability: observabilityConfig(),
      };
      await installRuntime(log, { sdkMetricsAddress: config.observability.sdkMetricsAddress });
      const { buildWorker } = await import('../../temporal/run-worker.js');
      const { openAuditSink } = await import('../../audit/sink.js');
      const { createWorkerMetrics } = await import('../../metrics/worker-metrics.js');
      const { startTracing } = await import('../../tracing/index.js');
      // metrics are served on the health port: without one, nobody could read them
      const metrics = config.worker.healthPort === undefined ? undefined : createWorkerMetrics();
      const audit = await openAuditSink(config.observability.audit);
      const tracing = config.observability.tracing
        ? startTracing({ serviceName: 'ks-onboard-worker', config: config.observability.tracing })
        : undefined;
      const { hr, notify, observability: _settings, ...rest } = config;
      const observability = {
        ...(audit ? { audit } : {}),
        ...(metrics ? { metrics } : {}),
        ...(tracing ? { tracing } : {}),
      };
      const running = await buildWorker({
        ...rest,
        ...(hr ? { hr } : {}),
        ...(notify ? { notify } : {}),
        observability,
        log,
      });
      const health =
        config.worker.healthPort === undefined
          ? undefined
          : await startHealthServer(config.worker.healthPort, () => running.client.authHealth(), undefined, {
              ...(metrics ? { metrics: metrics.registry } : {}),
            });
      if (health) log.info({ url: health.url }, 'health endpoints /healthz, /readyz and /metrics');
      if (config.observability.sdkMetricsAddress)
        log.info({ address: config.observability.sdkMetricsAddress }, 'Temporal SDK metrics (Prometheus)');
      await running.worker.run(); // resolves after SIGINT/SIGTERM and the drain of in-flight tasks
      await health?.close();
      await running.close();
      await audit?.close();
      await tracing?.shutdown();
      log.info('worker stopped');
    });
}
