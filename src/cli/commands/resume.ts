import type { Command } from 'commander';
import { resumeUpdate } from '../../workflows/batch-definitions.js';
import { batchWorkflowId, openBatch, updateBatch } from '../batch.js';
import { formatProgress, printJson } from '../output.js';
import { withTemporal } from '../temporal-context.js';
import { resumeWrites } from './pause.js';

export function registerResume(program: Command): void {
  program
    .command('resume')
    .description(
      'let a paused batch go on (after its error budget was spent, or after its canary rows); without one, end a global pause',
    )
    .argument('[batch-workflow-id]', 'import-<batchId>; none: let every KubeSphere write go on after ks-onboard pause')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
The error budget counts again from here: rows that failed before the resume no longer count against it.
A batch that is not paused is left as it is (exit 2).
Without a batch: ends ks-onboard pause (a platform-admin only, checked by the worker); writes go on within a minute.`,
    )
    .action(async (argument: string | undefined, flags: { json?: boolean }) => {
      if (argument === undefined) return resumeWrites(flags);
      await withTemporal(async (client, config) => {
        const ref = await openBatch(client, config, batchWorkflowId(argument, config));
        const progress = await updateBatch(ref, resumeUpdate, 'resume');
        if (flags.json) return printJson({ workflowId: ref.workflowId, progress });
        process.stdout.write(`${ref.workflowId}: resumed\n${formatProgress(ref.workflowId, progress)}\n`);
      });
    });
}
