import type { Command } from 'commander';
import { flipWriteSwitch, readWriteSwitch, SwitchRefusedError } from '../../temporal/write-switch.js';
import type { WriteSwitchState } from '../../workflows/switch-definitions.js';
import { ownToken, workersPublicKey } from '../identity.js';
import { ExitError } from '../options.js';
import { printJson } from '../output.js';
import { escapeControl } from '../../policy/names.js';
import { withTemporal } from '../temporal-context.js';

const WHAT_A_PAUSE_DOES =
  'every KubeSphere write of every onboarding, batch, role change and HR hire waits (reads and approvals go on); ' +
  'each held workflow says so in its current details and goes on by itself, within a minute, after ks-onboard resume';

export function registerPause(program: Command): void {
  program
    .command('pause')
    .description('hold every KubeSphere write of this deployment (a KubeSphere upgrade, an incident); nothing is lost')
    .requiredOption(
      '--reason <text>',
      '(required) why, shown to everyone whose onboarding waits (at most 500 characters)',
    )
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
${WHAT_A_PAUSE_DOES}.
Only a platform-admin may pause or resume: you are KUBESPHERE_USERNAME (+ _PASSWORD or _FILE) or
KUBESPHERE_TOKEN, checked by the worker with KubeSphere (so KubeSphere must answer logins: pause before an
upgrade takes it down). A write already sent to KubeSphere when you pause completes.`,
    )
    .action(async (flags: { reason: string; json?: boolean }) => {
      if (!flags.reason.trim()) throw new ExitError('--reason: say why writes are paused', 2);
      if (flags.reason.length > 500) throw new ExitError('--reason: at most 500 characters', 2);
      await flip('pause', flags);
    });
}

/** `ks-onboard resume` without a batch: lets every held write go on. */
export async function resumeWrites(flags: { json?: boolean }): Promise<void> {
  await flip('resume', flags);
}

async function flip(action: 'pause' | 'resume', flags: { reason?: string; json?: boolean }): Promise<void> {
  const publicKey = workersPublicKey();
  await withTemporal(async (client, config) => {
    // Said before any login: a pause is not replaced by another unseen, and a resume of nothing is a mistake.
    const now = await readWriteSwitch(client, config.workflowIdPrefix);
    if (action === 'pause' && now.paused && !now.heldBy)
      throw new ExitError(
        escapeControl(
          `KubeSphere writes are already paused since ${now.since} by ${now.by}: ${now.reason ?? ''}; resume first to pause for another reason`,
        ),
        2,
      );
    if (action === 'resume' && !now.paused)
      throw new ExitError('KubeSphere writes are not paused: nothing to resume', 2);
    const token = await ownToken();
    let state: WriteSwitchState;
    try {
      state = await flipWriteSwitch(
        client,
        { taskQueue: config.taskQueue, prefix: config.workflowIdPrefix },
        action,
        { token, publicKey },
        flags.reason,
      );
    } catch (error) {
      if (error instanceof SwitchRefusedError) throw new ExitError(`${action} refused by the worker: ${error.message}`);
      throw error;
    }
    if (flags.json) return printJson(state);
    process.stdout.write(
      escapeControl(
        state.paused
          ? `KubeSphere writes PAUSED by ${state.by} at ${state.since}: ${state.reason}\n  ${WHAT_A_PAUSE_DOES}.`
          : `KubeSphere writes resumed by ${state.by} at ${state.since}: held workflows go on within a minute`,
      ) + '\n',
    );
  });
}
