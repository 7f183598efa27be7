import type { ActivityOptions } from '@temporalio/workflow';

/**
 * One call to KubeSphere. Transient failures (network, 5xx, stale writes) retry with backoff; the
 * activities mark everything else non-retryable, so the attempt cap is only a backstop.
 */
export const kubeCall: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '20s', maximumAttempts: 12 },
};

/**
 * A step that may meet a role KubeSphere has not created yet (right after the workspace or project):
 * retried for a bounded time, then reported.
 */
export const kubeCallAwaitingRoles: ActivityOptions = {
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '3m',
  retry: { initialInterval: '500ms', backoffCoefficient: 1.5, maximumInterval: '10s' },
};
