import type { SearchAttributePair } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, TimeoutFailure, upsertSearchAttributes } from '@temporalio/workflow';
import { formatProblems, type Problem } from '../policy/names.js';
import type { Grant, PolicyOptions } from '../policy/plan.js';
import { FailureType } from '../failures.js';
import { ApprovalGate, DEFAULT_APPROVAL_TIMEOUT, parseDuration } from './approval.js';
import { SA, type Lifecycle, type OnboardingState } from './definitions.js';

/** What the search attributes say about a workflow besides its lifecycle. */
export interface Labels {
  username?: unknown;
  workspace?: unknown;
  batchId?: unknown;
}

/** Records the lifecycle in the state query and in `OnboardingState`, with the other labels. */
export function setLifecycle(state: { lifecycle: Lifecycle }, lifecycle: Lifecycle, labels: Labels): void {
  state.lifecycle = lifecycle;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const attributes: SearchAttributePair[] = [{ key: SA.state, value: lifecycle }];
  const username = text(labels.username);
  const workspace = text(labels.workspace);
  const batchId = text(labels.batchId);
  if (username) attributes.push({ key: SA.username, value: username });
  if (workspace) attributes.push({ key: SA.workspace, value: workspace });
  if (batchId) attributes.push({ key: SA.batchId, value: batchId });
  upsertSearchAttributes(attributes);
}

/** Fails a request that breaks the policy, before any call, naming each field. */
export function refuse(state: OnboardingState, labels: Labels, what: string, problems: Problem[]): never {
  setLifecycle(state, 'failed', labels);
  state.error = { type: FailureType.PolicyViolation, message: formatProblems(problems) };
  throw ApplicationFailure.create({
    type: FailureType.PolicyViolation,
    message: `invalid ${what}: ${state.error.message}`,
    nonRetryable: true,
    details: [problems],
  });
}

export function describeFailure(error: unknown): { type: string; message: string } {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Error', message: cause.message };
  if (cause instanceof TimeoutFailure)
    return { type: 'Timeout', message: `gave up after the step's time limit (${cause.timeoutType})` };
  return { type: 'Error', message: cause instanceof Error ? cause.message : String(cause) };
}

/**
 * The shape both workflows share: wait for the approval of elevated grants (if any), run the body, and
 * keep the lifecycle current. Must be called before the workflow's first await, so that the approval
 * handlers exist when a decision arrives with the first task.
 */
export async function approveThenRun<T>(
  request: { state: OnboardingState; labels: Labels; grants: Grant[]; policy?: PolicyOptions; requestedBy?: string },
  body: () => Promise<T>,
  failure: (cause: { type: string; message: string }) => ApplicationFailure,
): Promise<T> {
  const { state, labels } = request;
  const gate = new ApprovalGate(
    request.grants,
    parseDuration(request.policy?.approvalTimeout, DEFAULT_APPROVAL_TIMEOUT),
    request.requestedBy,
  );
  state.approval = gate.state;
  try {
    if (gate.pending) {
      setLifecycle(state, 'awaiting-approval', labels);
      await gate.wait();
    }
    setLifecycle(state, 'running', labels);
    const result = await body();
    setLifecycle(state, 'done', labels);
    return result;
  } catch (error) {
    setLifecycle(state, 'failed', labels);
    state.error = describeFailure(error);
    throw failure(state.error);
  }
}
