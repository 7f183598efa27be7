import type { Command } from 'commander';
import { hireSenderConfig, pathsConfig } from '../../config.js';
import { ensureDevHrSecrets } from '../../intake/dev.js';
import { describeAnswer, sendHire, type HireToSend } from '../../intake/send.js';
import { ExitError } from '../options.js';
import { printJson } from '../output.js';

/** Answers that the same delivery will never change (bad input, refused signature): exit 2. */
const REFUSED = [400, 401, 404, 413, 415, 422];

export function registerHire(program: Command): void {
  program
    .command('hire')
    .description('deliver a signed new-hire event to the HR intake (Standard Webhooks), as an HR system would')
    .requiredOption('--username <name>', 'the KubeSphere username (required)')
    .requiredOption('--email <address>', 'work email (required)')
    .requiredOption('--first-name <text>', 'first name (required)')
    .requiredOption('--last-name <text>', 'last name (required)')
    .requiredOption('--department <name>', 'department, as in the placement mapping (required)')
    .option('--team <name>', 'team, as in the placement mapping')
    .option('--start-date <YYYY-MM-DD>', 'first working day (default today, UTC)')
    .option('--employee-id <id>', "HR's employee id (default the username)")
    .option('--event-id <id>', 'the event id: the same id twice is one hire (default a new one)')
    .option('--url <url>', 'the intake (default http://127.0.0.1:$KS_ONBOARD_INTAKE_PORT, or :8787)')
    .option('--json', 'print the intake answer as JSON')
    .addHelpText(
      'after',
      "\nSigns with the first of KS_ONBOARD_WEBHOOK_SECRETS, else with the dev stack's secret (.data/keys/dev-hr-secrets.json).",
    )
    .action(async (flags: HireToSend & { url?: string; json?: boolean }) => {
      const config = hireSenderConfig();
      const secret = config.secret ?? ensureDevHrSecrets(pathsConfig().dataDir).webhookSecret;
      const url = flags.url ?? `http://127.0.0.1:${config.port}`;
      let sent;
      try {
        sent = await sendHire(url, secret, flags);
      } catch (error) {
        throw new ExitError(
          `cannot reach the HR intake at ${url}: ${(error as Error).message} (is ks-onboard serve or dev running?)`,
        );
      }
      const code = REFUSED.includes(sent.status) ? 2 : 1;
      if (flags.json) {
        printJson({ status: sent.status, ...sent.answer });
        if (sent.status >= 300) process.exitCode = code;
        return;
      }
      if (sent.status >= 300)
        throw new ExitError(`HR intake answered ${sent.status}: ${describeAnswer(sent.answer)}`, code);
      process.stdout.write(`${sent.status} ${describeAnswer(sent.answer)}\n`);
    });
}
