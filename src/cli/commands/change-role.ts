import { WorkflowFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import { planRoleChange, roleChangeTarget, type RoleChangeRequest } from '../../policy/plan.js';
import { proposeRoleChange, roleChangeInput } from '../../temporal/start.js';
import { WORKFLOW_ID, type ChangeRoleResult } from '../../workflows/definitions.js';
import { temporalConfig } from '../../config.js';
import { ownToken, workersPublicKey } from '../identity.js';
import { printJson } from '../output.js';
import { ExitError } from '../options.js';
import { planOrExit, proposeAndReport } from '../request.js';
import { withTemporal } from '../temporal-context.js';

type Flags = RoleChangeRequest & { wait?: boolean; json?: boolean };

export function registerChangeRole(program: Command): void {
  program
    .command('change-role')
    .description("change a member's role explicitly (the only way ks-onboard replaces a role)")
    .requiredOption('--username <name>')
    .requiredOption('--scope <scope>', 'platform, workspace or project')
    .requiredOption('--role <role>', 'the new built-in role')
    .option('--workspace <name>', 'for --scope workspace, and the workspace of the project for --scope project')
    .option('--project <name>', 'for --scope project')
    .option('--cluster <name>', 'cluster of the project')
    .option('--wait', 'wait for the outcome')
    .option('--json', 'print JSON')
    .action(async ({ wait, json, ...request }: Flags) => {
      const plan = planOrExit(planRoleChange(request));
      const publicKey = workersPublicKey();
      const token = await ownToken();
      const workflowId = WORKFLOW_ID.changeRole(
        plan.username,
        plan.scope,
        roleChangeTarget(request),
        temporalConfig().workflowIdPrefix,
      );
      const input = roleChangeInput(request, { token, publicKey }, workflowId);
      await withTemporal(async (client, config) => {
        const proposed = await proposeAndReport(
          workflowId,
          () => proposeRoleChange(client, config.taskQueue, input, workflowId),
          { wait, json },
        );
        if (!proposed) return;
        let result: ChangeRoleResult;
        try {
          result = await proposed.handle.result();
        } catch (error) {
          if (error instanceof WorkflowFailedError) throw new ExitError(error.cause?.message ?? error.message);
          throw error;
        }
        if (json) return printJson({ workflowId, answer: proposed.answer, result });
        process.stdout.write(
          `${workflowId}: ${result.direction} ${result.scope} role of ${result.username} on ${result.target}: ${result.from || '(none)'} → ${result.to}\n`,
        );
      });
    });
}
