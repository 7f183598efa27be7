import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import { escapeControl } from '../../policy/names.js';
import { planOnboarding, projectTarget, roleChangeTarget } from '../../policy/plan.js';
import {
  changeRoleInputSchema,
  onboardUserInputSchema,
  parseInput,
  type ChangeRoleInput,
  type OnboardUserInput,
} from '../../policy/requests.js';
import {
  onboardingInput,
  proposeOnboarding,
  proposeRoleChange,
  roleChangeInput,
  type Requester,
} from '../../temporal/start.js';
import {
  stateQuery,
  WORKFLOW_ID,
  type OnboardingState,
  type RequestAnswer,
  type StepReport,
} from '../../workflows/definitions.js';
import { askWithin, firstEvent, REFUSED } from '../batch.js';
import { ownToken, workersPublicKey } from '../identity.js';
import { printJson } from '../output.js';
import { ExitError } from '../options.js';
import { proposeAndReport, runLink } from '../request.js';
import { confirm } from '../decision.js';
import { outcomeOf, withTemporal, type Outcome } from '../temporal-context.js';

interface RetryFlags {
  wait: boolean;
  yes?: boolean;
  json?: boolean;
}

/** A run that did not succeed, with the request it ran. */
interface FailedRun {
  workflowId: string;
  runId: string;
  /** Temporal's status: FAILED, TERMINATED or TIMED_OUT */
  status: string;
  /** who asked for it first, as a worker verified them */
  requestedBy: string;
  request: { type: 'onboardUser'; input: OnboardUserInput } | { type: 'changeRole'; input: ChangeRoleInput };
  failure?: string;
  steps: StepReport[];
}

/** One step, before and after: `workspace team-a: failed (KS_UNAVAILABLE) → existed`. */
interface StepChange {
  step: string;
  target: string;
  before: string;
  after?: string;
}

export function registerRetry(program: Command): void {
  program
    .command('retry')
    .description('start a failed onboarding or role change again: the same request, asked by you, no password file')
    .argument('<workflow-id>', 'e.g. onboard-alice (its latest run must have failed, been terminated or timed out)')
    .option('--no-wait', 'start it and return; do not wait for its outcome')
    .option('--yes', 'do not ask for a confirmation at a terminal')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
The request is shown first (what it grants, who asked for it first) and, at a terminal, confirmed.
The new run gets the failed run's input as it is (a password stays sealed for the workers: nobody reads it
here) with a new proof that you ask for it (KUBESPHERE_USERNAME + KUBESPHERE_PASSWORD, or KUBESPHERE_TOKEN).
The worker checks the request, its policy and your KubeSphere roles again, and asks for approvals again.
A row of a batch, or an HR hire, is retried as your own request: only its batch may start a row.
Use it when the request was right and KubeSphere or the network was not; a wrong request is asked again with
onboard (or change-role).`,
    )
    .action(async (workflowId: string, flags: RetryFlags) => {
      const publicKey = workersPublicKey();
      await withTemporal(async (client, config) => {
        const failed = await failedRun(client, workflowId, config.workflowIdPrefix);
        // Never blind: the request is whatever the failed run's input says (anyone who may start workflows may
        // have written it), so it is shown, with who asked for it first, before it is asked again as you.
        process.stderr.write(`${describeRequest(failed)}\n`);
        if (!flags.yes && process.stdin.isTTY && !(await confirm('ask for it again, as you? [y/N] ')))
          throw new ExitError('nothing retried');
        // Logged in only once the retry is possible: a refusal needs no KubeSphere login.
        const requester: Requester = { token: await ownToken(), publicKey };
        const converted = convertedFrom(failed);
        if (converted && !flags.json) process.stderr.write(`${converted}\n`);
        const proposed = await proposeAndReport(
          workflowId,
          () => propose(client, config.taskQueue, failed, requester),
          {
            wait: true,
            json: flags.json,
          },
        );
        if (!proposed) return;
        const outcome = flags.wait ? await outcomeOf(proposed.handle) : undefined;
        report(failed, proposed.answer, outcome, { ...flags, ...(converted ? { converted } : {}) });
        if (outcome && !outcome.ok) throw new ExitError(`${outcome.type}: ${outcome.message}`);
      });
    });
}

/** The latest run of `workflowId`, if it is a request that may run again; otherwise why not (exit 2). */
async function failedRun(client: Client, workflowId: string, prefix: string): Promise<FailedRun> {
  const description = await client.workflow.getHandle(workflowId).describe();
  const { runId, type } = description;
  const status = description.status.name;
  if (type !== 'onboardUser' && type !== 'changeRole')
    throw new ExitError(
      `${workflowId} is a ${type} workflow: retry takes an onboarding (onboard-<username>) or a role change` +
        (type === 'importBatch'
          ? `; a batch's failed rows are retried each, or imported again (report --failed-only)`
          : ''),
      REFUSED,
    );
  if (status === 'RUNNING')
    throw new ExitError(
      `${workflowId} is still running: nothing to retry (see: ks-onboard status ${workflowId})`,
      REFUSED,
    );
  if (status === 'COMPLETED')
    throw new ExitError(`${workflowId} completed: nothing to retry (see: ks-onboard status ${workflowId})`, REFUSED);
  if (status === 'CANCELLED')
    throw new ExitError(
      `${workflowId} was cancelled on purpose: retry starts only what failed; ask for it again with onboard`,
      REFUSED,
    );
  const request = await requestOf(client, workflowId, runId, type, prefix);
  const handle = client.workflow.getHandle(workflowId, runId);
  const before = await outcomeOf(handle);
  const state = before.state ?? (await stateOfClosedRun(handle));
  // A run refused before a worker verified who asked carries a request nobody vouched for: never asked again.
  if (!state?.requestedBy)
    throw new ExitError(
      `${workflowId}: its request was refused before a worker verified who asked for it` +
        (before.ok ? '' : ` (${before.type}: ${escapeControl(before.message)})`) +
        `: nothing in it is taken on; ask for it again with onboard or change-role`,
      REFUSED,
    );
  const steps = state.steps;
  return {
    workflowId,
    runId,
    status,
    requestedBy: state.requestedBy,
    request,
    ...(before.ok ? {} : { failure: `${before.type}: ${before.message}` }),
    steps,
  };
}

