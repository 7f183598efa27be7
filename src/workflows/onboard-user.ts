import { ApplicationFailure, proxyActivities, setHandler, type ActivityOptions } from '@temporalio/workflow';
import type { KubeSphereActivities, StepResult } from '../activities/kubesphere.js';
import { planOnboarding, projectTarget, type OnboardUserInput, type OnboardingPlan } from '../policy/plan.js';
import { kubeCall, kubeCallAwaitingRoles } from './activity-options.js';
import { stateQuery, type OnboardingState, type StepName, type StepReport } from './definitions.js';
import { approveThenRun, describeFailure, refuse } from './lifecycle.js';

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

  if (!planned.ok) refuse(state, input, 'onboarding request', planned.problems);
  const plan = planned.plan;
  state.steps = plannedSteps(plan);
  return approveThenRun(
    { state, labels: input, grants: plan.elevated, policy: input.policy, requestedBy: input.requestedBy },
    async () => {
      await runSteps(plan, state);
      return state;
    },
    (cause) => failedOnboarding(cause, state),
  );
}

function plannedSteps(plan: OnboardingPlan): StepReport[] {
  const projectStepTarget = plan.project ? projectTarget(plan.project.cluster, plan.project.name) : '-';
  const step = (name: StepName, target: string, wanted: boolean, role?: string): StepReport => ({
    step: name,
    target,
    outcome: wanted ? 'pending' : 'skipped',
    ...(wanted && role ? { requestedRole: role } : {}),
  });
  return [
    step('user', plan.username, true, plan.globalRole),
    step('workspace', plan.workspace?.name ?? '-', plan.workspace !== undefined),
    step('project', projectStepTarget, plan.project !== undefined),
    step('workspace-member', plan.workspace?.name ?? '-', plan.workspace !== undefined, plan.workspace?.role),
    step('project-member', projectStepTarget, plan.project !== undefined, plan.project?.role),
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

/** The workflow's own failure: the cause's type, a one-line message, and the step reports as details. */
function failedOnboarding(cause: { type: string; message: string }, state: OnboardingState): ApplicationFailure {
  const failed = state.steps.find((s) => s.outcome === 'failed');
  for (const step of state.steps) if (step.outcome === 'pending') step.outcome = 'skipped';
  const where = failed ? ` at step ${failed.step} (${failed.target})` : '';
  return ApplicationFailure.create({
    type: cause.type,
    message: `onboarding of ${state.username} failed${where}: ${cause.message}`,
    nonRetryable: true,
    details: [state],
  });
}
