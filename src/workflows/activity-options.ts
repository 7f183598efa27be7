import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';
import { KUBE_RETRY } from '../policy/retry.js';

export { KUBE_RETRY };

/**
 * One attempt: above the client's own 10 s per-request deadline, and the attempt's cancellation reaches the
 * request, so a timed-out attempt never overlaps its retry.
 */
export const KUBE_ATTEMPT_MS = 15_000;
export const KUBE_RETRY_TIME_MS = 10 * 60_000;
/**
 * One call to KubeSphere. Transient failures (network, 5xx, stale writes) are retried with a gentle
 * backoff for up to ten minutes, so a short KubeSphere outage heals by itself and a long one shows up
 * in the Web UI as a retrying step. The activities mark everything else non-retryable: it fails at once.
 */
export const kubeCall: ActivityOptions = {
  startToCloseTimeout: KUBE_ATTEMPT_MS,
  scheduleToCloseTimeout: KUBE_RETRY_TIME_MS,
  retry: {
    initialInterval: KUBE_RETRY.initialIntervalMs,
    backoffCoefficient: KUBE_RETRY.backoffCoefficient,
    maximumInterval: KUBE_RETRY.maximumIntervalMs,
  },
};

/**
 * Reads that decide what a request may do (who holds a proof, what they may grant, a member's current role).
 * Local activities: run by the worker inside the workflow task and recorded as markers, so no Temporal client
 * can complete one in the worker's place (`complete by id` reaches only normal activities). Someone waits for
 * the answer, so a KubeSphere outage is reported within a minute.
 */
export const verifyCall: LocalActivityOptions = {
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '1m',
  retry: kubeCall.retry,
};

/** The worker's policy: in memory on the worker, recorded in history as a marker. */
export const policyCall: LocalActivityOptions = { startToCloseTimeout: '5s', retry: { maximumAttempts: 3 } };

/**
 * Ensuring the user, as a local activity, retried by the workflow with kubeCall's schedule: its outcome decides whether membership reads are skipped (a user this
 * run just created has no memberships), so no client may complete it in the worker's place, as it could a normal
 * activity by its id. The same retries and limits as any KubeSphere call.
 */
export const kubeCallLocal: LocalActivityOptions = {
  startToCloseTimeout: KUBE_ATTEMPT_MS,
  // One attempt per call: the workflow retries it itself (visibleRetries), so its attempts show in the step's report.
  retry: { maximumAttempts: 1 },
};

/**
 * Reading an HR delivery: verifying its signature, fetching the vendor's record where the webhook names only ids
 * (an HR API may be slow or down for a while), placing the person. A local activity like every check that decides
 * what a request may do; a vendor outage is retried for five minutes, then reported.
 */
export const hrCall: LocalActivityOptions = {
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '5m',
  retry: kubeCall.retry,
};
