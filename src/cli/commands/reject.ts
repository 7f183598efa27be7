import type { Command } from 'commander';
import { decide } from '../decision.js';

export function registerReject(program: Command): void {
  program
    .command('reject')
    .description('reject it: the workflow fails with your reason (as your KubeSphere user)')
    .argument('<workflow-id>', 'e.g. onboard-bob')
    .option('--reason <text>', 'why (recorded in history)')
    .option('--json', 'print JSON')
    .option('--run-id <id>', 'decide only for this run (as shown by status); refused if it is not the one waiting')
    .option('--yes', 'do not ask for a confirmation at a terminal')
    .option(
      '--print',
      "print the update's input instead of sending it (to send it from the Web UI: Send an Update, name decide)",
    )
    .addHelpText(
      'after',
      `
Who decides is who KubeSphere says you are: KUBESPHERE_HOST and KUBESPHERE_USERNAME + KUBESPHERE_PASSWORD
(or KUBESPHERE_TOKEN). Platform grants need a platform-admin; workspace and project grants that workspace's
admin. The requester, the person onboarded and the worker's own account cannot decide.`,
    )
    .action(
      (
        workflowId: string,
        flags: { reason?: string; json?: boolean; print?: boolean; runId?: string; yes?: boolean },
      ) => decide(workflowId, false, flags),
    );
}
