import type { Client } from '@temporalio/client';
import { roleChangeTarget, type ChangeRoleInput, type OnboardUserInput } from '../policy/plan.js';
import { WORKFLOW_ID, type ChangeRoleResult, type OnboardingState } from '../workflows/definitions.js';

type OnboardUser = (input: OnboardUserInput) => Promise<OnboardingState>;
type ChangeRole = (input: ChangeRoleInput) => Promise<ChangeRoleResult>;

/**
 * Starts `onboard-<username>`; a start while one is running attaches to it (USE_EXISTING) instead of
 * doing the work twice. A finished one may run again: every step is idempotent.
 */
export function startOnboarding(
  client: Client,
  taskQueue: string,
  input: OnboardUserInput,
  workflowId = WORKFLOW_ID.onboard(input.username),
) {
  const where = [input.workspace, input.project].filter(Boolean).join('/');
  return client.workflow.start<OnboardUser>('onboardUser', {
    taskQueue,
    workflowId,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `onboard ${input.username}${where ? ` into ${where}` : ''}`,
    staticDetails: `requested by ${input.requestedBy ?? 'unknown'}${input.batchId ? ` in batch ${input.batchId}` : ''}`,
  });
}

export function startRoleChange(client: Client, taskQueue: string, input: ChangeRoleInput) {
  const target = roleChangeTarget(input);
  return client.workflow.start<ChangeRole>('changeRole', {
    taskQueue,
    workflowId: WORKFLOW_ID.changeRole(input.username, input.scope, target),
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `set ${input.scope} role of ${input.username} on ${target} to ${input.role}`,
    staticDetails: `requested by ${input.requestedBy ?? 'unknown'}`,
  });
}