/** A terminated or timed-out run carries no state in a failure: a worker answers the query by replaying it. */
async function stateOfClosedRun(handle: WorkflowHandle): Promise<OnboardingState | undefined> {
  const answer = await askWithin(handle, stateQuery);
  return answer.ok ? answer.value : undefined;
}

/** The failed run's input, checked as the worker will check it, under the id the worker expects for it. */
async function requestOf(
  client: Client,
  workflowId: string,
  runId: string,
  type: 'onboardUser' | 'changeRole',
  prefix: string,
): Promise<FailedRun['request']> {
  const { input } = await firstEvent(client, workflowId, runId);
  const parsed =
    type === 'onboardUser' ? parseInput(onboardUserInputSchema, input) : parseInput(changeRoleInputSchema, input);
  if (!parsed.ok)
    throw new ExitError(
      `${workflowId}: its input is not a request this version can run again (${parsed.problems.map((p) => `${p.field}: ${p.message}`).join('; ')}); ask for it again with onboard or change-role`,
      REFUSED,
    );
  // parsed with the schema of its own type
  const request = { type, input: parsed.value } as FailedRun['request'];
  const expected =
    request.type === 'onboardUser'
      ? WORKFLOW_ID.onboard(request.input.username, prefix)
      : WORKFLOW_ID.changeRole(request.input.username, request.input.scope, roleChangeTarget(request.input), prefix);
  if (expected !== workflowId)
    throw new ExitError(
      `${workflowId}: this request runs as ${expected} in this deployment (KS_ONBOARD_WORKFLOW_ID_PREFIX); the worker runs a request only under its own id`,
      REFUSED,
    );
  return request;
}

/** The request as it will be asked again: what it grants, whose password it carries. */
function describeRequest(failed: FailedRun): string {
  const lines = [
    `retrying ${failed.workflowId} (run ${failed.runId}, ${failed.status.toLowerCase()}), first asked by ${failed.requestedBy}:`,
  ];
  if (failed.request.type === 'onboardUser') {
    const planned = planOnboarding(failed.request.input);
    if (planned.ok) {
      const plan = planned.plan;
      lines.push(`  user ${plan.username} <${plan.email}> as ${plan.globalRole}`);
      for (const w of plan.workspaces) lines.push(`  workspace ${w.name} as ${w.role}`);
      for (const p of plan.projects)
        lines.push(`  project ${projectTarget(p.cluster, p.name)} in ${p.workspace} as ${p.role}`);
      if (plan.sealedPassword)
        lines.push(
          `  an initial password, sealed for the workers by whoever started the failed run (${failed.requestedBy})`,
        );
    }
  } else {
    const input = failed.request.input;
    lines.push(`  ${input.scope} role of ${input.username} on ${roleChangeTarget(input)} set to ${input.role}`);
  }
  return escapeControl(lines.join('\n'));
}

