import { ApplicationFailure, proxyActivities, setHandler } from '@temporalio/workflow';
import type { KubeSphereActivities, RoleChangeResult } from '../activities/kubesphere.js';
import { changeDirection, planRoleChange, type ChangeRoleInput, type RoleChangePlan } from '../policy/plan.js';
import { kubeCall } from './activity-options.js';
import { stateQuery, type ChangeRoleResult, type OnboardingState } from './definitions.js';
import { approveThenRun, refuse } from './lifecycle.js';

const ks = proxyActivities<KubeSphereActivities>(kubeCall);

/**
 * An explicit role change at platform, workspace or project scope: the only path that replaces a role.
 * Same policy and approval rules as onboarding; the result says whether it was an upgrade or a downgrade.
 */
export async function changeRole(input: ChangeRoleInput): Promise<ChangeRoleResult> {
  const planned = planRoleChange(input);
  const labels = { username: input.username, workspace: input.workspace };
  const state: OnboardingState = { lifecycle: 'validating', username: String(input.username), steps: [] };
  setHandler(stateQuery, () => state);
  if (!planned.ok) refuse(state, labels, 'role change', planned.problems);
  const plan = planned.plan;
  const target = plan.target;
  const step = {
    step: 'role' as const,
    target,
    outcome: 'pending' as 'pending' | 'failed' | RoleChangeResult['outcome'],
    requestedRole: plan.role,
  };
  state.steps = [step];

  return approveThenRun(
    { state, labels, grants: plan.elevated, policy: input.policy, requestedBy: input.requestedBy },
    async () => {
      const change = await apply(plan, `set ${plan.scope} role of ${plan.username} on ${target} to ${plan.role}`);
      Object.assign(step, { outcome: change.outcome, existingRole: change.from });
      const keyOf = (role: string) => (plan.scope === 'workspace' ? role.slice(plan.workspace!.length + 1) : role);
      return {
        username: plan.username,
        scope: plan.scope,
        target,
        from: change.from,
        to: change.to,
        direction: changeDirection(plan.scope, change.from ? keyOf(change.from) : undefined, plan.roleKey),
        ...(state.approval ? { approval: state.approval } : {}),
      };
    },
    (cause) => {
      if (step.outcome === 'pending') step.outcome = 'failed';
      return ApplicationFailure.create({
        type: cause.type,
        message: `role change for ${plan.username} failed: ${cause.message}`,
        nonRetryable: true,
        details: [state],
      });
    },
  );
}

function apply(plan: RoleChangePlan, summary: string): Promise<RoleChangeResult> {
  const options = { ...kubeCall, summary };
  const member = { username: plan.username, role: plan.role };
  switch (plan.scope) {
    case 'platform':
      return ks.setGlobalRole.executeWithOptions(options, [member]);
    case 'workspace':
      return ks.setWorkspaceRole.executeWithOptions(options, [{ ...member, workspace: plan.workspace! }]);
    case 'project':
      return ks.setProjectRole.executeWithOptions(options, [
        { ...member, project: plan.project!, cluster: plan.cluster },
      ]);
  }
}
