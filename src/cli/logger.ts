import type { LogLevel } from '@temporalio/worker';
import { pino, type Logger } from 'pino';
import { logLevel } from '../config.js';

/** One pino logger (JSON lines on stderr) for our lines and for Temporal's own. */
export function createLogger(level = logLevel() ?? 'info'): Logger {
  return pino({ level, base: { app: 'ks-onboard' } }, pino.destination(2));
}

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Routes Temporal's logs through pino; must run before any worker or native connection exists. The
 * worker SDK (native bridge) loads here, on demand: commands that only talk to Temporal start faster.
 */
export async function installRuntime(log: Logger): Promise<void> {
  const { DefaultLogger, Runtime } = await import('@temporalio/worker');
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) =>
      log[LEVELS[entry.level]]({ ...loggable(entry.meta), source: 'temporal' }, entry.message),
    ),
  });
}

/** Never logged: a task token completes an activity in the worker's place. */
const DROPPED = new Set(['taskToken']);

/**
 * Temporal's log metadata as JSON can carry it: an Error (which pino would print as `{}`) as its type, message
 * and causes; no task token.
 */
export function loggable(meta: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta ?? {})) {
    if (DROPPED.has(key)) continue;
    out[key] = value instanceof Error ? describeError(value) : value;
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
