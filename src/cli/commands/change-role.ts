import type { Command } from 'commander';
import { policyConfig } from '../../config.js';
import { formatProblems } from '../../policy/names.js';
import { planRoleChange, type ChangeRoleInput } from '../../policy/plan.js';
import type { Scope } from '../../policy/roles.js';
import { startRoleChange } from '../../temporal/start.js';
import type { ChangeRoleResult } from '../../workflows/definitions.js';
import { printJson } from '../output.js';
import { ExitError } from '../options.js';
import { withTemporal } from '../temporal-context.js';
import { WorkflowFailedError } from '@temporalio/client';

interface Flags {
  username: string;
  scope: Scope;
  role: string;
  workspace?: string;
  project?: string;
  cluster?: string;
  requestedBy?: string;
  wait?: boolean;
  json?: boolean;
}

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
    .action(async (flags: Flags) => {
      const policy = policyConfig();
      const input: ChangeRoleInput = {
        username: flags.username,
        scope: flags.scope,
        role: flags.role,
        workspace: flags.workspace,
        project: flags.project,
        cluster: flags.cluster,
        requestedBy: flags.requestedBy ?? process.env.USER,
        policy: { elevatedRoles: policy.elevatedRoles, approvalTimeout: policy.approvalTimeout },
      };
      const planned = planRoleChange(input);
      if (!planned.ok) throw new ExitError(`invalid request: ${formatProblems(planned.problems)}`, 2);
      await withTemporal(async (client, config) => {
        const handle = await startRoleChange(client, config.taskQueue, input);
        if (planned.plan.elevated.length && !flags.json)
          process.stderr.write(`needs approval: ks-onboard approve ${handle.workflowId} --by <you>\n`);
        if (!flags.wait) {
          if (flags.json) printJson({ workflowId: handle.workflowId });
          else process.stdout.write(`started ${handle.workflowId}\n`);
          return;
        }
        let result: ChangeRoleResult;
        try {
          result = await handle.result();
        } catch (error) {
          if (error instanceof WorkflowFailedError) throw new ExitError(error.cause?.message ?? error.message);
          throw error;
        }
        if (flags.json) return printJson({ workflowId: handle.workflowId, result });
        process.stdout.write(
          `${handle.workflowId}: ${result.direction} ${result.scope} role of ${result.username} on ${result.target}: ${result.from || '(none)'} → ${result.to}\n`,
        );
      });
    });
}
