import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import { readPem, sealerFor } from '../../codec/seal.js';
import { logLevel } from '../../config.js';
import { DEV_APPROVER, EMULATOR_OPS } from '../../emulator-accounts.js';
import { checkImportFile, formatImportProblem, readPeople } from '../../import/index.js';
import { loginOnce } from '../../kubesphere/login.js';
import type { Placement } from '../../policy/requests.js';
import { startImport } from '../../temporal/start-import.js';
import { decisionInput } from '../../temporal/start.js';
import { progressQuery, type BatchProgress } from '../../workflows/batch-definitions.js';
import { decideUpdate, stateQuery, WORKFLOW_ID, type OnboardingState } from '../../workflows/definitions.js';
import { batchFilter } from '../batch.js';
import { createLogger, installRuntime } from '../logger.js';
import { ExitError } from '../options.js';
import { outcomeOf, type Outcome } from '../temporal-context.js';
import { dataConverterFor } from '../../temporal/data-converter.js';
import { formatState } from '../output.js';
import { describeAnswer, sendHire, type HireToSend } from '../../intake/send.js';

/** The sample migration shipped with the package: three teams, one row that needs an approval. */
const SAMPLE = fileURLToPath(new URL('../../../samples/onboarding.csv', import.meta.url));
/** A new hire delivered through the HR intake after the import (placed by samples/placement.yaml). */
const DEMO_HIRE: HireToSend & { team: string } = {
  username: 'nina.berg',
  email: 'nina.berg@example.com',
  firstName: 'Nina',
  lastName: 'Berg',
  department: 'Search',
  team: 'Search UI',
};

/**
 * The main job end to end on the embedded defaults: import samples/onboarding.csv as a platform-admin,
 * approve the row that waits as another one (authenticated, as any approval), print what happened to each row.
 */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'start the embedded stack on free ports, import samples/onboarding.csv, approve the waiting row, deliver a new hire through the HR intake, print everything, stop',
    )
    .option('--report <file>', 'also write the outcome as JSON')
    .action(async (flags: { report?: string }) => {
      // Expected transient retries (roles not created yet) would only be noise here.
      const log = createLogger(logLevel() ?? 'error');
      await installRuntime(log);
      const check = await checkImportFile(SAMPLE);
      if (check.problems.length)
        throw new ExitError(`the sample is invalid: ${check.problems.map(formatImportProblem).join('; ')}`);
      const { startStack } = await import('../../stack.js');
      const stack = await startStack({
        persistent: false,
        temporalPort: 0,
        uiPort: undefined,
        emulatorPort: 0,
        controllerDelayMs: 300,
        intakePort: 0,
        log,
      });
      const connection = await Connection.connect({ address: stack.temporal.address });
      const client = new Client({
        connection,
        namespace: stack.temporal.namespace,
        dataConverter: dataConverterFor(stack.keyRing),
      });
      const publicKey = readPem(stack.sealPublicKey);
      // Asked by one platform-admin, approved by another: each with their own login, sealed for the worker.
      const login = async (who: { username: string; password: string }) => {
        // The approver the stack has just made is active once KubeSphere's controller has seen it.
        for (let attempt = 1; ; attempt++) {
          try {
            return (await loginOnce({ baseUrl: stack.emulator.url, ...who })).accessToken;
          } catch (error) {
            if (attempt >= 20) throw error;
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
        }
      };
      // As under `dev`: ops-admin asks, carol (made by the stack) approves.
      const requester = { token: await login(EMULATOR_OPS), publicKey };
      const approver = { token: await login(DEV_APPROVER), publicKey };
      try {
        const started = Date.now();
        const people: Array<{ username: string; placements: Placement[] }> = [];
        let hire: Outcome | undefined;
        const final = await stack.worker.worker.runUntil(async () => {
          const { handle } = await startImport(
            client,
            stack.taskQueue,
            { batchId: check.batchId, contentDigest: check.contentDigest, file: 'onboarding.csv', rows: check.rows },
            (async function* () {
              for await (const person of readPeople(SAMPLE, check, { seal: sealerFor(publicKey) })) {
                people.push(person);
                yield person;
              }
            })(),
            requester,
          );
          process.stdout.write(
            `importing samples/onboarding.csv as ${EMULATOR_OPS.username}: ${check.rows} rows, ${check.people} people (batch ${check.batchId})\n`,
          );
          await approveWaitingRows(client, handle, approver);
          const batch = (await handle.result()) as BatchProgress;
          // A new hire from HR, as a signed webhook: placed by the sample mapping, verified again by the worker.
          const intake = stack.intake!;
          const sent = await sendHire(intake.url, intake.webhookSecret, DEMO_HIRE);
          process.stdout.write(
            `HR intake: new hire ${DEMO_HIRE.username} (${DEMO_HIRE.department} / ${DEMO_HIRE.team}): ${sent.status} ${describeAnswer(sent.answer)}\n`,
          );
          hire = await outcomeOf(client.workflow.getHandle(WORKFLOW_ID.onboard(DEMO_HIRE.username)));
          return batch;
        });
        const rows = await Promise.all(
          people.map(async (p) => ({
            person: p,
            outcome: await outcomeOf(client.workflow.getHandle(WORKFLOW_ID.onboard(p.username))),
          })),
        );
        process.stdout.write(
          `\n${table(rows.map((r) => ({ username: r.person.username, state: r.outcome.state })))}\n`,
        );
        if (hire?.state)
          process.stdout.write(`\n${formatState(WORKFLOW_ID.onboard(DEMO_HIRE.username), hire.state)}\n`);
        process.stdout.write(
          `\nbatch ${final.batchId} ${final.lifecycle} in ${Date.now() - started} ms: ${final.done} people done, ${final.failed} failed\n` +
            `KubeSphere requests: ${JSON.stringify(stack.emulator.requests.byMethod)} (never a DELETE)\n` +
            `Web UI (the same import under \`ks-onboard dev\`): http://127.0.0.1:8233/namespaces/default/workflows?query=${encodeURIComponent(batchFilter(final.batchId))}\n`,
        );
        if (flags.report) writeFileSync(flags.report, JSON.stringify({ final, rows, hire }, null, 2), { mode: 0o600 });
        if (final.lifecycle !== 'done' || final.failed > 0)
          throw new ExitError(`batch ${final.lifecycle}: ${final.failed} failed`);
        if (!hire?.ok)
          throw new ExitError(`the HR hire did not complete: ${hire && !hire.ok ? hire.message : 'no answer'}`);
      } finally {
        await connection.close();
        await stack.stop();
      }
    });
}

