import type { ActivityOptions } from '@temporalio/workflow';

/**
 * One call to KubeSphere. Transient failures (network, 5xx, stale writes) are retried with a gentle
 * backoff for up to ten minutes, so a short KubeSphere outage heals by itself and a long one shows up
 * in the Web UI as a retrying step. The activities mark everything else non-retryable: it fails at once.
 */
export const kubeCall: ActivityOptions = {
  // Above the client's own 10 s HTTP timeouts: an attempt lost with a dead worker is retried soon.
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '10m',
  retry: { initialInterval: '500ms', backoffCoefficient: 1.5, maximumInterval: '10s' },
};

/**
 * A step that may meet a role KubeSphere has not created yet (right after the workspace or project):
 * the same retries, but reported after three minutes.
 */
export const kubeCallAwaitingRoles: ActivityOptions = { ...kubeCall, scheduleToCloseTimeout: '3m' };
