/**
 * How a KubeSphere step retries and how it says it gave up: one wording for activities Temporal retries and
 * for the steps a workflow retries itself. Pure: imported by workflow code and activities alike.
 */

export interface RetrySchedule {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
}

/** Every KubeSphere call's schedule: a gentle backoff, at most 10 s apart (src/workflows/activity-options.ts). */
export const KUBE_RETRY: RetrySchedule = { initialIntervalMs: 500, backoffCoefficient: 1.5, maximumIntervalMs: 10_000 };

/**
 * A role KubeSphere has not created yet (just after its workspace or project) is waited for this long, within a
 * step's retry time: long enough for KubeSphere's controllers, short enough that a role that never comes is reported.
 */
export const ROLE_WAIT_MS = 3 * 60_000;
/** Failure types retried for less than a step's whole retry time. */
export const SHORTER_RETRY_TIME_MS: Readonly<Record<string, number>> = { RoleNotReady: ROLE_WAIT_MS };

/** Temporal's defaults for what a retry policy leaves unset. */
const DEFAULT_INITIAL_INTERVAL_MS = 1_000;
const DEFAULT_BACKOFF = 2;

/** How long to wait after attempt `attempt` fails before the next one. */
export function retryIntervalMs(schedule: Partial<RetrySchedule> | undefined, attempt: number): number {
  const initial = schedule?.initialIntervalMs ?? DEFAULT_INITIAL_INTERVAL_MS;
  const interval = initial * (schedule?.backoffCoefficient ?? DEFAULT_BACKOFF) ** (attempt - 1);
  return Math.min(interval, schedule?.maximumIntervalMs ?? 100 * initial);
}

/** `9m50s`, `42s`, `1h5m` */
export function formatElapsed(ms: number): string {
  const seconds = Math.round(ms / 1000);
  const parts = [
    [Math.floor(seconds / 3600), 'h'],
    [Math.floor((seconds % 3600) / 60), 'm'],
    [seconds % 60, 's'],
  ] as const;
  return (
    parts
      .filter(([n]) => n > 0)
      .map(([n, unit]) => `${n}${unit}`)
      .join('') || '0s'
  );
}

/** The message of a step that gave up: how many attempts, over how long, which limit, the last error. */
export function gaveUpMessage(
  last: { attempts: number; elapsedMs: number; retryTimeMs?: number },
  lastError: string,
): string {
  const limit =
    last.retryTimeMs === undefined
      ? `its ${last.attempts} attempts are used up`
      : `its retry time (${formatElapsed(last.retryTimeMs)}) ran out`;
  const attempts = `${last.attempts} attempt${last.attempts === 1 ? '' : 's'}`;
  return `gave up after ${attempts} in ${formatElapsed(last.elapsedMs)} (${limit}); last error: ${lastError}`;
}
