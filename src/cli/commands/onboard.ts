import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { seal } from '../../codec/seal.js';
import { policyConfig } from '../../config.js';
import { checkPassword, formatProblems } from '../../policy/names.js';
import { announceApproval, planOrExit, printStarted, requestDefaults } from '../request.js';
import { planOnboarding, type OnboardUserInput } from '../../policy/plan.js';
import { startOnboarding } from '../../temporal/start.js';
import { formatState, printJson } from '../output.js';
import { ExitError } from '../options.js';
import { outcomeOf, withTemporal } from '../temporal-context.js';

type OnboardFlags = Omit<OnboardUserInput, 'sealedPassword' | 'batchId' | 'policy'> & {
  passwordFile?: string;
  wait?: boolean;
  json?: boolean;
};

export function registerOnboard(program: Command): void {
  program
    .command('onboard')
    .description('onboard one person: user, workspace, project and least-privilege memberships')
    .requiredOption('--username <name>', 'KubeSphere username')
    .requiredOption('--email <address>', 'email address')
    .option('--password-file <file>', 'file holding the initial password (omit for identity-provider users)')
    .option('--global-role <role>', 'platform role (default platform-regular)')
    .option('--workspace <name>', 'workspace to join (created when missing)')
    .option('--workspace-role <role>', 'workspace role, e.g. regular or <ws>-viewer (default regular)')
    .option('--no-create-workspace', 'fail if the workspace does not exist')
    .option('--project <name>', 'project to join (created when missing)')
    .option('--project-role <role>', 'project role: viewer, operator or admin (default viewer)')
    .option('--no-create-project', 'fail if the project does not exist')
    .option('--cluster <name>', 'cluster of the project (default: the host cluster)')
    .option('--requested-by <name>', 'who asks for this (recorded in history)')
    .option('--wait', 'wait for the outcome and print it')
    .option('--json', 'print JSON')
    .action(async ({ passwordFile, wait, json, ...request }: OnboardFlags) => {
      const input: OnboardUserInput = { ...request, ...requestDefaults(request.requestedBy) };
      const plan = planOrExit(planOnboarding(input));
      if (passwordFile) input.sealedPassword = sealPasswordFile(passwordFile, policyConfig().sealPublicKey);

      await withTemporal(async (client, config) => {
        const handle = await startOnboarding(client, config.taskQueue, input);
        announceApproval(handle.workflowId, plan.elevated, json);
        if (!wait) return printStarted(handle, json);
        const outcome = await outcomeOf(handle);
        if (json) printJson({ workflowId: handle.workflowId, ...outcome });
        else if (outcome.state) process.stdout.write(`${formatState(handle.workflowId, outcome.state)}\n`);
        if (!outcome.ok) throw new ExitError(`${outcome.type}: ${outcome.message}`);
      });
    });
}

function sealPasswordFile(path: string, publicKeyPath: string): string {
  if (!existsSync(path)) throw new ExitError(`--password-file: ${path} does not exist`, 2);
  const password = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  const problems = checkPassword(password, '--password-file');
  if (problems.length) throw new ExitError(`invalid request: ${formatProblems(problems)}`, 2);
  if (!existsSync(publicKeyPath)) {
    throw new ExitError(
      `no sealing key at ${publicKeyPath}: set KS_ONBOARD_SEAL_PUBLIC_KEY to the workers' public key (ks-onboard dev creates one under .data/keys)`,
      2,
    );
  }
  return seal(password, readFileSync(publicKeyPath, 'utf8'));
}
