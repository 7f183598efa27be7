import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { WorkerMetrics } from '../metrics/worker-metrics.js';
import { auditEventOf, auditInputSchema, type AuditEvent, type AuditInput } from './events.js';
import type { AuditSink } from './sink.js';

export const AuditFailureType = {
  /** the workflow passed something that is not an event (a bug): retrying cannot help */
  Invalid: 'AuditEventInvalid',
  /** the sink could not take the line (disk full, stdout closed): retried */
  Unwritable: 'AuditUnwritable',
} as const;

export interface AuditDeps {
  /** where events go (KS_ONBOARD_AUDIT); none: only counted */
  sink?: AuditSink;
  metrics?: WorkerMetrics;
  now?: () => Date;
}

/**
 * `audit(event)`: a local activity, so a replay never runs it again (its result is the marker in history). The
 * run's ids come from the activity's own context, never from the input, so a workflow cannot write for another
 * run. A retried write may repeat a line: the event's `id` (`<workflowId>/<runId>/<seq>`) is the same, for the
 * consumer to drop the repeat.
 */
export function createAuditActivities({ sink, metrics, now = () => new Date() }: AuditDeps) {
  return {
    async audit(input: AuditInput): Promise<{ id: string; written: boolean }> {
      const parsed = auditInputSchema.safeParse(input);
      if (!parsed.success)
        throw ApplicationFailure.create({
          type: AuditFailureType.Invalid,
          // paths and zod's messages only, never the values
          message: `not an audit event: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'event'}: ${i.message}`).join('; ')}`,
          nonRetryable: true,
        });
      const info = Context.current().info;
      const event: AuditEvent = auditEventOf(
        parsed.data,
        {
          workflowId: info.workflowExecution?.workflowId ?? '',
          runId: info.workflowExecution?.runId ?? '',
          workflowType: info.workflowType ?? '',
          namespace: info.namespace,
          taskQueue: info.taskQueue,
        },
        now(),
      );
      if (sink) {
        try {
          await sink.write(event);
        } catch (error) {
          metrics?.auditWriteFailed();
          log.error('audit event not written; retried', {
            auditId: event.id,
            type: event.type,
            err: (error as Error).message,
          });
          throw ApplicationFailure.create({
            type: AuditFailureType.Unwritable,
            message: `${sink.description}: ${(error as Error).message}`,
          });
        }
      }
      // counted once it is written: a retry after a failed write counts it once
      metrics?.event(event);
      return { id: event.id, written: sink !== undefined };
    },
  };
}

export type AuditActivities = ReturnType<typeof createAuditActivities>;
