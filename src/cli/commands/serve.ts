import type { Command } from 'commander';
import { intakeConfig, observabilityConfig, requiredCodecKeyRing, temporalConfig } from '../../config.js';
import { clientTracing, startTracing } from '../../tracing/index.js';
import { dataConverterFor } from '../../temporal/data-converter.js';
import { temporalConnectOptions } from '../../temporal/connection-config.js';
import { startIntake, temporalReady } from '../../intake/server.js';
import { Client, Connection } from '@temporalio/client';
import { createLogger } from '../logger.js';
import { integerIn } from '../options.js';
import type { Logger } from 'pino';
import { HIBOB_REPLAY_WINDOW_MS } from '../../intake/vendors/hibob.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the HR intake: signed new-hire webhooks start onboardings (stops gracefully on SIGINT/SIGTERM)')
    .option('--port <n>', 'port (default KS_ONBOARD_INTAKE_PORT or 8787)', integerIn(0, 65535))
    .option('--host <address>', 'address to listen on (default KS_ONBOARD_INTAKE_HOST or 127.0.0.1)')
    .addHelpText(
      'after',
      `
Endpoints:
  POST /v1/hr/events     Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature), generic body
  POST /v1/hr/bamboohr   BambooHR (X-BambooHR-Signature, X-BambooHR-Timestamp)
  POST /v1/hr/hibob      HiBob webhooks v2 (Bob-Signature); answers 200, also to Bob's connection test ("Ping test")
  GET  /v1/onboardings/<workflowId>   lifecycle and steps (Authorization: Bearer KS_ONBOARD_INTAKE_TOKEN)
  GET  /healthz, /readyz (ready when Temporal answers)
  GET  /metrics          Prometheus: deliveries by vendor and status, latency (docs/observability.md)

Environment:
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE (TLS, mTLS, API keys: TEMPORAL_TLS*, TEMPORAL_API_KEY; docs/configuration.md), KS_ONBOARD_TASK_QUEUE, KS_ONBOARD_WORKFLOW_ID_PREFIX
  KS_ONBOARD_WEBHOOK_SECRETS (whsec_… list), KS_ONBOARD_BAMBOOHR_SECRETS, KS_ONBOARD_HIBOB_SECRETS (rotation: several)
  KS_ONBOARD_PLACEMENT (mapping file, YAML or JSON), KS_ONBOARD_INTAKE_TOKEN, KS_ONBOARD_INTAKE_PUBLIC_URL
  KS_ONBOARD_TRACING=1 or OTEL_EXPORTER_OTLP_ENDPOINT: OpenTelemetry tracing of the hand-over to Temporal (off by default)
  The workers need the same secrets and mapping: they verify every delivery again and decide.`,
    )
    .action(async (flags: { port?: number; host?: string }) => {
      const log = createLogger();
      const config = intakeConfig();
      const temporal = temporalConfig();
      const keyRing = requiredCodecKeyRing();
      const tracingConfig = observabilityConfig().tracing;
      const tracing = tracingConfig
        ? startTracing({ serviceName: 'ks-onboard-intake', config: tracingConfig })
        : undefined;
      // Connected on first use: the intake starts while Temporal is down, and /readyz says so until it is up.
      const client = new Client({
        connection: Connection.lazy(temporalConnectOptions(temporal)),
        namespace: temporal.namespace,
        dataConverter: dataConverterFor(keyRing),
        interceptors: clientTracing(tracing),
      });
      const intake = await startIntake(
        {
          client,
          taskQueue: temporal.taskQueue,
          prefix: temporal.workflowIdPrefix,
          hr: config.hr,
          log,
          ...(config.token ? { token: config.token } : {}),
          ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
          ready: temporalReady(client),
        },
        { port: flags.port ?? config.port, host: flags.host ?? config.host },
      );
      log.info(
        {
          url: intake.url,
          vendors: Object.entries(config.hr.vendors.secrets).flatMap(([vendor, secrets]) =>
            secrets.length ? [vendor] : [],
          ),
          mapping: config.hr.mappingFile,
          statusEndpoint: config.token ? 'on' : 'off (no KS_ONBOARD_INTAKE_TOKEN)',
        },
        'HR intake ready',
      );
      if (config.hr.vendors.secrets.hibob.length) void warnShortRetention(client, temporal.namespace, log);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info({ signal }, 'HR intake stopping: no new requests; those in flight finish');
          resolve();
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      await intake.close();
      await tracing?.shutdown();
      log.info('HR intake stopped');
      // A proposal still waiting for a worker's answer (the delivery was acknowledged already) must not hold the
      // process: its workflow is started; Temporal keeps it.
      process.exit(0);
    });
}

/**
 * HiBob signs only the event's own time, so a replay is refused for four days by that time and afterwards only by
 * the event id, which Temporal remembers as long as it keeps closed runs: the namespace's retention.
 */
async function warnShortRetention(client: Client, namespace: string, log: Logger): Promise<void> {
  try {
    const described = await client.workflowService.describeNamespace({ namespace });
    const seconds = Number(described.config?.workflowExecutionRetentionTtl?.seconds ?? 0);
    if (seconds > 0 && seconds < HIBOB_REPLAY_WINDOW_MS / 1000)
      log.warn(
        { namespace, retentionDays: seconds / 86_400 },
        "the namespace keeps closed runs for less than HiBob's 4-day replay window: a HiBob delivery replayed after its run is gone could start a second onboarding; raise the retention (temporal operator namespace update --retention 7d)",
      );
  } catch (error) {
    log.warn({ err: (error as Error).message }, 'could not read the namespace retention');
  }
}
