import { ApplicationFailure, proxyActivities, setHandler } from '@temporalio/workflow';
import type { KubeSphereActivities, RoleChangeResult } from '../activities/kubesphere.js';
import { formatProblems } from '../policy/names.js';
import { changeDirection, planRoleChange, type ChangeRoleInput } from '../policy/plan.js';
import { FailureType } from '../shared/failures.js';
import { kubeCall } from './activity-options.js';
import { ApprovalGate, DEFAULT_APPROVAL_TIMEOUT, parseDuration } from './approval.js';
import { stateQuery, type ChangeRoleResult, type OnboardingState } from './definitions.js';
import { describeFailure, setLifecycle } from './onboard-user.js';

const ks = proxyActivities<KubeSphereActivities>(kubeCall);

/**
 * An explicit role change at platform, workspace or project scope: the only path that replaces a role.
 * Same policy and approval rules as onboarding; the result says whether it was an upgrade or a downgrade.
 */
export async function changeRole(input: ChangeRoleInput): Promise<ChangeRoleResult> {
  const planned = planRoleChange(input);
  const attributes = { username: input.username, workspace: input.workspace };
  const state: OnboardingState = { lifecycle: 'validating', username: String(input.username), steps: [] };
  setHandler(stateQuery, () => state);
  if (!planned.ok) {
    setLifecycle(state, 'failed', attributes);
    throw ApplicationFailure.create({
      type: FailureType.PolicyViolation,
      message: `invalid role change: ${formatProblems(planned.problems)}`,
      nonRetryable: true,
      details: [planned.problems],
    });
  }
  const plan = planned.plan;
  const target =
    plan.scope === 'platform'
      ? 'platform'
      : plan.scope === 'workspace'
        ? plan.workspace!
        : `${plan.cluster ?? 'host'}/${plan.project}`;
  state.steps = [{ step: 'role', target, outcome: 'pending', requestedRole: plan.role }];
  const gate = new ApprovalGate(
    plan.elevated,
    parseDuration(input.policy?.approvalTimeout, DEFAULT_APPROVAL_TIMEOUT),
    input.requestedBy,
  );
  state.approval = gate.state;

  try {
    if (gate.pending) {
      setLifecycle(state, 'awaiting-approval', attributes);
      await gate.wait();
    }
    setLifecycle(state, 'running', attributes);
    const summary = `set ${plan.scope} role of ${plan.username} on ${target} to ${plan.role}`;
    let change: RoleChangeResult;
    if (plan.scope === 'platform') {
      change = await ks.setGlobalRole.executeWithOptions({ ...kubeCall, summary }, [
        { username: plan.username, role: plan.role },
      ]);
    } else if (plan.scope === 'workspace') {
      change = await ks.setWorkspaceRole.executeWithOptions({ ...kubeCall, summary }, [
        { workspace: plan.workspace!, username: plan.username, role: plan.role },
      ]);
    } else {
      change = await ks.setProjectRole.executeWithOptions({ ...kubeCall, summary }, [
        { project: plan.project!, cluster: plan.cluster, username: plan.username, role: plan.role },
      ]);
    }
    Object.assign(state.steps[0]!, { outcome: change.outcome, existingRole: change.from });
    setLifecycle(state, 'done', attributes);
    const keyOf = (role: string) =>
      plan.scope === 'workspace' && role.startsWith(`${plan.workspace}-`)
        ? role.slice(plan.workspace!.length + 1)
        : role;
    return {
      username: plan.username,
      scope: plan.scope,
      target,
      from: change.from,
      to: change.to,
      direction: changeDirection(plan.scope, change.from ? keyOf(change.from) : undefined, plan.roleKey),
      ...(gate.state ? { approval: gate.state } : {}),
    };
  } catch (error) {
    setLifecycle(state, 'failed', attributes);
    const cause = describeFailure(error);
    state.error = cause;
    if (state.steps[0]?.outcome === 'pending') state.steps[0].outcome = 'failed';
    throw ApplicationFailure.create({
      type: cause.type,
      message: `role change for ${plan.username} failed: ${cause.message}`,
      nonRetryable: true,
      details: [state],
    });
  }
}
