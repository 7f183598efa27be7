import { ApplicationFailure, proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { Inspection, InspectActivities } from '../activities/inspect.js';
import type { TrustActivities } from '../activities/trust.js';
import { FailureType } from '../failures.js';
import { covers, describeGrant, grantsNeedingApproval, workspacesOf } from '../policy/authority.js';
import { dryRunProofFields, importDryRunInputSchema, type ImportDryRunInput } from '../policy/batch.js';
import { formatProblems, quote } from '../policy/names.js';
import { planOnboarding, type OnboardingPlan } from '../policy/plan.js';
import { parseInput } from '../policy/requests.js';
import { isProtectedWorkspace } from '../policy/worker-policy.js';
import { kubeCall, policyCall, verifyCall } from './activity-options.js';
import { describeFailure } from './failure.js';

const reads = proxyActivities<InspectActivities>(kubeCall);
const local = proxyLocalActivities<TrustActivities>(policyCall);
const trust = proxyLocalActivities<TrustActivities>(verifyCall);

/** People read from KubeSphere per activity: a few GETs each. */
const PEOPLE_PER_READ = 25;

export interface DryRunRow {
  username: string;
  lines: number[];
  /** what would happen, as read from KubeSphere (absent when the row is refused) */
  inspection?: Inspection;
  /** grants that would wait for an approval, and why */
  approvals: string[];
  /** why the row would be refused before anything is done */
  refusal?: string;
  /** why KubeSphere was not read for this row (what it would do waits for an approval anyway) */
  notRead?: string;
}

export interface DryRunResult {
  requestedBy: string;
  rows: DryRunRow[];
}

/**
 * What an import would do, read from KubeSphere with GET requests only: which users, workspaces, projects and
 * memberships would be created, which exist, which differ, and which grants wait for an approval. For a
 * verified requester only: what KubeSphere holds is not shown to anyone who merely reaches Temporal.
 */
export async function importDryRun(input: ImportDryRunInput): Promise<DryRunResult> {
  const parsed = parseInput(importDryRunInputSchema, input);
  const refuse = (message: string, type: string = FailureType.PolicyViolation): never => {
    throw ApplicationFailure.create({ type, message: `dry run refused: ${message}`, nonRetryable: true });
  };
  if (!parsed.ok) return refuse(formatProblems(parsed.problems));
  const run = parsed.value;
  const policy = await local.workerPolicy();
  const expectedId = `${policy.workflowIdPrefix ?? ''}import-${run.batchId}.dry-run-${run.part}-${run.nonce}`;
  if (workflowInfo().workflowId !== expectedId)
    return refuse(`this dry run runs only as workflow ${quote(expectedId)}`);

  const planned = run.people.map((person) => ({
    person,
    planned: planOnboarding({
      username: person.username,
      email: person.email,
      ...(person.globalRole ? { globalRole: person.globalRole } : {}),
      placements: person.placements,
    }),
  }));
  const plans = planned.flatMap(({ planned }) => (planned.ok ? [planned.plan] : []));
  let requester;
  try {
    requester = await trust.verifyRequester({
      proof: run.source.proof,
      workflowId: workflowInfo().workflowId,
      request: dryRunProofFields(run),
      workspaces: [...new Set(plans.flatMap((p) => workspacesOf(p.grants)))],
    });
  } catch (error) {
    const cause = describeFailure(error);
    if (cause.type !== FailureType.RequesterRefused) throw error;
    return refuse(cause.message, cause.type);
  }

  const readable: OnboardingPlan[] = [];
  const rows: DryRunRow[] = planned.map(({ person, planned }) => {
    const row: DryRunRow = { username: person.username, lines: person.lines, approvals: [] };
    if (!planned.ok) return { ...row, refusal: formatProblems(planned.problems) };
    const protectedOnes = workspacesOf(planned.plan.grants).filter((ws) => isProtectedWorkspace(policy, ws));
    if (protectedOnes.length) return { ...row, refusal: `${protectedOnes.map(quote).join(', ')} is protected` };
    if (policy.workerAccount && person.username === policy.workerAccount)
      return { ...row, refusal: "the worker's own account: never changed" };
    row.approvals = grantsNeedingApproval(planned.plan.grants, policy, requester).map(
      (g) => `${describeGrant(g)} (${g.why})`,
    );
    // KubeSphere is read only where the requester's own roles reach (a workspace's admin looks users up to invite
    // them, as in the console): a dry run shows no one more than they could see.
    const beyond = planned.plan.grants.filter((g) => g.scope !== 'platform' && !covers(requester, g));
    if (beyond.length)
      return { ...row, notRead: `beyond your KubeSphere roles: ${beyond.map(describeGrant).join(', ')}` };
    readable.push(planned.plan);
    return row;
  });
  const inspections = new Map<string, Inspection>();
  for (let i = 0; i < readable.length; i += PEOPLE_PER_READ) {
    const chunk = readable.slice(i, i + PEOPLE_PER_READ);
    const found = await reads.inspectPlans.executeWithOptions(
      { ...kubeCall, summary: `read what ${chunk.length} people would change (dry run)` },
      [chunk, { readUsers: requester.platformAdmin }],
    );
    for (const inspection of found) inspections.set(inspection.username, inspection);
  }
  for (const row of rows) {
    const inspection = inspections.get(row.username);
    if (inspection) row.inspection = inspection;
  }
  return { requestedBy: requester.username, rows };
}
