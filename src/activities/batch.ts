import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { digestOf } from '../codec/proof.js';
import { FailureType } from '../failures.js';
import { batchPersonSchema, type BatchPerson } from '../policy/batch.js';
import { quote } from '../policy/names.js';
import { requestDifferences } from '../policy/plan.js';
import { partPeopleQuery, partTakenSignal } from '../workflows/batch-definitions.js';
import { requestQuery, stateQuery, watchSignal, type RowUpdate } from '../workflows/definitions.js';
import { failure } from './to-failure.js';

export interface AttachInput {
  /** the person's workflow, already running when the batch tried to start it */
  workflowId: string;
  /** the batch row's request, as `onboardingFields` lists it */
  fields: Record<string, string>;
  /** the batch's requester: someone else's request is not merged with theirs */
  requester: string;
  /** the batch to tell when that run ends */
  watcher: string;
}

/** How a row's run ended, as Temporal recorded it (never as a notice said). */
export interface RowEnd {
  lifecycle: 'done' | 'failed';
  error?: { type: string; message: string };
}

/** The same request is attached to; a different one is a conflict; one that ended meanwhile is started again. */
export type AttachResult = { attached: true; runId: string } | { conflict: string } | { ended: true };

/**
 * What a batch asks of Temporal itself (never of KubeSphere): the rows a part workflow holds, and whether a
 * person's running onboarding is the same request as a row's. Run as local activities by the batch.
 */
export function createBatchActivities(client: Client) {
  return {
    async takePart(input: { workflowId: string; digest: string }): Promise<BatchPerson[]> {
      const handle = client.workflow.getHandle(input.workflowId);
      let people: unknown;
      try {
        people = await handle.query(partPeopleQuery);
      } catch (error) {
        if (error instanceof WorkflowNotFoundError)
          throw failure(FailureType.Missing, `part ${input.workflowId} is gone: its rows cannot be taken`, true);
        throw error;
      }
      const parsed = batchPersonSchema.array().safeParse(people);
      if (!parsed.success || digestOf(parsed.data) !== input.digest)
        throw failure(
          FailureType.RequesterRefused,
          `part ${input.workflowId} holds other rows than the batch's requester proposed`,
          true,
        );
      await handle.signal(partTakenSignal).catch(() => undefined);
      return parsed.data;
    },

    async attachToRunning(input: AttachInput): Promise<AttachResult> {
      const handle = client.workflow.getHandle(input.workflowId);
      let description;
      try {
        description = await handle.describe();
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return { ended: true };
        throw error;
      }
      if (description.status.name !== 'RUNNING') return { ended: true };
      const run = client.workflow.getHandle(input.workflowId, description.runId);
      let running: Record<string, string> | undefined;
      let requestedBy: string | undefined;
      try {
        running = await run.query(requestQuery);
        requestedBy = (await run.query(stateQuery)).requestedBy;
      } catch {
        // Not one of our onboardings (or not answering): whatever it is, it holds the person's id.
        return { conflict: `${input.workflowId} is held by a workflow that does not answer as an onboarding` };
      }
      if (!running) return { conflict: `${input.workflowId} is running a request that is not valid` };
      const differences = requestDifferences(running, input.fields);
      if (differences.length)
        return {
          conflict: `${input.workflowId} is already running a different request: ${differences
            .map((d) => `${d.field} ${quote(d.running)} (running) vs ${quote(d.asked)} (this row)`)
            .join('; ')}`,
        };
      if (requestedBy !== undefined && requestedBy !== input.requester)
        return {
          conflict: `${input.workflowId} is already requested by ${requestedBy}; a row requested by ${input.requester} is not merged into it`,
        };
      try {
        await run.signal(watchSignal, input.watcher);
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return { ended: true };
        throw error;
      }
      return { attached: true, runId: description.runId };
    },

    /**
     * How a row's run ended, read from Temporal: a row's notice is only a hint (anyone may signal a batch).
     * Waits up to `waitMs` for a run that says it is about to end; undefined while it runs.
     */
    async rowEnded(input: { workflowId: string; runId?: string; waitMs: number }): Promise<RowEnd | undefined> {
      const handle = client.workflow.getHandle(input.workflowId, input.runId, { followRuns: false });
      // Polled, not long-polled: a forged notice for a row that waits days must not leave a wait behind.
      const deadline = Date.now() + input.waitMs;
      for (;;) {
        let status: string;
        try {
          status = (await handle.describe()).status.name;
        } catch (error) {
          if (error instanceof WorkflowNotFoundError) return undefined;
          throw error;
        }
        if (status !== 'RUNNING') break;
        if (Date.now() >= deadline) return undefined;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      try {
        const state = (await handle.result()) as { lifecycle?: string } | undefined;
        return { lifecycle: state?.lifecycle === 'done' ? 'done' : 'failed' };
      } catch (error) {
        const cause = error instanceof WorkflowFailedError ? error.cause : error;
        const type = cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : 'Error';
        const message = cause instanceof Error ? cause.message : 'failed';
        return { lifecycle: 'failed', error: { type, message: message.slice(0, 500) } };
      }
    },
  };
}

export type BatchActivities = ReturnType<typeof createBatchActivities>;
export type { RowUpdate };
