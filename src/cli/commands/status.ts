import type { Client } from '@temporalio/client';
import { InvalidArgumentError, type Command } from 'commander';
import type { TemporalConfig } from '../../config.js';
import { escapeControl } from '../../policy/names.js';
import {
  batchFilter,
  batchView,
  earlierRuns,
  openBatch,
  webUiLink,
  webUiRunLink,
  type BatchRef,
  type EarlierRuns,
} from '../batch.js';
import { formatProgress, formatServerView, formatState, printJson } from '../output.js';
import { currentState, withTemporal, type WorkflowStatus } from '../temporal-context.js';
import { readWriteSwitch } from '../../temporal/write-switch.js';

interface StatusFlags {
  run?: string;
  json?: boolean;
}

/** Temporal's run ids are UUIDs; anything else is a typo, said as such rather than as "not found". */
function runIdFlag(value: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value))
    throw new InvalidArgumentError('a run id is a UUID, as status prints it after --run');
  return value;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show the state and steps of an onboarding or role change, or the progress of a batch')
    .argument('<workflow-id>', 'e.g. onboard-alice, or import-<batchId> for a batch')
    .option(
      '--run <runId>',
      'describe this run of the id instead of the latest (status names earlier failed runs)',
      runIdFlag,
    )
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
The latest run of the id is described: a person fixed by a later run shows that run's outcome. Earlier runs that
failed are named with the --run to see them. A running step that is being retried shows its attempts, last error,
next try and when it gives up.`,
    )
    .action(async (workflowId: string, flags: StatusFlags) => {
      await withTemporal(async (client, config) => {
        const handle = client.workflow.getHandle(workflowId, flags.run);
        const description = await handle.describe();
        if (description.type === 'importBatch')
          return batchStatus(config, await openBatch(client, config, workflowId, description), flags);
        const current = await currentState(handle, description);
        const runs = await otherRuns(client, workflowId, current.runId, flags.run);
        const webUi = webUiRunLink(config.namespace, workflowId, current.runId);
        // A global pause holds every write: a running request that seems stuck may only be waiting for resume.
        const writes = await readWriteSwitch(client, config.workflowIdPrefix);
        if (flags.json)
          return printJson({
            workflowId,
            ...current,
            ...(runs.earlier ? { earlierRuns: runs.earlier } : {}),
            ...(runs.latest ? { latestRun: runs.latest } : {}),
            webUi: webUi ?? null,
            ...(writes.paused ? { writesPaused: writes } : {}),
          });
        process.stdout.write(`${formatStatus(workflowId, current, runs, webUi)}\n`);
        if (writes.paused)
          process.stdout.write(
            `  ${escapeControl(
              writes.heldBy
                ? `KubeSphere writes are HELD for everyone: the pause switch's id is held by ${writes.heldBy}`
                : `KubeSphere writes are PAUSED for everyone since ${writes.since} by ${writes.by}: ${writes.reason ?? ''} (ks-onboard resume)`,
            )}\n`,
          );
      });
    });
}

/** With --run, the latest run when it is another one; without, the runs before the latest. */
interface OtherRuns {
  earlier?: EarlierRuns;
  latest?: { runId: string; status: string };
}

async function otherRuns(
  client: Client,
  workflowId: string,
  runId: string,
  asked: string | undefined,
): Promise<OtherRuns> {
  if (!asked) return { earlier: await earlierRuns(client, workflowId, runId) };
  const latest = await client.workflow.getHandle(workflowId).describe();
  return latest.runId === runId ? {} : { latest: { runId: latest.runId, status: latest.status.name } };
}

function formatStatus(workflowId: string, current: WorkflowStatus, runs: OtherRuns, webUi: string | undefined) {
  const { status, state, failure, server } = current;
  const lines: string[] = [];
  if (state) lines.push(formatState(workflowId, state));
  else if (server) lines.push(formatServerView(workflowId, status, server));
  else
    lines.push(
      `${workflowId}: ${status === 'CANCELLED' ? 'cancelled (nothing was changed after it; nothing was undone)' : status.toLowerCase()}`,
    );
  if (failure && !state?.error) lines.push(`  error: ${escapeControl(failure)}`);
  if (runs.latest)
    lines.push(
      `  run ${current.runId}, an earlier one: the latest (${runs.latest.runId}) is ${runs.latest.status.toLowerCase()}: ks-onboard status ${workflowId}`,
    );
  const earlier = runs.earlier;
  if (earlier?.count) lines.push(`  ${formatEarlier(workflowId, earlier)}`);
  if (webUi) lines.push(`  Web UI: ${webUi}`);
  return lines.join('\n');
}

/** `earlier runs: 1 failed (last at …; ks-onboard status <id> --run <runId>)` */
function formatEarlier(workflowId: string, earlier: EarlierRuns): string {
  const count = earlier.count > earlier.failed ? `${earlier.count}, ` : '';
  if (!earlier.lastFailed) return `earlier runs: ${earlier.count}, none failed`;
  const at = earlier.lastFailed.closedAt ? `last at ${earlier.lastFailed.closedAt}; ` : '';
  return `earlier runs: ${count}${earlier.failed} failed (${at}ks-onboard status ${workflowId} --run ${earlier.lastFailed.runId})`;
}

/** A batch: its progress query while it runs (the latest run), its result or failure once it has ended. */
async function batchStatus(config: TemporalConfig, ref: BatchRef, flags: { json?: boolean }) {
  const view = await batchView(ref);
  const filter = batchFilter(ref.batchId);
  const webUi = webUiLink(config.namespace, filter);
  if (flags.json) return printJson({ ...view, webUi: webUi ?? null, filter });
  if (view.progress) {
    process.stdout.write(
      `${formatProgress(ref.workflowId, view.progress, {
        ...(view.failure ? { failure: view.failure } : {}),
        ...(webUi ? { webUi } : {}),
        filter,
      })}\n`,
    );
    if (view.progress.failed)
      process.stdout.write(`  every row: ks-onboard report ${ref.workflowId} --out <file.csv>\n`);
    return;
  }
  const lines = [`${ref.workflowId}: ${view.status.toLowerCase()} (batch ${ref.batchId})`];
  if (view.failure) lines.push(`  error: ${escapeControl(view.failure)}`);
  if (view.unanswered)
    lines.push(`  ${view.unanswered}; is a worker running on task queue ${ref.description.taskQueue}?`);
  lines.push(webUi ? `  Web UI: ${webUi}` : `  Web UI filter: ${filter}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
