import type { Command } from 'commander';
import type { TemporalConfig } from '../../config.js';
import { escapeControl } from '../../policy/names.js';
import { batchFilter, batchView, openBatch, webUiLink, type BatchRef } from '../batch.js';
import { formatProgress, formatServerView, formatState, printJson } from '../output.js';
import { currentState, withTemporal } from '../temporal-context.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show the state and steps of an onboarding or role change, or the progress of a batch')
    .argument('<workflow-id>', 'e.g. onboard-alice, or import-<batchId> for a batch')
    .option('--json', 'print JSON')
    .action(async (workflowId: string, flags: { json?: boolean }) => {
      await withTemporal(async (client, config) => {
        const handle = client.workflow.getHandle(workflowId);
        const description = await handle.describe();
        if (description.type === 'importBatch')
          return batchStatus(config, await openBatch(client, config, workflowId, description), flags);
        const { status, state, failure, server } = await currentState(handle);
        if (flags.json) return printJson({ workflowId, status, state, failure, server });
        if (state) process.stdout.write(`${formatState(workflowId, state)}\n`);
        else if (server) process.stdout.write(`${formatServerView(workflowId, status, server)}\n`);
        else
          process.stdout.write(
            `${workflowId}: ${status === 'CANCELLED' ? 'cancelled (nothing was changed after it; nothing was undone)' : status.toLowerCase()}\n`,
          );
        if (failure && !state?.error) process.stdout.write(`  error: ${escapeControl(failure)}\n`);
      });
    });
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
