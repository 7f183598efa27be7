import {
  ApplicationFailure,
  executeChild,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { KubeSphereActivities, RoleChangeResult } from '../activities/kubesphere.js';
import { FailureType } from '../failures.js';
import type { Authority, PendingGrant } from '../policy/authority.js';
import { changeDirection, planRoleChange, roleChangeFields, type RoleChangePlan } from '../policy/plan.js';
import { changeRoleInputSchema, parseInput, type ChangeRoleInput } from '../policy/requests.js';
import { isElevated, type WorkerPolicy } from '../policy/worker-policy.js';
import { kubeCall, verifyCall } from './activity-options.js';
import { PLATFORM_ADMIN_DEMOTION_ID, WORKFLOW_ID, type ChangeRoleResult, type OnboardingState } from './definitions.js';
import type { Labels } from './labels.js';
import { RequestSession, type ProposedRequest } from './session.js';
import { heldDetails, writeUnlessPaused } from './held-writes.js';

const ks = proxyActivities<KubeSphereActivities>(kubeCall);
const reads = proxyLocalActivities<KubeSphereActivities>(verifyCall);

function requestOf(input: unknown): ProposedRequest | undefined {
  const parsed = parseInput(changeRoleInputSchema, input);
  const planned = parsed.ok ? planRoleChange(parsed.value) : undefined;
  if (!parsed.ok || !planned?.ok) return undefined;
  const fields = roleChangeFields(planned.plan);
  return { fields, proofFields: fields, source: parsed.value.source };
}

/**
 * An explicit role change at platform, workspace or project scope: the only path that replaces a role.
 * A change from or to an elevated role waits for an approval; the worker's own account and the last
 * platform-admin are never changed; platform-admin demotions run one at a time.
 */
export async function changeRole(input: ChangeRoleInput): Promise<ChangeRoleResult> {
  const labels: Labels = typeof input === 'object' && input !== null ? (input as Labels) : {};
  const username = typeof labels.username === 'string' ? labels.username.slice(0, 253) : '';
  const state: OnboardingState = { lifecycle: 'validating', username, steps: [] };
  const session = new RequestSession(state, labels, requestOf, input);

  const parsed = parseInput(changeRoleInputSchema, input);
  const planned = parsed.ok ? planRoleChange(parsed.value) : parsed;
  if (!parsed.ok || !planned.ok) return session.refuse('role change', planned.ok ? [] : planned.problems);
  const plan = planned.plan;
  const step = {
    step: 'role' as const,
    target: plan.target,
    outcome: 'pending' as 'pending' | 'failed' | RoleChangeResult['outcome'],
    requestedRole: plan.role,
  };
  state.steps = [step];

  /** Protected accounts, membership, and whether the role being replaced is itself elevated. */
  const extraChecks = async (policy: WorkerPolicy, _requester: Authority): Promise<PendingGrant[]> => {
    if (policy.workerAccount && plan.username === policy.workerAccount) {
      throw ApplicationFailure.create({
        type: FailureType.ProtectedAccount,
        message: `${plan.username} is the worker's own account: never changed`,
        nonRetryable: true,
      });
    }
    // what the role is now decides whether the change waits for an approval: read by the worker itself
    const { role: current } = await reads.readRole({
      scope: plan.scope,
      username: plan.username,
      workspace: plan.workspace,
      project: plan.project,
      cluster: plan.cluster,
    });
    if (!current)
      throw ApplicationFailure.create({
        type: FailureType.NotAMember,
        message: `${plan.username} has no ${plan.scope} role on ${plan.target}: invite them first`,
        nonRetryable: true,
      });
    const currentKey = roleKeyOf(plan, current);
    return current !== plan.role && isElevated(policy, plan.scope, currentKey)
      ? [{ ...plan.grant, why: 'changes an elevated role' }]
      : [];
  };

  return session.run(
    {
      what: 'role change',
      workflowId: WORKFLOW_ID.changeRole(plan.username, plan.scope, plan.target),
      grants: [plan.grant],
      extraChecks,
    },
    async () => {
      session.checkFresh();
      const applying = `changing the ${plan.scope} role of ${plan.username} on ${plan.target} to ${plan.role}`;
      const change = await writeUnlessPaused(() => apply(plan, session.policy?.workflowIdPrefix ?? ''), {
        onHold: (pause) => setCurrentDetails(pause ? heldDetails(applying, pause) : applying),
        afterHold: () => session.recheckAfterPause(),
      });
      Object.assign(step, { outcome: change.outcome, existingRole: change.from });
      return {
        ...state,
        lifecycle: 'done',
        scope: plan.scope,
        target: plan.target,
        from: change.from,
        to: change.to,
        direction: changeDirection(plan.scope, change.from ? roleKeyOf(plan, change.from) : undefined, plan.roleKey),
      };
    },
    (cause, error) => {
      if (step.outcome === 'pending') step.outcome = 'failed';
      return ApplicationFailure.create({
        type: cause.type,
        message: `role change for ${plan.username} failed: ${cause.message}`,
        nonRetryable: true,
        details: [state],
        cause: error instanceof Error ? error : undefined,
      });
    },
  );
}

function roleKeyOf(plan: RoleChangePlan, role: string): string {
  return plan.scope === 'workspace' ? role.slice(plan.workspace!.length + 1) : role;
}

async function apply(plan: RoleChangePlan, idPrefix: string): Promise<RoleChangeResult> {
  const options = {
    ...kubeCall,
    summary: `set ${plan.scope} role of ${plan.username} on ${plan.target} to ${plan.role}`,
  };
  const member = { username: plan.username, role: plan.role };
  switch (plan.scope) {
    case 'platform':
      return setPlatformRoleOneAtATime(member, `${idPrefix}${PLATFORM_ADMIN_DEMOTION_ID}`);
    case 'workspace':
      return ks.setWorkspaceRole.executeWithOptions(options, [{ ...member, workspace: plan.workspace! }]);
    case 'project':
      return ks.setProjectRole.executeWithOptions(options, [
        { ...member, project: plan.project!, cluster: plan.cluster },
      ]);
  }
}

/** How long a platform role change waits for another to release the lock before it says so and fails. */
const LOCK_WAIT_MS = 10 * 60_000;
/** How long after its start the platform-role child may still change a role (its retries fit well within). */
const CHILD_FRESH_MS = 15 * 60_000;

/**
 * Platform role changes run one at a time under one workflow id, so that two demotions cannot each count
 * the other platform-admin and both succeed: the activity counts the admins right before it writes.
 * The wait is bounded: a lock held for long (e.g. a workflow someone else started under that id) is reported.
 */
async function setPlatformRoleOneAtATime(
  member: { username: string; role: string },
  lockId: string,
): Promise<RoleChangeResult> {
  const giveUpAt = Date.now() + LOCK_WAIT_MS;
  for (let pause = 1_000; ; pause = Math.min(pause * 2, 30_000)) {
    try {
      // the child acts only soon after this: a Reset of it long after cannot replay an old change
      const notAfter = new Date(Date.now() + CHILD_FRESH_MS).toISOString();
      return await executeChild(setPlatformRole, {
        workflowId: lockId,
        args: [{ ...member, notAfter }],
        staticSummary: `set the platform role of ${member.username} to ${member.role}`,
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      if (Date.now() >= giveUpAt)
        throw ApplicationFailure.create({
          type: FailureType.LockBusy,
          message: `another platform role change has held workflow ${lockId} for ${LOCK_WAIT_MS / 60_000} minutes; if it is not ks-onboard's, terminate it and request again`,
          nonRetryable: true,
        });
      await sleep(pause);
    }
  }
}

/**
 * The child that holds the platform-role lock while it runs. It has no policy of its own: it runs only
 * as the last step of a `changeRole` that passed its checks and approval. A client can start workflows
 * but not children, so a start of this type from outside is refused.
 */
export async function setPlatformRole(change: {
  username: string;
  role: string;
  notAfter: string;
}): Promise<RoleChangeResult> {
  const { notAfter, ...member } = change;
  if (!workflowInfo().parent)
    throw ApplicationFailure.create({
      type: FailureType.PolicyViolation,
      message: 'setPlatformRole runs only as a step of an approved changeRole; use change-role',
      nonRetryable: true,
    });
  if (!(Date.now() <= Date.parse(notAfter)))
    throw ApplicationFailure.create({
      type: FailureType.ApprovalRefused,
      message: `this platform role change was due by ${notAfter}: request it again`,
      nonRetryable: true,
    });
  return ks.setGlobalRole.executeWithOptions(
    { ...kubeCall, summary: `set the platform role of ${member.username} to ${member.role}` },
    [member],
  );
}
