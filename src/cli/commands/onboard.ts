import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { seal } from '../../codec/seal.js';
import { policyConfig } from '../../config.js';
import { checkPassword, formatProblems } from '../../policy/names.js';
import { planOnboarding, type OnboardUserInput } from '../../policy/plan.js';
import { startOnboarding } from '../../temporal/start.js';
import { formatState, printJson } from '../output.js';
import { ExitError } from '../options.js';
import { outcomeOf, withTemporal } from '../temporal-context.js';

interface OnboardFlags {
  username: string;
  email: string;
  passwordFile?: string;
  globalRole?: string;
  workspace?: string;
  workspaceRole?: string;
  createWorkspace: boolean;
  project?: string;
  projectRole?: string;
  createProject: boolean;
  cluster?: string;
  requestedBy?: string;
  wait?: boolean;
  json?: boolean;
}

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
    .action(async (flags: OnboardFlags) => {
      const policy = policyConfig();
      const input: OnboardUserInput = {
        username: flags.username,
        email: flags.email,
        globalRole: flags.globalRole,
        workspace: flags.workspace,
        workspaceRole: flags.workspaceRole,
        createWorkspace: flags.createWorkspace,
        project: flags.project,
        projectRole: flags.projectRole,
        createProject: flags.createProject,
        cluster: flags.cluster,
        requestedBy: flags.requestedBy ?? process.env.USER,
        policy: { elevatedRoles: policy.elevatedRoles, approvalTimeout: policy.approvalTimeout },
      };
      // The workflow checks again, but bad input should not even start one.
      const planned = planOnboarding(input);
      if (!planned.ok) throw new ExitError(`invalid request: ${formatProblems(planned.problems)}`, 2);
      if (flags.passwordFile) input.sealedPassword = sealPasswordFile(flags.passwordFile, policy.sealPublicKey);

      await withTemporal(async (client, config) => {
        const handle = await startOnboarding(client, config.taskQueue, input);
        if (planned.plan.elevated.length > 0 && !flags.json) {
          process.stderr.write(
            `needs approval: ${planned.plan.elevated.map((g) => `${g.scope}:${g.role} on ${g.target}`).join(', ')}\n`,
          );
          process.stderr.write(`  approve with: ks-onboard approve ${handle.workflowId} --by <you>\n`);
        }
        if (!flags.wait) {
          if (flags.json) printJson({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId });
          else process.stdout.write(`started ${handle.workflowId}\n`);
          return;
        }
        const outcome = await outcomeOf(handle);
        if (flags.json) printJson({ workflowId: handle.workflowId, ...outcome });
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
