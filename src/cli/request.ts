import { temporalConfig } from '../config.js';
import { describeGrant } from '../policy/authority.js';
import { formatProblems } from '../policy/names.js';
import type { PlanResult } from '../policy/plan.js';
import { RequestConflictError } from '../temporal/start.js';
import type { RequestAnswer } from '../workflows/definitions.js';
import { webUiRunLink } from './batch.js';
import { printJson } from './output.js';
import { ExitError } from './options.js';

/** The workflow checks again, but bad input should not even start one: exit 2 naming each field. */
export function planOrExit<T>(result: PlanResult<T>): T {
  if (!result.ok) throw new ExitError(`invalid request: ${formatProblems(result.problems)}`, 2);
  return result.plan;
}

/**
 * Says what the worker made of the request: refused (exit 1, why), or what waits for an approval and how
 * to give it (on stderr, so --json output stays clean; the JSON carries it too). The worker decides this.
 */
export function reportAnswer(workflowId: string, answer: RequestAnswer): void {
  if (answer.error)
    throw new ExitError(`${workflowId}: refused by the worker: ${answer.error.type}: ${answer.error.message}`);
  if (answer.approvals.length === 0) return;
  process.stderr.write(
    `needs approval (the worker's policy): ${answer.approvals.map((g) => `${describeGrant(g)} (${g.why})`).join(', ')}\n`,
  );
  process.stderr.write(`  until ${answer.deadline}; requested by ${answer.requestedBy}\n`);
  process.stderr.write(
    `  approve with: ks-onboard approve ${workflowId} --reason <why>   (logged in to KubeSphere as someone whose roles cover it)\n`,
  );
}

/**
 * Proposes a request and reports the worker's answer: a conflict with a running request exits 1 naming the
 * difference; without --wait the start is printed and undefined returned; with it, the handle to wait on.
 */
export async function proposeAndReport<H>(
  workflowId: string,
  propose: () => Promise<{ handle: H; answer: RequestAnswer }>,
  flags: { wait?: boolean; json?: boolean },
): Promise<{ handle: H; answer: RequestAnswer } | undefined> {
  let proposed;
  try {
    proposed = await propose();
  } catch (error) {
    if (error instanceof RequestConflictError) throw new ExitError(error.message);
    throw error;
  }
  reportAnswer(workflowId, proposed.answer);
  if (flags.wait) return proposed;
  printStarted(workflowId, proposed.answer, flags.json);
  return undefined;
}

export function printStarted(workflowId: string, answer: RequestAnswer, json: boolean | undefined): void {
  const webUi = runLink(workflowId, answer.runId);
  if (json) printJson({ workflowId, ...answer, webUi: webUi ?? null });
  else
    process.stdout.write(
      `${answer.lifecycle === 'awaiting-approval' ? 'waiting for approval' : 'started'}: ${workflowId}\n` +
        (webUi ? `  Web UI: ${webUi}\n` : ''),
    );
}

/** The run's page in the Web UI, in this CLI's namespace; undefined when the UI's address is unknown. */
export function runLink(workflowId: string, runId: string): string | undefined {
  return webUiRunLink(temporalConfig().namespace, workflowId, runId);
}
