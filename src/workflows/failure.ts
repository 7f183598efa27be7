import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, TimeoutFailure } from '@temporalio/workflow';

/** The innermost meaningful failure behind an activity or child workflow, as a type and one line. */
export function describeFailure(error: unknown): { type: string; message: string } {
  let cause = error;
  while ((cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) && cause.cause)
    cause = cause.cause;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Error', message: cause.message };
  if (cause instanceof TimeoutFailure)
    return { type: 'Timeout', message: `gave up after the step's time limit (${cause.timeoutType})` };
  return { type: 'Error', message: cause instanceof Error ? cause.message : String(cause) };
}
