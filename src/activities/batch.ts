import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { digestOf } from '../codec/proof.js';
import { FailureType } from '../failures.js';
import { batchPersonSchema, type BatchPerson } from '../policy/batch.js';
import { quote } from '../policy/names.js';
import { requestDifferences } from '../policy/plan.js';
import { partPeopleQuery, partTakenSignal } from '../workflows/batch-definitions.js';
import { requestQuery, watchSignal, type RowUpdate } from '../workflows/definitions.js';
import { failure } from './to-failure.js';

export interface AttachInput {
  /** the person's workflow, already running when the batch tried to start it */
  workflowId: string;
  /** the batch row's request, as `onboardingFields` lists it */
  fields: Record<string, string>;
  /** the batch to tell when that run ends */
  watcher: string;
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
      try {
        const description = await handle.describe();
        if (description.status.name !== 'RUNNING') return { ended: true };
        const running = await handle.query(requestQuery);
        if (!running) return { conflict: `${input.workflowId} is running a request that is not valid` };
        const differences = requestDifferences(running, input.fields);
        if (differences.length)
          return {
            conflict: `${input.workflowId} is already running a different request: ${differences
              .map((d) => `${d.field} ${quote(d.running)} (running) vs ${quote(d.asked)} (this row)`)
              .join('; ')}`,
          };
        await handle.signal(watchSignal, input.watcher);
        return { attached: true, runId: description.runId };
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return { ended: true };
        throw error;
      }
    },
  };
}

export type BatchActivities = ReturnType<typeof createBatchActivities>;
export type { RowUpdate };
