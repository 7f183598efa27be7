import { policyConfig } from '../config.js';
import { formatProblems } from '../policy/names.js';
import type { Grant, PlanResult, PolicyOptions } from '../policy/plan.js';
import { printJson } from './output.js';
import { ExitError } from './options.js';

/** Who asks (the flag, else the login name) and the policy from the environment, for any request. */
export function requestDefaults(requestedBy: string | undefined): {
  requestedBy: string | undefined;
  policy: PolicyOptions;
} {
  const policy = policyConfig();
  return {
    requestedBy: requestedBy ?? process.env.USER,
    policy: { elevatedRoles: policy.elevatedRoles, approvalTimeout: policy.approvalTimeout },
  };
}

/** The workflow checks again, but bad input should not even start one: exit 2 naming each field. */
export function planOrExit<T>(result: PlanResult<T>): T {
  if (!result.ok) throw new ExitError(`invalid request: ${formatProblems(result.problems)}`, 2);
  return result.plan;
}

/** Says what waits for an approval and how to give it (on stderr, so --json output stays clean). */
export function announceApproval(workflowId: string, elevated: Grant[], json: boolean | undefined): void {
  if (elevated.length === 0 || json) return;
  process.stderr.write(`needs approval: ${elevated.map((g) => `${g.scope}:${g.role} on ${g.target}`).join(', ')}\n`);
  process.stderr.write(`  approve with: ks-onboard approve ${workflowId} --by <you>\n`);
}

export function printStarted(
  handle: { workflowId: string; firstExecutionRunId: string },
  json: boolean | undefined,
): void {
  if (json) printJson({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId });
  else process.stdout.write(`started ${handle.workflowId}\n`);
}
