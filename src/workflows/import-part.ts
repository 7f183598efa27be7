import { ApplicationFailure, condition, proxyLocalActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { TrustActivities } from '../activities/trust.js';
import { policyCall } from './activity-options.js';
import { WORKFLOW_ID } from './definitions.js';
import { FailureType } from '../failures.js';
import { importPartInputSchema, type ImportPartInput } from '../policy/batch.js';
import { formatProblems } from '../policy/names.js';
import { parseInput } from '../policy/requests.js';
import { partPeopleQuery, partTakenSignal } from './batch-definitions.js';

const local = proxyLocalActivities<TrustActivities>(policyCall);

/** A part not taken within this long is let go (its batch is gone): the report counts its rows as not started. */
const HOLD_FOR = '30 days';

/**
 * Holds one part of a large batch (at most 500 people) inside Temporal until its batch takes it: the CLI and
 * the workers share no disk, and no single input may carry a whole large file. Changes nothing by itself;
 * the batch checks the rows against the digest its requester's proof covers.
 */
export async function importPart(input: ImportPartInput): Promise<{ taken: boolean }> {
  const parsed = parseInput(importPartInputSchema, input);
  if (!parsed.ok)
    throw ApplicationFailure.create({
      type: FailureType.PolicyViolation,
      message: `invalid import part: ${formatProblems(parsed.problems)}`,
      nonRetryable: true,
    });
  let taken = false;
  setHandler(partPeopleQuery, () => parsed.value.people);
  setHandler(partTakenSignal, () => {
    taken = true;
  });
  // Held only under its own id, so that it cannot squat another workflow's (a person's onboard-<username>).
  const policy = await local.workerPolicy();
  const own = `${WORKFLOW_ID.importBatch(parsed.value.batchId, policy.workflowIdPrefix ?? '')}-part-`;
  if (
    !workflowInfo().workflowId.startsWith(own) ||
    !/^\d{4}(-[0-9a-f]{8})?$/.test(workflowInfo().workflowId.slice(own.length))
  )
    throw ApplicationFailure.create({
      type: FailureType.PolicyViolation,
      message: `an import part runs only as ${own}NNNN`,
      nonRetryable: true,
    });
  await condition(() => taken, HOLD_FOR);
  return { taken };
}
