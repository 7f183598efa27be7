import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { SA, stateQuery, type OnboardingState } from '../workflows/definitions.js';
import type { HireEventResult } from '../workflows/hire-event.js';

/** What `GET /v1/onboardings/<id>` shows: where a hire stands, with no secret and no email. */
export interface OnboardingStatus {
  workflowId: string;
  status: string;
  lifecycle?: string;
  scheduledFor?: string;
  requestedBy?: string;
  steps?: { step: string; target: string; outcome: string; error?: string }[];
  approval?: { grants: string[]; deadline: string; decision?: { approve: boolean; by: string; at: string } };
  error?: string;
  /** a lookup (a hire named by ids) that proposed this onboarding */
  onboardingWorkflowId?: string;
}

// Failure messages may name a mismatching account's email: never shown here.
const EMAIL = /[^\s"'<>(),;:]+@[^\s"'<>(),;:]+/g;
export const scrubEmails = (text: string) => text.replace(EMAIL, '<email>').slice(0, 500);

/** Undefined: no such workflow of ours. */
export async function onboardingStatus(
  client: Client,
  prefix: string,
  workflowId: string,
): Promise<OnboardingStatus | undefined> {
  if (!workflowId.startsWith(`${prefix}onboard-`) && !workflowId.startsWith(`${prefix}hr-`)) return undefined;
  const handle = client.workflow.getHandle(workflowId);
  let description;
  try {
    description = await handle.describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
  const status = description.status.name;
  // HR's token reads HR's onboardings only: not who asked for one in ks-onboard, nor how it went.
  const source = description.searchAttributes[SA.source.name];
  if (!Array.isArray(source) || typeof source[0] !== 'string' || !source[0].startsWith('hr:')) return undefined;
  if (description.type === 'hireEvent') {
    if (status === 'RUNNING') return { workflowId, status };
    if (status !== 'COMPLETED') return { workflowId, status, ...(await failureOf(handle)) };
    const result = (await handle.result()) as HireEventResult;
    return { workflowId, status, onboardingWorkflowId: result.onboardingWorkflowId };
  }
  if (description.type !== 'onboardUser') return undefined;
  let state: OnboardingState | undefined;
  if (status === 'RUNNING') state = await handle.query(stateQuery);
  else if (status === 'COMPLETED') state = (await handle.result()) as OnboardingState;
  // A run that ended without a result (failed, cancelled) is not replayed to read its state: its end says enough.
  const ended = status === 'CANCELLED' ? 'cancelled' : status === 'COMPLETED' ? undefined : 'failed';
  return {
    workflowId,
    status,
    ...(state ? view(state) : ended ? { lifecycle: ended } : {}),
    ...(status === 'FAILED' ? await failureOf(handle) : {}),
  };
}

function view(state: OnboardingState): Omit<OnboardingStatus, 'workflowId' | 'status'> {
  return {
    lifecycle: state.lifecycle,
    ...(state.scheduledFor ? { scheduledFor: state.scheduledFor } : {}),
    ...(state.requestedBy ? { requestedBy: state.requestedBy } : {}),
    steps: state.steps.map((s) => ({
      step: s.step,
      target: s.target,
      outcome: s.outcome,
      ...(s.error ? { error: scrubEmails(s.error.message) } : {}),
    })),
    ...(state.approval
      ? {
          approval: {
            grants: state.approval.grants.map((g) => `${g.scope}:${g.role} on ${g.target}`),
            deadline: state.approval.deadline,
            ...(state.approval.decision
              ? {
                  decision: {
                    approve: state.approval.decision.approve,
                    by: state.approval.decision.by,
                    at: state.approval.decision.at,
                  },
                }
              : {}),
          },
        }
      : {}),
    ...(state.error ? { error: scrubEmails(state.error.message) } : {}),
  };
}

/** Why a closed run did not complete. */
async function failureOf(handle: { result(): Promise<unknown> }): Promise<{ error?: string }> {
  try {
    await handle.result();
    return {};
  } catch (error) {
    const cause = error instanceof WorkflowFailedError ? (error.cause ?? error) : error;
    return { error: scrubEmails(cause instanceof Error ? cause.message : String(cause)) };
  }
}
