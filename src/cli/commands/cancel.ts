import type { Command } from 'commander';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { cancelUpdate } from '../../workflows/batch-definitions.js';
import { stateQuery, type OnboardingState } from '../../workflows/definitions.js';
import { batchWorkflowId, openBatch, REFUSED, resultWithin, updateBatch } from '../batch.js';
import { ExitError } from '../options.js';
import { formatProgress, printJson } from '../output.js';
import { withTemporal } from '../temporal-context.js';

const WHAT_CANCEL_DOES =
  'no more rows are started; rows already started finish on their own (awaiting ones can still be decided); nothing is deleted';
const WHAT_CANCELLING_AN_ONBOARDING_DOES =
  'it stops waiting and changes nothing more in KubeSphere; what it already did stays (nothing is deleted)';

export function registerCancel(program: Command): void {
  program
    .command('cancel')
    .description(
      'stop a batch from starting more rows, or stop an onboarding that waits (scheduled, awaiting approval); nothing is undone',
    )
    .argument('<workflow-id>', 'import-<batchId> or onboard-<username>')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Cancelling a batch: ${WHAT_CANCEL_DOES}.
The rows never started are listed by: ks-onboard report <batch-workflow-id> --failed-only --out <file.csv>
Cancelling an onboarding (e.g. a new hire scheduled for a start date that will not happen): ${WHAT_CANCELLING_AN_ONBOARDING_DOES}.`,
    )
    .action(async (argument: string, flags: { json?: boolean }) => {
      await withTemporal(async (client, config) => {
        const workflowId = batchWorkflowId(argument, config);
        if (workflowId.startsWith(`${config.workflowIdPrefix}onboard-`))
          return cancelOnboarding(client, workflowId, flags.json === true);
        if (!workflowId.startsWith(`${config.workflowIdPrefix}import-`))
          throw new ExitError(
            `${argument}: cancel takes import-<batchId> or onboard-<username> (as ks-onboard list or status shows them)`,
            REFUSED,
          );
        const ref = await openBatch(client, config, workflowId);
        const answered = await updateBatch(ref, cancelUpdate, 'cancel');
        // The update answers before the batch has wound down: its final progress follows at once.
        const progress = (await resultWithin(ref, 10_000)) ?? answered;
        if (flags.json) return printJson({ workflowId: ref.workflowId, progress, note: WHAT_CANCEL_DOES });
        process.stdout.write(
          `${ref.workflowId}: cancelled: ${WHAT_CANCEL_DOES}\n${formatProgress(ref.workflowId, progress)}\n`,
        );
      });
    });
}

/** Only an onboarding that waits is cancelled: one running its steps finishes them (each is one idempotent call). */
async function cancelOnboarding(client: Client, workflowId: string, json: boolean): Promise<void> {
  const handle = client.workflow.getHandle(workflowId);
  const description = await handle.describe();
  if (description.type !== 'onboardUser')
    throw new ExitError(`${workflowId} is a ${description.type} workflow, not an onboarding`, REFUSED);
  if (description.status.name !== 'RUNNING')
    throw new ExitError(
      `${workflowId} is not running (${description.status.name.toLowerCase()}): nothing to cancel`,
      1,
    );
  const run = client.workflow.getHandle(workflowId, description.runId);
  const state: OnboardingState = await run.query(stateQuery);
  if (!['scheduled', 'awaiting-approval', 'validating'].includes(state.lifecycle))
    throw new ExitError(
      `${workflowId} is ${state.lifecycle}: only an onboarding that waits (scheduled, awaiting approval) is cancelled; its steps are idempotent and finish on their own`,
      1,
    );
  await run.cancel();
  // A worker records the cancellation at once; without one it is recorded when a worker comes back.
  const ended = run.result().then(
    () => 'done',
    (error: unknown) => {
      if (error instanceof WorkflowFailedError) return 'cancelled';
      throw error;
    },
  );
  const lifecycle = await Promise.race([
    ended,
    new Promise<string>((r) => setTimeout(() => r('cancel requested'), 10_000).unref()),
  ]);
  if (json)
    return printJson({ workflowId, runId: description.runId, lifecycle, note: WHAT_CANCELLING_AN_ONBOARDING_DOES });
  process.stdout.write(`${workflowId}: ${lifecycle} (was ${state.lifecycle}): ${WHAT_CANCELLING_AN_ONBOARDING_DOES}\n`);
}
