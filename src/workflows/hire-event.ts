import {
  ApplicationFailure,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { HrActivities } from '../activities/hr.js';
import type { TrustActivities } from '../activities/trust.js';
import { FailureType } from '../failures.js';
import { formatProblems, quote } from '../policy/names.js';
import { hrSourceSchema, parseInput } from '../policy/requests.js';
import { hrCall, policyCall } from './activity-options.js';
import { WORKFLOW_ID, type Lifecycle } from './definitions.js';
import { describeFailure } from './failure.js';

// A normal activity here, retried for half an hour: a vendor's outage shows in the Web UI as a retrying step, and
// nothing is trusted from it (the onboarding it proposes reads the delivery again itself, as a local activity).
const LOOKUP: ActivityOptions = {
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '30m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
};
const lookup = proxyActivities<HrActivities>(LOOKUP);
const hr = proxyLocalActivities<HrActivities>(hrCall);
const local = proxyLocalActivities<TrustActivities>(policyCall);

export interface HireEventResult {
  /** the person's onboarding, proposed with this delivery */
  onboardingWorkflowId: string;
  /** where it stood when proposed */
  lifecycle: Lifecycle;
}

/**
 * A hire the webhook named only by ids (HiBob, BambooHR's event webhooks): the worker reads the employee's record
 * from the vendor's API, then proposes `onboard-<username>` with the delivery. The onboarding verifies the delivery
 * again itself; this workflow decides nothing. Its id is the event's, so a duplicate delivery starts nothing.
 */
export async function hireEvent(input: unknown): Promise<HireEventResult> {
  const parsed = parseInput(hrSourceSchema, input);
  const fail = (type: string, message: string) => ApplicationFailure.create({ type, message, nonRetryable: true });
  if (!parsed.ok) throw fail(FailureType.DeliveryRefused, `invalid HR delivery: ${formatProblems(parsed.problems)}`);
  const source = parsed.value;
  const policy = await local.workerPolicy();
  const prefix = policy.workflowIdPrefix ?? '';
  const expected = WORKFLOW_ID.hireEvent(source.vendor, source.eventId, prefix);
  if (workflowInfo().workflowId !== expected || !source.eventId.startsWith(`${source.vendor}:`))
    throw fail(FailureType.PolicyViolation, `this delivery runs only as workflow ${quote(expected)}: once per event`);
  let reading;
  try {
    reading = await lookup.readHire.executeWithOptions(
      { ...LOOKUP, summary: `read the hire's record from ${source.vendor}` },
      [
        {
          vendor: source.vendor,
          eventId: source.eventId,
          delivery: source.delivery,
          runStartedAt: workflowInfo().runStartTime.getTime(),
        },
      ],
    );
  } catch (error) {
    // The record could not be read or placed (or the vendor stayed down): said as what it is, on the lookup itself.
    const cause = describeFailure(error);
    throw fail(cause.type, cause.message);
  }
  const proposed = await hr.proposeHire({ source, request: reading.request, prefix });
  if ('conflict' in proposed) throw fail(FailureType.RequestConflict, proposed.conflict);
  if (proposed.answer.error)
    throw fail(proposed.answer.error.type, `${proposed.workflowId}: ${proposed.answer.error.message}`);
  return { onboardingWorkflowId: proposed.workflowId, lifecycle: proposed.answer.lifecycle };
}