/** Why a row of a batch or an HR hire becomes the operator's own request; undefined for a requester's. */
function convertedFrom(failed: FailedRun): string | undefined {
  if (failed.request.type !== 'onboardUser') return undefined;
  const { source, batchId } = failed.request.input;
  if (source.kind === 'batch')
    return `${failed.workflowId} was a row of batch ${batchId ?? '?'}: retried as your own request (only its batch may start a row); it keeps the batch's label`;
  if (source.kind === 'hr')
    return `${failed.workflowId} was an HR hire (${source.eventId}): retried as your own request, at once (the delivery is not replayed)`;
  return undefined;
}

/**
 * The same request with a fresh proof of the operator (proofs expire after 15 minutes and name who asks), started
 * the way `onboard` and `change-role` start theirs. The sealed password is passed on as it is.
 */
async function propose(
  client: Client,
  taskQueue: string,
  failed: FailedRun,
  requester: Requester,
): Promise<{ handle: WorkflowHandle; answer: RequestAnswer }> {
  const { workflowId } = failed;
  if (failed.request.type === 'onboardUser') {
    const { source: _source, ...request } = failed.request.input;
    return proposeOnboarding(client, taskQueue, onboardingInput(request, requester, workflowId), workflowId);
  }
  const { source: _source, ...request } = failed.request.input;
  return proposeRoleChange(client, taskQueue, roleChangeInput(request, requester, workflowId), workflowId);
}

function outcomeText(step: StepReport): string {
  return step.error ? `${step.outcome} (${step.error.type})` : step.outcome;
}

/** Each step of the new run beside the failed run's (the failed run's alone while the new one is not awaited). */
export function stepChanges(before: StepReport[], after: StepReport[] | undefined): StepChange[] {
  const key = (s: StepReport) => `${s.step} ${s.target}`;
  const old = new Map(before.map((s) => [key(s), s]));
  const rows: StepChange[] = (after ?? before).map((s) => {
    const was = old.get(key(s));
    return {
      step: s.step,
      target: s.target,
      before: was ? outcomeText(was) : '(not a step then)',
      ...(after ? { after: outcomeText(s) } : {}),
    };
  });
  if (after)
    for (const s of before)
      if (!after.some((a) => key(a) === key(s)))
        rows.push({ step: s.step, target: s.target, before: outcomeText(s), after: '(not a step now)' });
  return rows;
}

function report(
  failed: FailedRun,
  answer: RequestAnswer,
  outcome: Outcome | undefined,
  flags: RetryFlags & { converted?: string },
): void {
  const { workflowId } = failed;
  const after: OnboardingState | undefined = outcome?.state;
  const changes = stepChanges(failed.steps, outcome ? (after?.steps ?? []) : undefined);
  const webUi = runLink(workflowId, answer.runId);
  if (flags.json) {
    printJson({
      workflowId,
      retried: {
        runId: failed.runId,
        status: failed.status,
        ...(failed.failure ? { failure: failed.failure } : {}),
        steps: failed.steps,
      },
      runId: answer.runId,
      ...(flags.converted ? { asYourRequest: flags.converted } : {}),
      answer,
      ...(outcome ? { outcome } : {}),
      changes,
      webUi: webUi ?? null,
    });
    return;
  }
  const now = outcome
    ? outcome.ok
      ? (after?.lifecycle ?? 'done')
      : `failed: ${escapeControl(`${outcome.type}: ${outcome.message}`)}`
    : answer.lifecycle === 'awaiting-approval'
      ? 'waiting for approval'
      : 'started';
  const lines = [
    `${workflowId}: run ${failed.runId} ${failed.status.toLowerCase()}${failed.failure ? ` (${escapeControl(failed.failure)})` : ''}`,
    `  retried as run ${answer.runId}, requested by ${answer.requestedBy ?? 'you'}: ${now}`,
    ...changes.map(
      (c) => `  ${c.step} ${escapeControl(c.target)}: ${c.before}${c.after === undefined ? '' : ` → ${c.after}`}`,
    ),
  ];
  if (!outcome) lines.push(`  follow: ks-onboard status ${workflowId}`);
  if (webUi) lines.push(`  Web UI: ${webUi}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
