import type { Client } from '@temporalio/client';
import type { WaitingApprovalsCounter } from './worker-metrics.js';

/**
 * Counts, through Temporal's visibility, the requests of one task queue that wait for an approval and started
 * before a time: `ks_onboard_approvals_waiting{older_than}`. A request asks for its approval as it starts (an HR
 * hire too, however far its start date), so the start time is when the wait began. Running workflows only: the
 * count is right across restarts and across any number of workers.
 */
export function waitingApprovalsCounter(
  client: Client,
  taskQueue: string,
  now = () => Date.now(),
): WaitingApprovalsCounter {
  const safeQueue = /^[\w.:/-]+$/.test(taskQueue) ? taskQueue : undefined;
  return async (olderThanMs) => {
    if (!safeQueue) throw new Error('task queue name cannot be quoted in a visibility query');
    const query = [
      `ExecutionStatus = 'Running'`,
      `TaskQueue = '${safeQueue}'`,
      `(WorkflowType = 'onboardUser' OR WorkflowType = 'changeRole')`,
      `OnboardingState = 'awaiting-approval'`,
      ...(olderThanMs > 0 ? [`StartTime < '${new Date(now() - olderThanMs).toISOString()}'`] : []),
    ].join(' AND ');
    return (await client.workflow.count(query)).count;
  };
}
