import { ApplicationFailure, Context, type Info } from '@temporalio/activity';
import { isKubeSphereError, type KubeSphereErrorCode } from '../kubesphere/errors.js';
import { FailureType, type FieldDifference } from '../failures.js';
import {
  gaveUpMessage,
  KUBE_RETRY,
  retryIntervalMs,
  SHORTER_RETRY_TIME_MS,
  type RetrySchedule,
} from '../policy/retry.js';

/**
 * The retry policy Temporal hands an activity (durations in ms), as a schedule. Servers that do not pass it on
 * leave it undefined: then it is KUBE_RETRY, the schedule every activity of ours is given (activity-options.ts).
 */
function scheduleOf(policy: Info['retryPolicy']): RetrySchedule {
  if (!policy) return KUBE_RETRY;
  return {
    initialIntervalMs: Number(policy.initialInterval ?? KUBE_RETRY.initialIntervalMs),
    backoffCoefficient: policy.backoffCoefficient ?? KUBE_RETRY.backoffCoefficient,
    maximumIntervalMs: Number(policy.maximumInterval ?? KUBE_RETRY.maximumIntervalMs),
  };
}

/**
 * The one place that decides what Temporal retries. Transient: network, timeouts, 5xx, stale writes.
 * Never: validation, permission, a bad login (retrying would lock the admin account after 10 tries),
 * a lockout, an unknown cluster.
 */
const RETRYABLE: ReadonlySet<KubeSphereErrorCode> = new Set(['KS_UNAVAILABLE', 'KS_NETWORK', 'KS_TIMEOUT', 'KS_STALE']);

export function isRetryable(code: KubeSphereErrorCode): boolean {
  return RETRYABLE.has(code);
}

/** Turns anything an activity throws into an ApplicationFailure with a stable type and no secrets. */
export function toFailure(error: unknown): ApplicationFailure {
  if (error instanceof ApplicationFailure) return error;
  if (isKubeSphereError(error)) {
    return ApplicationFailure.create({
      type: error.code,
      // Already scrubbed of passwords and tokens by the client; never the request body.
      message: error.message,
      nonRetryable: !isRetryable(error.code),
      details: [{ code: error.code, status: error.status ?? null }],
    });
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return ApplicationFailure.create({ type: 'InternalError', message, nonRetryable: false });
}

export function mismatch(what: string, differences: FieldDifference[]): ApplicationFailure {
  const list = differences.map((d) => `${d.field} is "${d.existing}", requested "${d.requested}"`).join('; ');
  return ApplicationFailure.create({
    type: FailureType.ResourceMismatch,
    message: `${what} already exists but differs: ${list}`,
    nonRetryable: true,
    details: differences,
  });
}

export function failure(type: FailureType, message: string, nonRetryable: boolean): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable });
}

/**
 * When this attempt is the last Temporal would make, why: its attempts are used up, or the next one could not
 * finish within the retry time (schedule-to-close). Measured on the server's clock (when each attempt was
 * scheduled), so it holds under a time-skipping test server too. A policy of one attempt means the caller
 * (a workflow showing its own retries) tries again itself: that is never the last attempt.
 */
export function lastAttempt(
  info: Info,
  failureType?: string,
): { attempts: number; elapsedMs: number; retryTimeMs?: number } | undefined {
  const attempts = info.attempt;
  const maximumAttempts = info.retryPolicy?.maximumAttempts ?? 0;
  const elapsedMs = info.currentAttemptScheduledTimestampMs - info.scheduledTimestampMs;
  if (maximumAttempts === 1) return undefined;
  if (maximumAttempts > 0 && attempts >= maximumAttempts) return { attempts, elapsedMs };
  const shorter = failureType ? SHORTER_RETRY_TIME_MS[failureType] : undefined;
  const retryTimeMs = Math.min(info.scheduleToCloseTimeoutMs || Infinity, shorter ?? Infinity);
  if (!Number.isFinite(retryTimeMs)) return undefined;
  // This attempt may take up to its start-to-close; the next begins a backoff later and needs as long again.
  const nextEnds =
    info.currentAttemptScheduledTimestampMs +
    info.startToCloseTimeoutMs +
    retryIntervalMs(scheduleOf(info.retryPolicy), attempts) +
    info.startToCloseTimeoutMs;
  return nextEnds > info.scheduledTimestampMs + retryTimeMs ? { attempts, elapsedMs, retryTimeMs } : undefined;
}

/**
 * A transient failure on the last attempt says so itself (the type stays the cause's): the Web UI and `status`
 * then read "gave up after 37 attempts in 9m50s …", not a bare HTTP 500 that looks as if it were still retried.
 */
export function givingUp(failure: ApplicationFailure, info: Info): ApplicationFailure {
  if (failure.nonRetryable) return failure;
  const last = lastAttempt(info, failure.type ?? undefined);
  if (!last) return failure;
  return ApplicationFailure.create({
    type: failure.type ?? undefined,
    message: gaveUpMessage(last, failure.message),
    nonRetryable: true,
    details: [...(failure.details ?? []), { gaveUp: last }],
  });
}

/**
 * The SDK's cancellation when this worker shuts down past its grace period: thrown as it is, the attempt is
 * reported cancelled and the server runs it again on another worker; mapped (a KubeSphere KS_ABORTED, not retried)
 * it would fail the request. No work is lost to a rolling restart.
 */
function workerShutdown(): unknown {
  try {
    const context = Context.current();
    return context.cancellationDetails?.workerShutdown && context.cancellationSignal.aborted
      ? context.cancellationSignal.reason
      : undefined;
  } catch {
    return undefined;
  }
}

/** The running attempt's info; undefined when a function of the group is called directly (tests, tools). */
function activityInfo(): Info | undefined {
  try {
    return Context.current().info;
  } catch {
    return undefined;
  }
}

/** Wraps every activity of a group so that whatever escapes is mapped once, here. */
export function mapFailures<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (error) {
        const shutdown = workerShutdown();
        if (shutdown) throw shutdown;
        const failure = toFailure(error);
        const info = activityInfo();
        throw info ? givingUp(failure, info) : failure;
      }
    };
  }
  return wrapped as T;
}
