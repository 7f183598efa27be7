import { writeFileSync } from 'node:fs';
import { logLevel } from '../../config.js';
import type { Command } from 'commander';
import { readPem, seal } from '../../codec/seal.js';
import { loginOnce } from '../../kubesphere/login.js';
import { onboardingInput, proposeOnboarding } from '../../temporal/start.js';
import { createLogger, installRuntime } from '../logger.js';
import { formatState } from '../output.js';
import { ExitError } from '../options.js';
import { outcomeOf } from '../temporal-context.js';
import { EMULATOR_OPS } from '../../emulator-accounts.js';
import { Client, Connection } from '@temporalio/client';

/** The main job end to end on the embedded defaults: one onboarding, then the same again. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'start the embedded stack on free ports, onboard one person twice (created, then existed), print the outcome, stop',
    )
    .option('--report <file>', 'also write the outcome as JSON')
    .action(async (flags: { report?: string }) => {
      // Expected transient retries (roles not created yet) would only be noise here.
      const log = createLogger(logLevel() ?? 'error');
      await installRuntime(log);
      const { startStack } = await import('../../stack.js');
      const stack = await startStack({
        persistent: false,
        temporalPort: 0,
        uiPort: undefined,
        emulatorPort: 0,
        controllerDelayMs: 300,
        log,
      });
      const connection = await Connection.connect({ address: stack.temporal.address });
      const client = new Client({ connection, namespace: stack.temporal.namespace });
      const publicKey = readPem(stack.sealPublicKey);
      // ops-admin asks, as a person would with the CLI: their own login, sealed for the worker.
      const { accessToken } = await loginOnce({ baseUrl: stack.emulator.url, ...EMULATOR_OPS });
      const request = {
        username: 'alice',
        email: 'alice@example.com',
        sealedPassword: seal('Welcome2KubeSphere', publicKey),
        workspace: 'team-a',
        project: 'team-a-dev',
      };
      try {
        const outcomes: unknown[] = [];
        await stack.worker.worker.runUntil(async () => {
          for (const label of ['first run', 'second run (idempotent)']) {
            const started = Date.now();
            const input = onboardingInput(request, { token: accessToken, publicKey });
            const { handle } = await proposeOnboarding(client, stack.taskQueue, input);
            const outcome = await outcomeOf(handle);
            outcomes.push({ label, ...outcome });
            process.stdout.write(`\n${label}, ${Date.now() - started} ms:\n`);
            if (outcome.state) process.stdout.write(`${formatState(handle.workflowId, outcome.state)}\n`);
            if (!outcome.ok) throw new ExitError(`${outcome.type}: ${outcome.message}`);
          }
        });
        const requests = stack.emulator.requests.byMethod;
        process.stdout.write(`\nKubeSphere requests: ${JSON.stringify(requests)} (never a DELETE)\n`);
        if (flags.report) writeFileSync(flags.report, JSON.stringify({ outcomes, requests }, null, 2));
      } finally {
        await connection.close();
        await stack.stop();
      }
    });
}
