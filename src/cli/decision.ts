import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import { describeGrant, type PendingGrant } from '../policy/authority.js';
import { escapeControl } from '../policy/names.js';
import { decisionInput, type Requester } from '../temporal/start.js';
import { decideUpdate, stateQuery, type ApprovalState } from '../workflows/definitions.js';
import { progressQuery } from '../workflows/batch-definitions.js';
import {
  askWithin,
  batchChildren,
  batchFilter,
  batchWorkflowId,
  mapLimit,
  openBatch,
  REFUSED,
  usernameOf,
  webUiLink,
} from './batch.js';
import { ownToken, workersPublicKey } from './identity.js';
import { printJson } from './output.js';
import { runLink } from './request.js';
import { ExitError } from './options.js';
import { QUERY_TIMEOUT_MS, withTemporal } from './temporal-context.js';

type DecisionFlags = { reason?: string; json?: boolean; print?: boolean; runId?: string; yes?: boolean; all?: boolean };

/**
 * Approves or rejects what a workflow waits for, as the KubeSphere user this command runs as: their login
 * is sealed for the workers, bound to this run and these grants, and verified by the worker.
 */
export async function decide(workflowId: string, approve: boolean, flags: DecisionFlags) {
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
    const decided = await send(handle, decision);
    if ('refused' in decided) throw new ExitError(`${workflowId}: ${decided.refused}`);
    const webUi = runLink(workflowId, runId);
    if (json) return printJson({ workflowId, runId, approval: decided.approval, webUi: webUi ?? null });
    process.stdout.write(
      `${workflowId}: ${approve ? 'approved' : 'rejected'} by ${decided.approval.decision?.by}\n` +
        (webUi ? `  Web UI: ${webUi}\n` : ''),
    );
  });
}

/** Sends a decision; the worker's refusal (its validator or its checks of the proof) comes back as a reason. */
async function send(
  handle: WorkflowHandle,
  decision: ReturnType<typeof decisionInput>,
): Promise<{ approval: ApprovalState } | { refused: string }> {
  try {
    return { approval: await handle.executeUpdate(decideUpdate, { args: [decision] }) };
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) return { refused: error.cause?.message ?? error.message };
    throw error;
  }
}

/** A row of a batch that waits for an approval, in the run that waits. */
interface WaitingRow {
  workflowId: string;
  runId: string;
  username: string;
  requestedBy?: string;
  grants: PendingGrant[];
}

/**
 * `approve import-<batchId> --all`: every row of the batch that waits for an approval, each decided exactly as
 * `approve <row>` would (one login; one proof per row, bound to that row's run and grants; checked by the worker).
 * Shown first; confirmed at a terminal unless --yes; without a terminal, --yes is required.
 */
