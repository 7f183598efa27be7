import type { Command } from 'commander';
import { cancelUpdate } from '../../workflows/batch-definitions.js';
import { batchWorkflowId, openBatch, resultWithin, updateBatch } from '../batch.js';
import { formatProgress, printJson } from '../output.js';
import { withTemporal } from '../temporal-context.js';

const WHAT_CANCEL_DOES =
  'no more rows are started; rows already started finish on their own (awaiting ones can still be decided); nothing is deleted';

export function registerCancel(program: Command): void {
  program
    .command('cancel')
    .description('stop a batch from starting more rows (running or paused); nothing is undone')
    .argument('<batch-workflow-id>', 'import-<batchId>')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Cancelling a batch: ${WHAT_CANCEL_DOES}.
The rows never started are listed by: ks-onboard report <batch-workflow-id> --failed-only --out <file.csv>`,
    )
    .action(async (argument: string, flags: { json?: boolean }) => {
      await withTemporal(async (client, config) => {
        const ref = await openBatch(client, config, batchWorkflowId(argument, config));
        const answered = await updateBatch(ref, cancelUpdate, 'cancel');
        // The update answers before the batch has wound down: its final progress follows at once.
        const progress = (await resultWithin(ref, 10_000)) ?? answered;
        if (flags.json) return printJson({ workflowId: ref.workflowId, progress, note: WHAT_CANCEL_DOES });
        process.stdout.write(
          `${ref.workflowId}: cancelled: ${WHAT_CANCEL_DOES}\n${formatProgress(ref.workflowId, progress)}\n`,
        );
      });
    });
}
