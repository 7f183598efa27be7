import type { Command } from 'commander';
import { resumeUpdate } from '../../workflows/batch-definitions.js';
import { batchWorkflowId, openBatch, updateBatch } from '../batch.js';
import { formatProgress, printJson } from '../output.js';
import { withTemporal } from '../temporal-context.js';

export function registerResume(program: Command): void {
  program
    .command('resume')
    .description('let a paused batch go on (after its error budget was spent, or after its canary rows)')
    .argument('<batch-workflow-id>', 'import-<batchId>')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
The error budget counts again from here: rows that failed before the resume no longer count against it.
A batch that is not paused is left as it is (exit 2).`,
    )
    .action(async (argument: string, flags: { json?: boolean }) => {
      await withTemporal(async (client, config) => {
        const ref = await openBatch(client, config, batchWorkflowId(argument, config));
        const progress = await updateBatch(ref, resumeUpdate, 'resume');
        if (flags.json) return printJson({ workflowId: ref.workflowId, progress });
        process.stdout.write(`${ref.workflowId}: resumed\n${formatProgress(ref.workflowId, progress)}\n`);
      });
    });
}
