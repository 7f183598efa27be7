import type { Command } from 'commander';
import { decideUpdate } from '../../workflows/definitions.js';
import { printJson } from '../output.js';
import { ExitError } from '../options.js';
import { withTemporal } from '../temporal-context.js';

export function registerDecisions(program: Command): void {
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
