import { condition, ParentClosePolicy, proxyActivities, startChild, workflowInfo } from '@temporalio/workflow';
import type { NotifyActivities } from '../notify/activity.js';
import type { NotifyEventType, NotifyInput } from '../notify/events.js';
import { expiryNoticeDelayMs, notifyCall } from '../notify/options.js';
import { deliverNotice } from './deliver-notice.js';
import type { WorkerPolicy } from '../policy/worker-policy.js';

const background = proxyActivities<NotifyActivities>(notifyCall);
const lastChance = proxyActivities<NotifyActivities>({ ...notifyCall, scheduleToCloseTimeout: '1m' });

/** The worker's receiver wants this event: otherwise nothing is scheduled, and history carries no notice. */
function wanted(policy: WorkerPolicy | undefined, type: NotifyEventType): boolean {
  return policy?.notify?.events.includes(type) ?? false;
}

/** A notice sent while the workflow goes on: never awaited, and a receiver that never answers fails nothing. */
export function notifyLater(policy: WorkerPolicy | undefined, input: NotifyInput): void {
  if (wanted(policy, input.type)) background.notify(input).catch(() => undefined);
}

/**
 * A notice sent as the workflow closes: an activity still pending at the close would never run, so a child
 * workflow, let go at once, delivers it. Only its start is awaited: a receiver that is down never holds the
 * request open, and a notice never fails the request it tells of.
 */
export async function notifyBeforeClosing(policy: WorkerPolicy | undefined, input: NotifyInput): Promise<void> {
  if (!wanted(policy, input.type)) return;
  const { workflowId, runId } = workflowInfo();
  const started = await startChild(deliverNotice, {
    workflowId: `${workflowId}.notice.${input.type}.${runId}`,
    args: [input],
    parentClosePolicy: ParentClosePolicy.ABANDON,
    staticSummary: `deliver ${input.type} for ${workflowId}`,
  }).then(
    () => true,
    () => false,
  );
  // Its id taken (by anyone who may start workflows): the notice is tried here, for a minute, rather than dropped.
  if (!started) await lastChance.notify(input).catch(() => undefined);
}

/**
 * `approval.expiring`, the worker's warning time before the deadline, unless the approval was decided by then.
 * Runs beside the wait for the decision; a decision cancels its timer.
 */
export function warnBeforeExpiry(
  policy: WorkerPolicy | undefined,
  deadline: string,
  decided: () => boolean,
  notice: () => NotifyInput,
): void {
  if (!wanted(policy, 'approval.expiring')) return;
  const delay = expiryNoticeDelayMs(deadline, Date.now(), policy!.notify!.expiryWarningMs);
  if (delay === undefined) return;
  // Cancelled with the workflow (its timer is): then there is nothing to warn of.
  condition(decided, delay).then(
    (settled) => {
      if (!settled) notifyLater(policy, notice());
    },
    () => undefined,
  );
}
