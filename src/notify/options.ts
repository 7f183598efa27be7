import type { ActivityOptions } from '@temporalio/workflow';

/**
 * What workflow code needs to call `notify`: its activity options, its failure types, and when to warn of an
 * approval's deadline. Bundled into the workflow sandbox, so it imports nothing at run time.
 */

export const NotifyFailureType = {
  /** the receiver answered 3xx or 4xx (not 408/429): the URL or the secret is wrong; retrying sends the same */
  Refused: 'NotificationRefused',
  /** network error, timeout, 408, 429, 5xx: retried */
  Unavailable: 'NotificationUnavailable',
  /** the workflow passed something that is not an event (a bug): retrying cannot help */
  Invalid: 'NotificationInvalid',
} as const;

/**
 * For notices sent while the workflow goes on (awaiting approval, expiring, batch paused): a receiver that is
 * down for a day still gets them, at most ten minutes after it is back. Each attempt's request has a 10 s
 * deadline inside the attempt's 15 s, so a timed-out attempt never overlaps its retry. Never await it on the
 * path that decides anything: a notice is not worth holding a workflow for.
 */
export const notifyCall: ActivityOptions = {
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '24h',
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumInterval: '10m',
    nonRetryableErrorTypes: [NotifyFailureType.Refused, NotifyFailureType.Invalid],
  },
  summary: 'notify the webhook receiver',
};

/** The workflow type that delivers a notice after its request closed (src/workflows/deliver-notice.ts). */
export const DELIVER_NOTICE_TYPE = 'deliverNotice';

/**
 * How long to wait before the `approval.expiring` notice: until `warningMs` before the deadline. Undefined when
 * that moment has already passed (the whole wait is shorter than the warning): the `approval.awaiting` notice
 * carries the deadline already.
 */
export function expiryNoticeDelayMs(deadline: string, nowMs: number, warningMs: number): number | undefined {
  const delay = Date.parse(deadline) - warningMs - nowMs;
  return Number.isFinite(delay) && delay > 0 ? delay : undefined;
}
