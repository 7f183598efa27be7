import { FailureType } from '../failures.js';
import { ApplicationFailure, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { KubeSphereActivities, StepResult } from '../activities/kubesphere.js';
import {
  onboardingFields,
  onboardingProofFields,
  planOnboarding,
  projectTarget,
  type OnboardingPlan,
} from '../policy/plan.js';
import { onboardUserInputSchema, parseInput, type OnboardUserInput } from '../policy/requests.js';
import { kubeCall, kubeCallAwaitingRoles } from './activity-options.js';
import { WORKFLOW_ID, type OnboardingState, type StepName, type StepReport } from './definitions.js';
import { describeFailure } from './failure.js';
import type { Labels } from './labels.js';
import { RequestSession, type ProposedRequest } from './session.js';

const ks = proxyActivities<KubeSphereActivities>(kubeCall);

/** A proposal by the same rules as the workflow's own input; undefined when it is invalid. */
function requestOf(input: unknown): ProposedRequest | undefined {
  const parsed = parseInput(onboardUserInputSchema, input);
  const planned = parsed.ok ? planOnboarding(parsed.value) : undefined;
  if (!parsed.ok || !planned?.ok) return undefined;
  return {
    fields: onboardingFields(planned.plan),
    proofFields: onboardingProofFields(planned.plan, parsed.value.batchId),
    source: parsed.value.source,
  };
}

/**
 * One person: user → workspace → project → workspace member → project member. The input is checked
 * at the start; the worker's policy and the requester's KubeSphere roles decide what waits for an
 * approval; every step is idempotent, so a retry or a re-run creates nothing twice.
 */
export async function onboardUser(input: OnboardUserInput): Promise<OnboardingState> {
  const labels: Labels = typeof input === 'object' && input !== null ? (input as Labels) : {};
  const username = typeof labels.username === 'string' ? labels.username.slice(0, 253) : '';
  const state: OnboardingState = { lifecycle: 'validating', username, steps: [] };
  const session = new RequestSession(state, labels, requestOf, input);

  const parsed = parseInput(onboardUserInputSchema, input);
  const planned = parsed.ok ? planOnboarding(parsed.value) : parsed;
  if (!parsed.ok || !planned.ok) return session.refuse('onboarding request', planned.ok ? [] : planned.problems);
  const plan = planned.plan;
  state.steps = plannedSteps(plan);
  return session.run(
    {
      what: 'onboarding request',
      workflowId: WORKFLOW_ID.onboard(plan.username),
      grants: plan.grants,
      extraChecks: async (policy) => {
        if (policy.workerAccount && plan.username === policy.workerAccount)
          throw ApplicationFailure.create({
            type: FailureType.ProtectedAccount,
            message: `${plan.username} is the worker's own account: never changed`,
            nonRetryable: true,
          });
        return [];
      },
    },
    async () => {
      await runSteps(plan, state, session);
      return state;
    },
    (cause, error) => failedOnboarding(cause, state, error),
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

async function runSteps(plan: OnboardingPlan, state: OnboardingState, session: RequestSession): Promise<void> {
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
      session.checkFresh();
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

/** The workflow's own failure: the cause's type, a one-line message, the step reports as details, the cause kept. */
function failedOnboarding(
  cause: { type: string; message: string },
  state: OnboardingState,
  error: unknown,
): ApplicationFailure {
  const failed = state.steps.find((s) => s.outcome === 'failed');
  for (const step of state.steps) if (step.outcome === 'pending') step.outcome = 'skipped';
  const where = failed ? ` at step ${failed.step} (${failed.target})` : '';
  return ApplicationFailure.create({
    type: cause.type,
    message: `onboarding of ${state.username} failed${where}: ${cause.message}`,
    nonRetryable: true,
    details: [state],
    cause: error instanceof Error ? error : undefined,
  });
}
