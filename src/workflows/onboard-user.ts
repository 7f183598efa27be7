import { FailureType } from '../failures.js';
import {
  ApplicationFailure,
  setCurrentDetails,
  patched,
  proxyActivities,
  proxyLocalActivities,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { KubeSphereActivities, StepResult } from '../activities/kubesphere.js';
import {
  onboardingFields,
  onboardingProofFields,
  planOnboarding,
  projectTarget,
  type OnboardingPlan,
} from '../policy/plan.js';
import { ensuredKey } from '../policy/batch.js';
import { onboardUserInputSchema, parseInput, type OnboardUserInput } from '../policy/requests.js';
import { KUBE_ATTEMPT_MS, KUBE_RETRY, KUBE_RETRY_TIME_MS, kubeCall, kubeCallLocal } from './activity-options.js';
import { WORKFLOW_ID, type OnboardingState, type StepName, type StepReport, type StepRetry } from './definitions.js';
import { withVisibleRetries } from './visible-retries.js';
import { heldDetails, writeUnlessPaused } from './held-writes.js';
import { describeFailure } from './failure.js';
import type { Labels } from './labels.js';
import { RequestSession, type ProposedRequest } from './session.js';

const ks = proxyActivities<KubeSphereActivities>(kubeCall);
const ksLocal = proxyLocalActivities<KubeSphereActivities>(kubeCallLocal);

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
  if (parsed.value.source.kind === 'hr' && parsed.value.batchId !== undefined)
    return session.refuse('onboarding request', [
      { field: 'batchId', message: 'an HR delivery is not part of a batch' },
    ]);
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
      hireFields: (reading) => {
        const read = planOnboarding(reading.request);
        return read.ok ? onboardingFields(read.plan) : undefined;
      },
    },
    async () => {
      const source = parsed.value.source;
      const batch = source.kind === 'batch' ? source : undefined;
      await runSteps(plan, state, session, batch?.ensured ?? {}, (batch?.protocol ?? 1) >= 2);
      return state;
    },
    (cause, error) => failedOnboarding(cause, state, error),
  );
}

function plannedSteps(plan: OnboardingPlan): StepReport[] {
  const step = (name: StepName, target: string, role?: string): StepReport => ({
    step: name,
    target,
    outcome: 'pending',
    ...(role ? { requestedRole: role } : {}),
  });
  const skipped = (name: StepName): StepReport => ({ step: name, target: '-', outcome: 'skipped' });
  const projectSteps = (name: StepName, withRole: boolean) =>
    plan.projects.length
      ? plan.projects.map((p) => step(name, projectTarget(p.cluster, p.name), withRole ? p.role : undefined))
      : [skipped(name)];
  const workspaceSteps = (name: StepName, withRole: boolean) =>
    plan.workspaces.length
      ? plan.workspaces.map((w) => step(name, w.name, withRole ? w.role : undefined))
      : [skipped(name)];
  return [
    step('user', plan.username, plan.globalRole),
    ...workspaceSteps('workspace', false),
    ...projectSteps('project', false),
    ...workspaceSteps('workspace-member', true),
    ...projectSteps('project-member', true),
  ];
}

