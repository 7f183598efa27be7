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
      log[LEVELS[entry.level]]({ ...entry.meta, source: 'temporal' }, entry.message),
    ),
  });
}
