import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import { describeGrant } from '../policy/authority.js';
import { decisionInput } from '../temporal/start.js';
import { decideUpdate, stateQuery } from '../workflows/definitions.js';
import { ownToken, workersPublicKey } from './identity.js';
import { printJson } from './output.js';
import { ExitError } from './options.js';
import { QUERY_TIMEOUT_MS, withTemporal } from './temporal-context.js';

/**
 * Approves or rejects what a workflow waits for, as the KubeSphere user this command runs as: their login
 * is sealed for the workers, bound to this run and these grants, and verified by the worker.
 */
export async function decide(
  workflowId: string,
  approve: boolean,
  flags: { reason?: string; json?: boolean; print?: boolean; runId?: string; yes?: boolean },
) {
  const { reason, json } = flags;
  const publicKey = workersPublicKey();
  const token = await ownToken();
  await withTemporal(async (client) => {
    const { runId, status } = await client.workflow.getHandle(workflowId, flags.runId).describe();
    if (status.name !== 'RUNNING')
      throw new ExitError(`${workflowId} is ${status.name.toLowerCase()}: nothing to decide`);
    const handle = client.workflow.getHandle(workflowId, runId);
    let state;
    try {
      state = await client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(stateQuery));
    } catch {
      throw new ExitError(
        `${workflowId}: no worker answered within ${QUERY_TIMEOUT_MS / 1000}s; a decision needs a running worker (see: ks-onboard status ${workflowId})`,
      );
    }
    const approval = state.approval;
    if (!approval) throw new ExitError(`${workflowId}: nothing here waits for an approval`);
    // Never blind: say exactly what is decided, for whom, asked by whom, in which run; a person confirms.
    process.stderr.write(
      `${approve ? 'approving' : 'rejecting'} for ${state.username} (run ${runId}, requested by ${state.requestedBy ?? 'unknown'}):\n` +
        approval.grants.map((g) => `  ${describeGrant(g)} (${g.why})\n`).join(''),
    );
    if (!flags.yes && process.stdin.isTTY && !(await confirm(`${approve ? 'approve' : 'reject'}? [y/N] `)))
      throw new ExitError('nothing decided');
    const decision = decisionInput(
      { workflowId, runId, grants: approval.grants },
      { token, publicKey },
      approve,
      reason,
    );
    if (flags.print) {
      // For the Web UI: workflow → Send an Update → name `decide`, this JSON as its input.
      process.stdout.write(`${JSON.stringify(decision)}\n`);
      return;
    }
    let decided;
    try {
      decided = await handle.executeUpdate(decideUpdate, { args: [decision] });
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError)
        throw new ExitError(`${workflowId}: ${error.cause?.message ?? error.message}`);
      throw error;
    }
    if (json) return printJson({ workflowId, approval: decided });
    process.stdout.write(`${workflowId}: ${approve ? 'approved' : 'rejected'} by ${decided.decision?.by}\n`);
  });
}

async function confirm(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(question)).trim());
  } finally {
    prompt.close();
  }
}

/** `approve` and `reject`: the same command, deciding one way or the other. */
export function registerDecision(program: Command, approve: boolean): void {
  program
    .command(approve ? 'approve' : 'reject')
    .description(
      approve
        ? 'approve what an onboarding or role change waits for (as your KubeSphere user)'
        : 'reject it: the workflow fails with your reason (as your KubeSphere user)',
    )
    .argument('<workflow-id>', 'e.g. onboard-bob')
    .option('--reason <text>', 'why (recorded in history)')
    .option('--json', 'print JSON')
    .option('--run-id <id>', 'decide only for this run (as shown by status); refused if it is not the one waiting')
    .option('--yes', 'do not ask for a confirmation at a terminal')
    .option(
      '--print',
      "print the update's input instead of sending it (to send it from the Web UI: Send an Update, name decide)",
    )
    .addHelpText(
      'after',
      `
Who decides is who KubeSphere says you are: KUBESPHERE_HOST and KUBESPHERE_USERNAME + KUBESPHERE_PASSWORD
(or KUBESPHERE_TOKEN). Platform grants need a platform-admin; workspace and project grants that workspace's
admin. The requester, the person onboarded and the worker's own account cannot decide.`,
    )
    .action(
      (
        workflowId: string,
        flags: { reason?: string; json?: boolean; print?: boolean; runId?: string; yes?: boolean },
      ) => decide(workflowId, approve, flags),
    );
}
