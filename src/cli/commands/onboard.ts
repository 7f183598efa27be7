import type { Command } from 'commander';
import { seal } from '../../codec/seal.js';
import { checkPassword, formatProblems } from '../../policy/names.js';
import { planOnboarding, type OnboardRequest } from '../../policy/plan.js';
import { onboardingInput, proposeOnboarding } from '../../temporal/start.js';
import { WORKFLOW_ID } from '../../workflows/definitions.js';
import { temporalConfig } from '../../config.js';
import { ownToken, readPasswordFile, workersPublicKey } from '../identity.js';
import { formatState, printJson } from '../output.js';
import { ExitError } from '../options.js';
import { planOrExit, proposeAndReport, runLink } from '../request.js';
import { outcomeOf, withTemporal } from '../temporal-context.js';

type OnboardFlags = Omit<OnboardRequest, 'sealedPassword' | 'batchId'> & {
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
    .option('--wait', 'wait for the outcome and print it')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
You ask as yourself: KUBESPHERE_HOST and KUBESPHERE_USERNAME + KUBESPHERE_PASSWORD (or KUBESPHERE_TOKEN).
The worker decides what waits for an approval: elevated roles, and anything your KubeSphere roles do not cover.`,
    )
    .action(async ({ passwordFile, wait, json, ...request }: OnboardFlags) => {
      planOrExit(planOnboarding(request));
      const publicKey = workersPublicKey();
      const sealedPassword = passwordFile ? sealPassword(passwordFile, publicKey) : undefined;
      const token = await ownToken();
      const workflowId = WORKFLOW_ID.onboard(request.username, temporalConfig().workflowIdPrefix);
      const input = onboardingInput(
        { ...request, ...(sealedPassword ? { sealedPassword } : {}) },
        { token, publicKey },
        workflowId,
      );

      await withTemporal(async (client, config) => {
        const proposed = await proposeAndReport(
          workflowId,
          () => proposeOnboarding(client, config.taskQueue, input, workflowId),
          { wait, json },
        );
        if (!proposed) return;
        const outcome = await outcomeOf(proposed.handle);
        const webUi = runLink(workflowId, proposed.answer.runId);
        // The worker's first answer too: what waited for an approval, and who decided.
        if (json) printJson({ workflowId, answer: proposed.answer, ...outcome, webUi: webUi ?? null });
        else {
          if (outcome.state) process.stdout.write(`${formatState(workflowId, outcome.state)}\n`);
          if (webUi) process.stdout.write(`  Web UI: ${webUi}\n`);
        }
        if (!outcome.ok) throw new ExitError(`${outcome.type}: ${outcome.message}`);
      });
    });
}

function sealPassword(path: string, publicKey: string): string {
  const password = readPasswordFile(path);
  const problems = checkPassword(password, '--password-file');
  if (problems.length) throw new ExitError(`invalid request: ${formatProblems(problems)}`, 2);
  return seal(password, publicKey);
}
