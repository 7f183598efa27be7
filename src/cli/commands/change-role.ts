import { WorkflowFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import { planRoleChange, type ChangeRoleInput } from '../../policy/plan.js';
import { startRoleChange } from '../../temporal/start.js';
import type { ChangeRoleResult } from '../../workflows/definitions.js';
import { printJson } from '../output.js';
import { ExitError } from '../options.js';
import { announceApproval, planOrExit, printStarted, requestDefaults } from '../request.js';
import { withTemporal } from '../temporal-context.js';

type Flags = Omit<ChangeRoleInput, 'policy'> & { wait?: boolean; json?: boolean };

export function registerChangeRole(program: Command): void {
  program
    .command('change-role')
    .description("change a member's role explicitly (the only way ks-onboard replaces a role)")
    .requiredOption('--username <name>')
    .requiredOption('--scope <scope>', 'platform, workspace or project')
    .requiredOption('--role <role>', 'the new built-in role')
    .option('--workspace <name>', 'for --scope workspace')
    .option('--project <name>', 'for --scope project')
    .option('--cluster <name>', 'cluster of the project')
    .option('--requested-by <name>')
    .option('--wait', 'wait for the outcome')
    .option('--json', 'print JSON')
    .action(async ({ wait, json, ...request }: Flags) => {
      const input: ChangeRoleInput = { ...request, ...requestDefaults(request.requestedBy) };
      const plan = planOrExit(planRoleChange(input));
      await withTemporal(async (client, config) => {
        const handle = await startRoleChange(client, config.taskQueue, input);
        announceApproval(handle.workflowId, plan.elevated, json);
        if (!wait) return printStarted(handle, json);
        let result: ChangeRoleResult;
        try {
          result = await handle.result();
        } catch (error) {
          if (error instanceof WorkflowFailedError) throw new ExitError(error.cause?.message ?? error.message);
          throw error;
        }
        if (json) return printJson({ workflowId: handle.workflowId, result });
        process.stdout.write(
          `${handle.workflowId}: ${result.direction} ${result.scope} role of ${result.username} on ${result.target}: ${result.from || '(none)'} → ${result.to}\n`,
        );
      });
    });
}
