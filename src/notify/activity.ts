import { createHash } from 'node:crypto';
import { ApplicationFailure, CancelledFailure, Context, log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { NotifyConfig } from './config.js';
import { buildNotification, notifyInputSchema, type NotifyEventType, type NotifyInput } from './events.js';
import { DELIVER_NOTICE_TYPE, NotifyFailureType } from './options.js';
import { createSender, NotificationRefusedError, NotificationUnavailableError, type SenderOptions } from './sender.js';

export type NotifyResult =
  | { sent: true; webhookId: string; status: number }
  | { sent: false; reason: 'notifications off' | 'event not enabled' };

/**
 * The same for every attempt of one notice, and different for any other: a receiver that saw it drops a retry.
 * From the activity's own context (never the input), so a workflow cannot speak for another run.
 */
export function webhookId(workflowId: string, runId: string, type: NotifyEventType, key: string): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([workflowId, runId, type, key]))
    .digest('base64url');
  return `msg_${digest.slice(0, 32)}`;
}

/**
 * `notify(event)`: one signed POST per attempt; Temporal retries what is worth retrying (notifyCall in
 * ./options.ts). Safe to call unconditionally: with notifications off, or an event type not enabled, it answers
 * `sent: false` without a request. The input is checked even then, so a workflow's mistake shows in every test.
 */
/**
 * A notice delivered after its request closed is sent by a `deliverNotice` child the request started and let go
 * (so a receiver that is down never holds the request open): it speaks for that parent, as Temporal records it.
 */
/** The workflows that tell of themselves as they close (src/workflows/notices.ts notifyBeforeClosing). */
const NOTICE_SENDERS: ReadonlySet<string> = new Set(['onboardUser', 'changeRole', 'importBatch']);

async function speaksFor(
  run: { workflowId: string; runId: string },
  workflowType: string | undefined,
  taskQueue: string,
  temporal: Client | undefined,
): Promise<{ workflowId: string; runId: string }> {
  if (workflowType !== DELIVER_NOTICE_TYPE) return run;
  const parent = temporal
    ? (await temporal.workflow.getHandle(run.workflowId, run.runId).describe()).parentExecution
    : undefined;
  if (!parent?.workflowId || !parent.runId)
    throw ApplicationFailure.create({
      type: NotifyFailureType.Invalid,
      message: 'a notice delivered on its own names the request that started it: this one has no parent',
      nonRetryable: true,
    });
  // Only a request of ours, on our task queue, speaks through this worker's receiver.
  const started = await temporal!.workflow.getHandle(parent.workflowId, parent.runId).describe();
  if (!NOTICE_SENDERS.has(started.type) || started.taskQueue !== taskQueue)
    throw ApplicationFailure.create({
      type: NotifyFailureType.Invalid,
      message: `a notice is sent only for ks-onboard's requests on task queue ${taskQueue}, not for a ${started.type} on ${started.taskQueue}`,
      nonRetryable: true,
    });
  return { workflowId: parent.workflowId, runId: parent.runId };
}

export function createNotifyActivities(
  config: NotifyConfig | undefined,
  options: SenderOptions = {},
  temporal?: Client,
) {
  const sender = config ? createSender(config, options) : undefined;
  const enabled: ReadonlySet<string> = new Set(config?.events ?? []);

  return {
    async notify(event: NotifyInput): Promise<NotifyResult> {
      const checked = notifyInputSchema.safeParse(event);
      if (!checked.success)
        throw ApplicationFailure.create({
          type: NotifyFailureType.Invalid,
          // Paths and zod's messages only: never the values, which may be anything the workflow holds.
          message: `not a notification: ${checked.error.issues.map((i) => `${i.path.join('.') || 'event'}: ${i.message}`).join('; ')}`,
          nonRetryable: true,
        });
      const input = checked.data;
      if (!sender || !config) return { sent: false, reason: 'notifications off' };
      if (!enabled.has(input.type)) return { sent: false, reason: 'event not enabled' };

      const info = Context.current().info;
      const own = info.workflowExecution;
      if (!own)
        throw ApplicationFailure.create({
          type: NotifyFailureType.Invalid,
          message: 'notify runs only for a workflow: a notice names its run',
          nonRetryable: true,
        });
      const run = await speaksFor(own, info.workflowType, info.taskQueue, temporal);
      const id = webhookId(run.workflowId, run.runId, input.type, input.key ?? `activity:${info.activityId}`);
      const body = JSON.stringify(
        buildNotification(input, {
          workflowId: run.workflowId,
          runId: run.runId,
          namespace: info.namespace,
          occurredAt: new Date(info.scheduledTimestampMs),
          ...(config.webUiUrl ? { webUiUrl: config.webUiUrl } : {}),
        }),
      );
      const about = { event: input.type, webhookId: id, receiver: sender.origin, attempt: info.attempt };
      try {
        const { status } = await sender.send(id, body, Context.current().cancellationSignal);
        log.info('notification sent', { ...about, status });
        return { sent: true, webhookId: id, status };
      } catch (error) {
        throw toFailure(error, about);
      }
    },
  };
}
export type NotifyActivities = ReturnType<typeof createNotifyActivities>;

function toFailure(error: unknown, about: Record<string, unknown>): Error {
  if (error instanceof NotificationRefusedError) {
    log.warn('notification refused', { ...about, status: error.status, message: error.message });
    return ApplicationFailure.create({
      type: NotifyFailureType.Refused,
      message: error.message,
      nonRetryable: true,
      details: [{ status: error.status }],
    });
  }
  if (error instanceof NotificationUnavailableError) {
    log.warn('notification not delivered; retried', { ...about, status: error.status, message: error.message });
    return ApplicationFailure.create({
      type: NotifyFailureType.Unavailable,
      message: error.message,
      nonRetryable: false,
      details: [{ status: error.status ?? null }],
      ...(error.retryAfterMs ? { nextRetryDelay: error.retryAfterMs } : {}),
    });
  }
  if (error instanceof CancelledFailure || Context.current().cancellationSignal.aborted) return error as Error;
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  log.warn('notification failed; retried', { ...about, message });
  return ApplicationFailure.create({ type: NotifyFailureType.Unavailable, message, nonRetryable: false });
}
