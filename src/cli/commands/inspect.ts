import type { Command } from 'commander';
import { decideUpdate } from '../../workflows/definitions.js';
import { formatState, printJson } from '../output.js';
import { ExitError } from '../options.js';
import { currentState, withTemporal } from '../temporal-context.js';

export function registerInspect(program: Command): void {
  program
    .command('status')
    .description('show the state and steps of an onboarding or role change')
    .argument('<workflow-id>', 'e.g. onboard-alice')
    .option('--json', 'print JSON')
    .action(async (workflowId: string, flags: { json?: boolean }) => {
      await withTemporal(async (client) => {
        const { status, state, failure } = await currentState(client.workflow.getHandle(workflowId));
        if (flags.json) return printJson({ workflowId, status, state, failure });
        process.stdout.write(state ? `${formatState(workflowId, state)}\n` : `${workflowId}: ${status}\n`);
        if (failure && !state?.error) process.stdout.write(`  error: ${failure}\n`);
      });
    });

  for (const approve of [true, false]) {
    program
      .command(approve ? 'approve' : 'reject')
      .description(
        approve
          ? 'approve the elevated grants an onboarding or role change waits for'
          : 'reject them: the workflow fails with your reason',
      )
      .argument('<workflow-id>')
      .requiredOption('--by <name>', 'who decides (recorded in history)')
      .option('--reason <text>', 'why')
      .option('--json', 'print JSON')
      .action(async (workflowId: string, flags: { by: string; reason?: string; json?: boolean }) => {
        await withTemporal(async (client) => {
          const handle = client.workflow.getHandle(workflowId);
          let approval;
          try {
            approval = await handle.executeUpdate(decideUpdate, {
              args: [{ approve, by: flags.by, reason: flags.reason }],
            });
          } catch (error) {
            throw new ExitError(`${workflowId}: ${(error as Error).message}`);
          }
          if (flags.json) return printJson({ workflowId, approval });
          process.stdout.write(`${workflowId}: ${approve ? 'approved' : 'rejected'} by ${flags.by}\n`);
        });
      });
  }
}