async function runSteps(
  plan: OnboardingPlan,
  state: OnboardingState,
  session: RequestSession,
  ensured: Record<string, 'created' | 'existed'>,
  /** a batch row of protocol 2 or later: every KubeSphere step is a local activity (fewer events, no patch marker) */
  allLocal: boolean,
): Promise<void> {
  const { username } = plan;
  const run = async (
    name: StepName,
    target: string,
    summary: string,
    options: ActivityOptions,
    call: (o: ActivityOptions, onRetry: (retry: StepRetry | undefined) => void) => Promise<StepResult>,
  ) => {
    const report = state.steps.find((s) => s.step === name && s.target === target)!;
    const running = `running step ${state.steps.indexOf(report) + 1} of ${state.steps.length}: ${summary}`;
    setCurrentDetails(running);
    const onRetry = (retry: StepRetry | undefined) => {
      if (retry) report.retry = retry;
      else delete report.retry;
      setCurrentDetails(
        retry
          ? `${running}; attempt ${retry.attempts} failed (${retry.lastError}); next try at ${retry.nextAttemptAt}, gives up at ${retry.givesUpAt}`
          : running,
      );
    };
    try {
      session.checkFresh();
      // A normal activity ends the workflow task: what the request waits for is recorded before.
      if (!isLocal(name)) await session.beforeWaiting();
      const result = await writeUnlessPaused(() => call({ ...options, summary }, onRetry), {
        beforeHold: () => session.beforeWaiting(),
        onHold: (pause) => setCurrentDetails(pause ? heldDetails(running, pause) : running),
        // A long pause outlasts the last check with KubeSphere: check the requester and the policy again.
        afterHold: () => session.recheckAfterPause(),
      });
      Object.assign(report, result);
      return result;
    } catch (error) {
      report.outcome = 'failed';
      report.error = describeFailure(error);
      delete report.retry; // it gave up: its error says how many attempts
      throw error;
    }
  };
  /** Steps that run as local activities, within the workflow task (the others are normal activities). */
  const isLocal = (name: StepName): boolean =>
    name === 'user' ? trustedUserStep : name === 'workspace-member' || name === 'project-member' ? allLocal : false;
  /** A workspace or project the batch already ensured is not asked again: its outcome is the batch's. */
  const byBatch = (name: StepName, target: string, key: string): boolean => {
    const outcome = ensured[key];
    if (outcome)
      Object.assign(
        state.steps.find((s) => s.step === name && s.target === target)!,
        { outcome },
      );
    return outcome !== undefined;
  };

  /** One attempt per local activity call; the workflow retries it, so the attempts show in the step's report. */
  const locally = <A>(
    activity: { executeWithOptions: (o: typeof kubeCallLocal, args: [A]) => Promise<StepResult> },
    input: A,
    summary: string,
    onRetry: (retry: StepRetry | undefined) => void,
  ) =>
    withVisibleRetries(() => activity.executeWithOptions({ ...kubeCallLocal, summary }, [input]), {
      beforeWait: () => session.beforeWaiting(),
      schedule: KUBE_RETRY,
      attemptMs: KUBE_ATTEMPT_MS,
      retryTimeMs: KUBE_RETRY_TIME_MS,
      summary,
      onRetry,
    });

  const userInput = { username, email: plan.email, sealedPassword: plan.sealedPassword, globalRole: plan.globalRole };
  // Runs that began before this version ensured the user as a normal activity, whose outcome was never trusted.
  // A batch row of protocol 2 or later is of a later version by its input (only its batch writes it): no marker.
  const trustedUserStep = allLocal || patched('ensure-user-as-local-activity');
  const user = await run('user', username, `ensure user ${username} (${plan.globalRole})`, kubeCall, (o, onRetry) =>
    trustedUserStep
      ? locally(ksLocal.ensureUser, userInput, o.summary ?? `ensure user ${username}`, onRetry)
      : ks.ensureUser.executeWithOptions(o, [userInput]),
  );
  // A user this run has just created cannot be a member anywhere yet: its membership reads are skipped.
  const newUser = trustedUserStep && user.outcome === 'created';
  // Workspaces first (a project needs its workspace placed on its cluster), each once.
  for (const workspace of plan.workspaces) {
    if (byBatch('workspace', workspace.name, ensuredKey.workspace(workspace.name))) continue;
    const cluster = plan.projects.find((p) => p.workspace === workspace.name)?.cluster;
    await run('workspace', workspace.name, `ensure workspace ${workspace.name}`, kubeCall, (o) =>
      ks.ensureWorkspace.executeWithOptions(o, [{ name: workspace.name, cluster, create: workspace.create }]),
    );
  }
  for (const project of plan.projects) {
    const target = projectTarget(project.cluster, project.name);
    if (byBatch('project', target, ensuredKey.project(project.workspace, project.cluster, project.name))) continue;
    await run('project', target, `ensure project ${project.name} in ${project.workspace}`, kubeCall, (o) =>
      ks.ensureProject.executeWithOptions(o, [
        { workspace: project.workspace, name: project.name, cluster: project.cluster, create: project.create },
      ]),
    );
  }
  // A user must be a workspace member before joining one of its projects.
  for (const workspace of plan.workspaces) {
    await run(
      'workspace-member',
      workspace.name,
      `invite ${username} to ${workspace.name} as ${workspace.role}`,
      kubeCall,
      (o, onRetry) => {
        const member = { workspace: workspace.name, username, role: workspace.role, ...(newUser ? { newUser } : {}) };
        return allLocal
          ? locally(ksLocal.ensureWorkspaceMember, member, o.summary!, onRetry)
          : ks.ensureWorkspaceMember.executeWithOptions(o, [member]);
      },
    );
  }
  for (const project of plan.projects) {
    await run(
      'project-member',
      projectTarget(project.cluster, project.name),
      `invite ${username} to ${project.name} as ${project.role}`,
      kubeCall,
      (o, onRetry) => {
        const member = {
          project: project.name,
          cluster: project.cluster,
          username,
          role: project.role,
          ...(newUser ? { newUser } : {}),
        };
        return allLocal
          ? locally(ksLocal.ensureProjectMember, member, o.summary!, onRetry)
          : ks.ensureProjectMember.executeWithOptions(o, [member]);
      },
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