/** Waits until every row is either finished or waiting for an approval, then approves each waiting row. */
async function approveWaitingRows(
  client: Client,
  batch: WorkflowHandle,
  approver: { token: string; publicKey: string },
): Promise<void> {
  const approved = new Set<string>();
  for (;;) {
    const progress = await batch.query(progressQuery).catch(() => undefined);
    if (!progress) return; // ended (its result says how)
    if (['done', 'failed', 'cancelled'].includes(progress.lifecycle)) return;
    if (progress.awaitingApproval > approved.size && progress.running === 0) {
      for await (const run of client.workflow.list({
        query: `WorkflowType = 'onboardUser' AND OnboardingBatchId = '${progress.batchId}' AND OnboardingState = 'awaiting-approval'`,
      })) {
        if (approved.has(run.workflowId)) continue;
        const row = client.workflow.getHandle(run.workflowId, run.runId);
        const state: OnboardingState = await row.query(stateQuery);
        const grants = state.approval?.grants ?? [];
        await row.executeUpdate(decideUpdate, {
          args: [
            decisionInput({ workflowId: run.workflowId, runId: run.runId, grants }, approver, true, 'demo: team lead'),
          ],
        });
        approved.add(run.workflowId);
        process.stdout.write(
          `approved as ${DEV_APPROVER.username}: ${state.username} — ${grants.map((g) => `${g.scope}:${g.role} on ${g.target} (${g.why})`).join(', ')}\n`,
        );
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** One line per person: each step's outcome, by target. */
function table(rows: Array<{ username: string; state?: OnboardingState }>): string {
  const lines = rows.map(({ username, state }) => {
    const steps = (state?.steps ?? [])
      .filter((s) => s.outcome !== 'skipped')
      .map((s) => `${s.step} ${s.target}: ${s.outcome}`)
      .join(', ');
    return `${username.padEnd(16)} ${(state?.lifecycle ?? '?').padEnd(8)} ${steps}`;
  });
  return [`${'person'.padEnd(16)} ${'state'.padEnd(8)} steps`, ...lines].join('\n');
}
