import { ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { NotifyActivities, NotifyResult } from '../notify/activity.js';
import type { NotifyInput } from '../notify/events.js';
import { notifyCall } from '../notify/options.js';

const { notify } = proxyActivities<NotifyActivities>(notifyCall);

/**
 * Delivers one notice for the request that started it and let it go (ParentClosePolicy ABANDON): the request
 * closes at once, and the notice is retried for a day however long the receiver is down. The notice names the
 * parent, as Temporal records it, never anything from this input.
 */
export async function deliverNotice(input: NotifyInput): Promise<NotifyResult> {
  if (!workflowInfo().parent)
    throw ApplicationFailure.create({
      type: 'NotificationInvalid',
      message: 'deliverNotice runs only as the child of a request that tells of itself',
      nonRetryable: true,
    });
  return notify(input);
}
