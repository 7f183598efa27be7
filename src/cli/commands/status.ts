import type { Command } from 'commander';
import { escapeControl } from '../../policy/names.js';
import { formatServerView, formatState, printJson } from '../output.js';
import { currentState, withTemporal } from '../temporal-context.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show the state and steps of an onboarding or role change')
    .argument('<workflow-id>', 'e.g. onboard-alice')
    .option('--json', 'print JSON')
    .action(async (workflowId: string, flags: { json?: boolean }) => {
      await withTemporal(async (client) => {
        const { status, state, failure, server } = await currentState(client.workflow.getHandle(workflowId));
        if (flags.json) return printJson({ workflowId, status, state, failure, server });
        if (state) process.stdout.write(`${formatState(workflowId, state)}\n`);
        else if (server) process.stdout.write(`${formatServerView(workflowId, status, server)}\n`);
        else process.stdout.write(`${workflowId}: ${status}\n`);
        if (failure && !state?.error) process.stdout.write(`  error: ${escapeControl(failure)}\n`);
      });
    });
}
