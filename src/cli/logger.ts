import { asyncLocalStorage } from '@temporalio/activity';
import type { LogEntry, LogLevel } from '@temporalio/worker';
import { pino, type DestinationStream, type Logger } from 'pino';
import { logLevel } from '../config.js';

/**
 * One pino logger (JSON lines on stderr) for our lines and for Temporal's own. A line logged while an activity runs
 * carries that activity's workflow id, run id, type and attempt (docs/observability.md, "Logs").
 */
export function createLogger(
  level = logLevel() ?? 'info',
  destination: DestinationStream = pino.destination(2),
): Logger {
  // Temporal's own lines carry their activity's fields already (and may be written from another activity's context).
  const mixin = (line: object) => ((line as { source?: unknown }).source === 'temporal' ? {} : activityFields());
  return pino({ level, base: { app: 'ks-onboard' }, mixin }, destination);
}

/** The running activity's context, for every line logged inside it: never its task token. */
export function activityFields(): Record<string, unknown> {
  const info = asyncLocalStorage.getStore()?.info;
  if (!info) return {};
  return {
    ...(info.workflowExecution
      ? { workflowId: info.workflowExecution.workflowId, runId: info.workflowExecution.runId }
      : {}),
    activityType: info.activityType,
    attempt: info.attempt,
  };
}

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};
const RANK: Record<LogLevel, number> = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };
/** Lines our own code logs through Temporal (`log` in an activity or a workflow), as opposed to the SDK's. */
const OUR_COMPONENTS = new Set(['activity', 'workflow']);

/**
 * Routes Temporal's logs through pino; must run before any worker or native connection exists. The
 * worker SDK (native bridge) loads here, on demand: commands that only talk to Temporal start faster.
 * The native core's own lines are forwarded too (WARN and above), so stderr holds JSON lines only. With
 * `sdkMetricsAddress`, the SDK serves its Prometheus metrics there (KS_ONBOARD_SDK_METRICS_ADDRESS).
 */
export async function installRuntime(log: Logger, options: { sdkMetricsAddress?: string } = {}): Promise<void> {
  const { DefaultLogger, Runtime } = await import('@temporalio/worker');
  Runtime.install({
    logger: new DefaultLogger('TRACE', runtimeLogSink(log)),
    telemetryOptions: {
      logging: { forward: {}, filter: { core: 'WARN', other: 'ERROR' } },
      ...(options.sdkMetricsAddress ? { metrics: { prometheus: { bindAddress: options.sdkMetricsAddress } } } : {}),
    },
  });
}

/**
 * A Temporal log entry as a pino line: the SDK's own (worker, core) at WARN and above unless LOG_LEVEL is debug or
 * trace, our code's (`log` in activities and workflows) at LOG_LEVEL. An activity's line carries `workflowId`,
 * `runId`, `activityType` and `attempt` (Temporal's `workflowRunId` is written `runId`, as a workflow's line has it).
 */
export function runtimeLogSink(log: Logger): (entry: LogEntry) => void {
  return (entry) => {
    const level = LEVELS[entry.level];
    const component = entry.meta?.sdkComponent;
    const ours = typeof component === 'string' && OUR_COMPONENTS.has(component);
    if (!ours && RANK[entry.level] < RANK.WARN && !log.isLevelEnabled('debug')) return;
    if (!log.isLevelEnabled(level)) return;
    log[level]({ ...loggable(entry.meta), source: 'temporal' }, entry.message);
  };
}

/** Never logged: a task token completes an activity in the worker's place. */
const DROPPED = new Set(['taskToken']);
/** One name per field across Temporal's workflow and activity lines. */
const RENAMED: Record<string, string> = { workflowRunId: 'runId' };

/**
 * Temporal's log metadata as JSON can carry it: an Error (which pino would print as `{}`) as its type, message
 * and causes; no task token.
 */
export function loggable(meta: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta ?? {})) {
    if (DROPPED.has(key)) continue;
    out[RENAMED[key] ?? key] = value instanceof Error ? describeError(value) : value;
  }
  return out;
}

function describeError(error: Error, depth = 0): Record<string, unknown> {
  const type = (error as { type?: unknown }).type;
  return {
    type: typeof type === 'string' ? type : error.name,
    message: error.message,
    ...(error.cause instanceof Error && depth < 5 ? { cause: describeError(error.cause, depth + 1) } : {}),
  };
}