export async function approveAll(argument: string, flags: DecisionFlags): Promise<void> {
  if (flags.print || flags.runId)
    throw new ExitError(
      '--all decides each waiting row of a batch: --print and --run-id are for one workflow',
      REFUSED,
    );
  const publicKey = workersPublicKey();
  const token = await ownToken();
  await withTemporal(async (client, config) => {
    const ref = await openBatch(client, config, batchWorkflowId(argument, config));
    const running = await batchChildren(ref, { extra: "ExecutionStatus = 'Running'" });
    const read = await mapLimit(running, 16, async (run) => ({
      run,
      answer: await askWithin(client.workflow.getHandle(run.workflowId, run.runId), stateQuery),
    }));
    const rows: WaitingRow[] = [];
    for (const { run, answer } of read) {
      if (!answer.ok) {
        process.stderr.write(`warning: ${run.workflowId} not read: ${answer.why}\n`);
        continue;
      }
      const { approval, lifecycle, requestedBy, username } = answer.value;
      if (lifecycle !== 'awaiting-approval' || !approval || approval.decision || approval.expired) continue;
      rows.push({
        workflowId: run.workflowId,
        runId: run.runId,
        username: username || usernameOf(run, config.workflowIdPrefix),
        ...(requestedBy ? { requestedBy } : {}),
        grants: approval.grants,
      });
    }
    rows.sort((a, b) => a.workflowId.localeCompare(b.workflowId));
    // Visibility lags a moment behind the batch: say so rather than approve fewer rows silently.
    const progress = await askWithin(ref.handle, progressQuery);
    if (progress.ok && progress.value.awaitingApproval > rows.length)
      process.stderr.write(
        `warning: ${ref.workflowId} counts ${progress.value.awaitingApproval} row(s) awaiting approval, ${rows.length} found; run this again in a moment for the rest\n`,
      );
    if (!rows.length) throw new ExitError(`${ref.workflowId}: no row waits for an approval`);

    process.stderr.write(
      `approving ${rows.length} row(s) of batch ${ref.batchId}:\n` +
        rows
          .map(
            (row) =>
              `  ${row.workflowId} for ${row.username} (run ${row.runId}, requested by ${row.requestedBy ?? 'unknown'}):\n` +
              row.grants.map((g) => `    ${describeGrant(g)} (${g.why})\n`).join(''),
          )
          .join(''),
    );
    if (!flags.yes) {
      if (!process.stdin.isTTY)
        throw new ExitError(
          `nothing decided: approving ${rows.length} row(s) at once needs --yes without a terminal`,
          REFUSED,
        );
      if (!(await confirm(`approve these ${rows.length} row(s)? [y/N] `))) throw new ExitError('nothing decided');
    }

    const decider: Requester = { token, publicKey };
    const results = await mapLimit(rows, 4, async (row) => {
      const decision = decisionInput(
        { workflowId: row.workflowId, runId: row.runId, grants: row.grants },
        decider,
        true,
        flags.reason,
      );
      try {
        const sent = await send(client.workflow.getHandle(row.workflowId, row.runId), decision);
        return 'refused' in sent
          ? { workflowId: row.workflowId, username: row.username, approved: false, reason: sent.refused }
          : { workflowId: row.workflowId, username: row.username, approved: true, by: sent.approval.decision?.by };
      } catch (error) {
        // The run ended meanwhile (rejected by someone else, expired): this row is not approved.
        return {
          workflowId: row.workflowId,
          username: row.username,
          approved: false,
          reason: (error as Error).message,
        };
      }
    });
    const webUi = webUiLink(config.namespace, batchFilter(ref.batchId));
    if (flags.json) printJson({ workflowId: ref.workflowId, rows: results, webUi: webUi ?? null });
    else
      for (const r of results)
        process.stdout.write(
          r.approved
            ? `${r.workflowId}: approved by ${r.by}\n`
            : `${r.workflowId}: refused: ${escapeControl(r.reason ?? 'unknown')}\n`,
        );
    if (!flags.json && webUi) process.stdout.write(`Web UI: ${webUi}\n`);
    const refused = results.filter((r) => !r.approved).length;
    if (refused) throw new ExitError(`${refused} of ${results.length} row(s) of ${ref.workflowId} not approved`);
  });
}

export async function confirm(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(question)).trim());
  } finally {
    prompt.close();
  }
}

/** `approve` and `reject`: the same command, deciding one way or the other. */
export function registerDecision(program: Command, approve: boolean): void {
  const command = program
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
    .action((workflowId: string, flags: DecisionFlags) =>
      flags.all ? approveAll(workflowId, flags) : decide(workflowId, approve, flags),
    );
  if (approve)
    command
      .option('--all', 'with a batch (import-<batchId>): approve every row of it that waits for an approval')
      .addHelpText(
        'after',
        `
With --all, each waiting row is listed (who, which grants, why) and decided as \`approve <row>\` would; the
command asks at a terminal, and needs --yes without one. Each row prints approved or refused (exit 1 if any is).`,
      );
}
