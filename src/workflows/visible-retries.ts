import { ActivityFailure, ApplicationFailure, sleep, TimeoutFailure } from '@temporalio/workflow';
import { gaveUpMessage, retryIntervalMs, SHORTER_RETRY_TIME_MS, type RetrySchedule } from '../policy/retry.js';
import type { StepRetry } from './definitions.js';
import { describeFailure } from './failure.js';

export interface VisibleRetryOptions {
  schedule: RetrySchedule;
  /** how long one attempt may take */
  attemptMs: number;
  /** from the first attempt: no attempt starts that could not finish within it */
  retryTimeMs: number;
  /** what the timer between attempts says in the Web UI */
  summary: string;
  /** told before each wait (the step's report, current details) and with undefined once an attempt succeeds */
  onRetry: (retry: StepRetry | undefined) => void;
  /** runs before each wait, which ends the workflow task */
  beforeWait?: () => Promise<void>;
}

/**
 * A transient failure of a one-attempt local activity: it failed retryably, or ran out of its attempt's time.
 * (A local activity's failure may reach the workflow as the activity's own failure, not wrapped.)
 */
function isTransient(error: unknown): boolean {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) return !cause.nonRetryable;
  return cause instanceof TimeoutFailure;
}

/**
 * Runs a local activity attempt by attempt (each call makes one attempt), waiting on durable timers in
 * between: a local activity never shows as a pending activity in `describe` or the Web UI, so its attempts,
 * last error, next try and give-up time are kept in the step's report instead. The same schedule and the same
 * "gave up" wording as the activities Temporal retries.
 */
export async function withVisibleRetries<T>(attempt: () => Promise<T>, options: VisibleRetryOptions): Promise<T> {
  const firstAt = Date.now();
  for (let attempts = 1; ; attempts++) {
    try {
      const result = await attempt();
      if (attempts > 1) options.onRetry(undefined);
      return result;
    } catch (error) {
      if (!isTransient(error)) throw error;
      const cause = describeFailure(error);
      const waitMs = retryIntervalMs(options.schedule, attempts);
      // Some causes (a role KubeSphere has not made yet) are waited for less long, as Temporal's retries do.
      const retryTimeMs = Math.min(options.retryTimeMs, SHORTER_RETRY_TIME_MS[cause.type] ?? Infinity);
      const givesUpAt = firstAt + retryTimeMs;
      if (Date.now() + waitMs + options.attemptMs > givesUpAt)
        throw ApplicationFailure.create({
          type: cause.type,
          message: gaveUpMessage({ attempts, elapsedMs: Date.now() - firstAt, retryTimeMs }, cause.message),
          nonRetryable: true,
          cause: error as Error,
        });
      options.onRetry({
        attempts,
        lastError: `${cause.type}: ${cause.message}`,
        nextAttemptAt: new Date(Date.now() + waitMs).toISOString(),
        givesUpAt: new Date(givesUpAt).toISOString(),
      });
      await options.beforeWait?.();
      await sleep(waitMs, { summary: `${options.summary}: attempt ${attempts + 1} after ${cause.type}` });
    }
  }
}
