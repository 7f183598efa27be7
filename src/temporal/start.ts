import {
  WithStartWorkflowOperation,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { grantsDigest, requestDigest, sealProof } from '../codec/proof.js';
import type { Grant } from '../policy/plan.js';
import {
  onboardingProofFields,
  planOnboarding,
  planRoleChange,
  roleChangeFields,
  roleChangeTarget,
  type OnboardRequest,
  type RoleChangeRequest,
} from '../policy/plan.js';
import type { ChangeRoleInput, OnboardUserInput } from '../policy/requests.js';
import type { changeRole } from '../workflows/change-role.js';
import { WORKFLOW_ID, proposeUpdate, type DecisionInput, type RequestAnswer } from '../workflows/definitions.js';
import type { onboardUser } from '../workflows/onboard-user.js';
import type { StartLabels } from '../intake/start-options.js';

/** A request another run of the same workflow id is already working on differently: never merged, never dropped. */
export class RequestConflictError extends Error {
  override readonly name = 'RequestConflictError';
}

export interface Proposed<W extends typeof onboardUser | typeof changeRole> {
  handle: WorkflowHandle<W>;
  /** the worker's plan: what waits for an approval, or why the request was refused */
  answer: RequestAnswer;
}

/**
 * Starts `onboard-<username>`, or reaches the run already going under that id (update-with-start): the
 * worker answers with its plan for the same request, and refuses a different one, naming the difference.
 * A finished onboarding may run again: every step is idempotent.
 */
export function proposeOnboarding(
  client: Client,
  taskQueue: string,
  input: OnboardUserInput,
  workflowId = WORKFLOW_ID.onboard(input.username),
  labels?: StartLabels & { workflowIdReusePolicy?: 'ALLOW_DUPLICATE' | 'REJECT_DUPLICATE' },
): Promise<Proposed<typeof onboardUser>> {
  const where = [input.workspace, input.project].filter(Boolean).join('/');
  const start = new WithStartWorkflowOperation<typeof onboardUser>('onboardUser', {
    taskQueue,
    workflowId,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `onboard ${input.username}${where ? ` into ${where}` : ''}`,
    ...(input.batchId ? { staticDetails: `in batch ${input.batchId}` } : {}),
    ...(input.source.kind === 'hr' ? { staticDetails: `new hire, HR event ${input.source.eventId}` } : {}),
    ...labels,
  });
  return propose(client, start, input);
}

export function proposeRoleChange(
  client: Client,
  taskQueue: string,
  input: ChangeRoleInput,
  workflowId = WORKFLOW_ID.changeRole(input.username, input.scope, roleChangeTarget(input)),
): Promise<Proposed<typeof changeRole>> {
  const start = new WithStartWorkflowOperation<typeof changeRole>('changeRole', {
    taskQueue,
    workflowId,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `set ${input.scope} role of ${input.username} on ${roleChangeTarget(input)} to ${input.role}`,
  });
  return propose(client, start, input);
}

/** Who asks: their KubeSphere token, sealed with the workers' public key into a proof bound to the request. */
export interface Requester {
  token: string;
  publicKey: string;
}

/** The source of a request: the requester's token sealed into a proof bound to the workflow and these fields. */
export function requesterSource(
  requester: Requester,
  workflowId: string,
  fields: Record<string, string>,
): { kind: 'requester'; proof: string } {
  const digest = requestDigest(fields);
  const proof = sealProof({ purpose: 'request', token: requester.token, workflowId, digest }, requester.publicKey);
  return { kind: 'requester', proof };
}

/**
 * The workflow input for a request, with the requester's proof bound to exactly what is asked. Throws
 * on an invalid request: check it with planOnboarding first to report the problems.
 */
export function onboardingInput(
  request: OnboardRequest,
  requester: Requester,
  workflowId = WORKFLOW_ID.onboard(request.username),
): OnboardUserInput {
  const planned = planOnboarding(request);
  if (!planned.ok) throw new Error(`invalid onboarding request: ${planned.problems.map((p) => p.field).join(', ')}`);
  return {
    ...request,
    source: requesterSource(requester, workflowId, onboardingProofFields(planned.plan, request.batchId)),
  };
}

export function roleChangeInput(
  request: RoleChangeRequest,
  requester: Requester,
  workflowId = WORKFLOW_ID.changeRole(request.username, request.scope, roleChangeTarget(request)),
): ChangeRoleInput {
  const planned = planRoleChange(request);
  if (!planned.ok) throw new Error(`invalid role change: ${planned.problems.map((p) => p.field).join(', ')}`);
  return { ...request, source: requesterSource(requester, workflowId, roleChangeFields(planned.plan)) };
}

/** A decision on the grants a run waits for, with the decider's proof bound to that run and those grants. */
export function decisionInput(
  target: { workflowId: string; runId: string; grants: Grant[] },
  decider: Requester,
  approve: boolean,
  reason?: string,
): DecisionInput {
  const digest = grantsDigest(target.grants);
  const purpose = approve ? 'approve' : 'reject';
  const proof = sealProof(
    { purpose, token: decider.token, workflowId: target.workflowId, runId: target.runId, digest },
    decider.publicKey,
  );
  return { approve, ...(reason ? { reason } : {}), proof };
}

async function propose<W extends typeof onboardUser | typeof changeRole>(
  client: Client,
  start: WithStartWorkflowOperation<W>,
  input: unknown,
): Promise<Proposed<W>> {
  try {
    const answer = await client.workflow.executeUpdateWithStart(proposeUpdate, {
      args: [input],
      startWorkflowOperation: start,
    });
    return { handle: await start.workflowHandle(), answer };
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure)
      throw new RequestConflictError(error.cause.message);
    throw error;
  }
}
