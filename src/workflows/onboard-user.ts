import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  setHandler,
  TimeoutFailure,
  upsertSearchAttributes,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { KubeSphereActivities, StepResult } from '../activities/kubesphere.js';
import { formatProblems } from '../policy/names.js';
import { planOnboarding, type OnboardUserInput, type OnboardingPlan } from '../policy/plan.js';
import { FailureType } from '../shared/failures.js';
import { kubeCall, kubeCallAwaitingRoles } from './activity-options.js';
import { ApprovalGate, DEFAULT_APPROVAL_TIMEOUT, parseDuration } from './approval.js';
import { SA, stateQuery, type Lifecycle, type OnboardingState, type StepName, type StepReport } from './definitions.js';

const ks = proxyActivities<KubeSphereActivities>(kubeCall);

/**
 * One person: user → workspace → project → workspace member → project member. Validated before any
 * call; elevated grants wait for an approval; every step is idempotent, so a retry or a re-run
 * creates nothing twice.
 */
export async function onboardUser(input: OnboardUserInput): Promise<OnboardingState> {
  const planned = planOnboarding(input);
  const state: OnboardingState = {
    lifecycle: 'validating',
    username: typeof input.username === 'string' ? input.username : '',
    steps: [],
  };
  setHandler(stateQuery, () => state);

  if (!planned.ok) {
    setLifecycle(state, 'failed', input);
    state.error = { type: FailureType.PolicyViolation, message: formatProblems(planned.problems) };
    throw ApplicationFailure.create({
      type: FailureType.PolicyViolation,
      message: `invalid onboarding request: ${state.error.message}`,
      nonRetryable: true,
      details: [planned.problems],
    });
  }
  const plan = planned.plan;
  state.steps = plannedSteps(plan);
  const gate = new ApprovalGate(
    plan.elevated,
    parseDuration(input.policy?.approvalTimeout, DEFAULT_APPROVAL_TIMEOUT),
    input.requestedBy,
  );
  state.approval = gate.state;

  try {
    if (gate.pending) {
      setLifecycle(state, 'awaiting-approval', input);
      await gate.wait();
    }
    setLifecycle(state, 'running', input);
    await runSteps(plan, state);
    setLifecycle(state, 'done', input);
    return state;
  } catch (error) {
    setLifecycle(state, 'failed', input);
    throw failedOnboarding(error, state);
  }
}

function plannedSteps(plan: OnboardingPlan): StepReport[] {
  const projectTarget = plan.project ? `${plan.project.cluster ?? 'host'}/${plan.project.name}` : '-';
  const step = (name: StepName, target: string, wanted: boolean, role?: string): StepReport => ({
    step: name,
    target,
    outcome: wanted ? 'pending' : 'skipped',
    ...(wanted && role ? { requestedRole: role } : {}),
  });
  return [
    step('user', plan.username, true, plan.globalRole),
    step('workspace', plan.workspace?.name ?? '-', plan.workspace !== undefined),
    step('project', projectTarget, plan.project !== undefined),
    step('workspace-member', plan.workspace?.name ?? '-', plan.workspace !== undefined, plan.workspace?.role),
    step('project-member', projectTarget, plan.project !== undefined, plan.project?.role),
  ];
}

async function runSteps(plan: OnboardingPlan, state: OnboardingState): Promise<void> {
  const { username, workspace, project } = plan;
  const run = async (
    name: StepName,
    summary: string,
    options: ActivityOptions,
    call: (o: ActivityOptions) => Promise<StepResult>,
  ) => {
    const report = state.steps.find((s) => s.step === name)!;
    if (report.outcome === 'skipped') return;
    try {
      const result = await call({ ...options, summary });
      Object.assign(report, result);
    } catch (error) {
      report.outcome = 'failed';
      report.error = describeFailure(error);
      throw error;
    }
  };

  await run('user', `ensure user ${username} (${plan.globalRole})`, kubeCall, (o) =>
    ks.ensureUser.executeWithOptions(o, [
      { username, email: plan.email, sealedPassword: plan.sealedPassword, globalRole: plan.globalRole },
    ]),
  );
  if (workspace) {
    await run('workspace', `ensure workspace ${workspace.name}`, kubeCall, (o) =>
      ks.ensureWorkspace.executeWithOptions(o, [
        { name: workspace.name, cluster: project?.cluster, create: workspace.create },
      ]),
    );
  }
  if (project && workspace) {
    await run('project', `ensure project ${project.name} in ${workspace.name}`, kubeCall, (o) =>
      ks.ensureProject.executeWithOptions(o, [
        { workspace: workspace.name, name: project.name, cluster: project.cluster, create: project.create },
      ]),
    );
  }
  // A user must be a workspace member before joining one of its projects.
  if (workspace) {
    await run(
      'workspace-member',
      `invite ${username} to ${workspace.name} as ${workspace.role}`,
      kubeCallAwaitingRoles,
      (o) =>
        ks.ensureWorkspaceMember.executeWithOptions(o, [{ workspace: workspace.name, username, role: workspace.role }]),
    );
  }
  if (project) {
    await run(
      'project-member',
      `invite ${username} to ${project.name} as ${project.role}`,
      kubeCallAwaitingRoles,
      (o) =>
        ks.ensureProjectMember.executeWithOptions(o, [
          { project: project.name, cluster: project.cluster, username, role: project.role },
        ]),
    );
  }
}

export function setLifecycle(
  state: { lifecycle: Lifecycle },
  lifecycle: Lifecycle,
  input: Pick<OnboardUserInput, 'username' | 'workspace' | 'batchId'>,
): void {
  state.lifecycle = lifecycle;
  const attributes = [
    { key: SA.state, value: lifecycle },
    ...(typeof input.username === 'string' && input.username ? [{ key: SA.username, value: input.username }] : []),
    ...(typeof input.workspace === 'string' && input.workspace ? [{ key: SA.workspace, value: input.workspace }] : []),
    ...(typeof input.batchId === 'string' && input.batchId ? [{ key: SA.batchId, value: input.batchId }] : []),
  ];
  upsertSearchAttributes(attributes);
}

export function describeFailure(error: unknown): { type: string; message: string } {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Error', message: cause.message };
  if (cause instanceof TimeoutFailure)
    return { type: 'Timeout', message: `gave up after the step's time limit (${cause.timeoutType})` };
  return { type: 'Error', message: cause instanceof Error ? cause.message : String(cause) };
}

/** The workflow's own failure: the cause's type, a one-line message, and the step reports as details. */
function failedOnboarding(error: unknown, state: OnboardingState): ApplicationFailure {
  const failed = state.steps.find((s) => s.outcome === 'failed');
  for (const step of state.steps) if (step.outcome === 'pending') step.outcome = 'skipped';
  const cause = describeFailure(error);
  state.error = cause;
  const where = failed ? ` at step ${failed.step} (${failed.target})` : '';
  return ApplicationFailure.create({
    type: cause.type,
    message: `onboarding of ${state.username} failed${where}: ${cause.message}`,
    nonRetryable: true,
    details: [state],
  });
}
