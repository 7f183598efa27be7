import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { Webhook } from 'standardwebhooks';
import { hireSenderConfig, pathsConfig } from '../../config.js';
import { ensureDevHrSecrets } from '../../intake/dev.js';
import { GENERIC_HIRE_TYPE } from '../../intake/vendors/generic.js';
import { ExitError } from '../options.js';
import { printJson } from '../output.js';

interface HireFlags {
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  department: string;
  team?: string;
  startDate?: string;
  employeeId?: string;
  eventId?: string;
  url?: string;
  json?: boolean;
}

/**
 * A generic Standard Webhooks sender, as an HR system would deliver a new hire: to try the intake, and as a
 * reference for wiring one. Signs with the first KS_ONBOARD_WEBHOOK_SECRETS secret (the dev stack's otherwise).
 */
export function registerHire(program: Command): void {
  program
    .command('hire')
    .description('deliver a signed new-hire event to the HR intake (Standard Webhooks), as an HR system would')
    .requiredOption('--username <name>', 'the KubeSphere username')
    .requiredOption('--email <address>', 'work email')
    .requiredOption('--first-name <text>', 'first name')
    .requiredOption('--last-name <text>', 'last name')
    .requiredOption('--department <name>', 'department, as in the placement mapping')
    .option('--team <name>', 'team, as in the placement mapping')
    .option('--start-date <YYYY-MM-DD>', 'first working day (default today)')
    .option('--employee-id <id>', "HR's employee id (default the username)")
    .option('--event-id <id>', 'the event id: the same id twice is one hire (default a new one)')
    .option('--url <url>', 'the intake (default http://127.0.0.1:KS_ONBOARD_INTAKE_PORT)')
    .option('--json', 'print the intake answer as JSON')
    .action(async (flags: HireFlags) => {
      const config = hireSenderConfig();
      const secret = config.secret ?? ensureDevHrSecrets(pathsConfig().dataDir).webhookSecret;
      const body = JSON.stringify({
        type: GENERIC_HIRE_TYPE,
        timestamp: new Date().toISOString(),
        data: {
          eventId: flags.eventId ?? randomUUID(),
          employeeId: flags.employeeId ?? flags.username,
          username: flags.username,
          email: flags.email,
          firstName: flags.firstName,
          lastName: flags.lastName,
          department: flags.department,
          ...(flags.team ? { team: flags.team } : {}),
          startDate: flags.startDate ?? new Date().toISOString().slice(0, 10),
        },
      });
      const id = `msg_${randomUUID()}`;
      const signature = new Webhook(secret).sign(id, new Date(), body);
      const url = `${(flags.url ?? `http://127.0.0.1:${config.port}`).replace(/\/$/, '')}/v1/hr/events`;
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'webhook-id': id,
            'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
            'webhook-signature': signature,
          },
          body,
          signal: AbortSignal.timeout(15_000),
        });
      } catch (error) {
        throw new ExitError(
          `cannot reach the HR intake at ${url}: ${(error as Error).message} (is ks-onboard serve or dev running?)`,
        );
      }
      const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
      const code = [400, 401, 404, 413, 415, 422].includes(response.status) ? 2 : 1;
      if (flags.json) {
        printJson({ status: response.status, ...answer });
        if (response.status >= 300) process.exitCode = code;
        return;
      }
      if (response.status >= 300)
        throw new ExitError(`HR intake answered ${response.status}: ${describe(answer)}`, code);
      process.stdout.write(`${response.status} ${describe(answer)}\n`);
    });
}

function describe(answer: Record<string, unknown>): string {
  if (typeof answer.error === 'string') return answer.error;
  if (answer.ignored) return `ignored (${String(answer.type)})`;
  const parts = [String(answer.workflowId ?? '')];
  if (answer.duplicate) parts.push('(a duplicate: nothing started)');
  if (answer.lifecycle) parts.push(String(answer.lifecycle));
  if (answer.scheduledFor) parts.push(`provisioned at ${String(answer.scheduledFor)}`);
  if (Array.isArray(answer.awaitingApproval)) parts.push(`awaiting approval of ${answer.awaitingApproval.join(', ')}`);
  return parts.join(' ');
}
