import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, TimeoutFailure } from '@temporalio/workflow';

const TIME_LIMIT: Record<string, string> = {
  SCHEDULE_TO_CLOSE: 'retry time (schedule-to-close)',
  START_TO_CLOSE: 'time for one attempt (start-to-close)',
  SCHEDULE_TO_START: 'wait for a worker (schedule-to-start)',
  HEARTBEAT: 'heartbeat timeout',
};

/** The innermost meaningful failure behind an activity or child workflow, as a type and one line. */
export function describeFailure(error: unknown): { type: string; message: string } {
  let cause = error;
  while ((cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) && cause.cause)
    cause = cause.cause;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Error', message: cause.message };
  if (cause instanceof TimeoutFailure) {
    // Temporal keeps the last attempt's failure as the timeout's cause.
    const last = cause.cause ? describeFailure(cause.cause) : undefined;
    return {
      type: last?.type ?? 'Timeout',
      message:
        `gave up: the step's ${TIME_LIMIT[cause.timeoutType ?? ''] ?? 'time limit'} ran out` +
        (last ? `; last error: ${last.message}` : ''),
    };
  }
  return { type: 'Error', message: cause instanceof Error ? cause.message : String(cause) };
}
