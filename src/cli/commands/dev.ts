import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { pathsConfig } from '../../config.js';
import { createLogger, installRuntime } from '../logger.js';
import { integerIn } from '../options.js';
import { DEV_APPROVER, EMULATOR_ADMIN, EMULATOR_OPS } from '../../emulator-accounts.js';

interface DevFlags {
  temporalPort: number;
  uiPort: number;
  emulatorPort: number;
  controllerDelay: number;
  intakePort: number;
  codecPort: number;
}

export function registerDev(program: Command): void {
  program
    .command('dev')
    .description(
      'run everything on this machine: Temporal dev server with Web UI, codec server, KubeSphere emulator, worker, HR intake (Ctrl-C stops all)',
    )
    .option('--temporal-port <n>', 'Temporal gRPC port', integerIn(1, 65535), 7233)
    .option('--ui-port <n>', 'Temporal Web UI port', integerIn(1, 65535), 8233)
    .option('--emulator-port <n>', 'KubeSphere emulator port', integerIn(1, 65535), 9090)
    .option('--controller-delay <ms>', "emulated KubeSphere controllers' delay", integerIn(0, 600_000), 300)
    .option('--intake-port <n>', 'HR intake port', integerIn(1, 65535), 8787)
    .option('--codec-port <n>', "codec server port (the Web UI's payload decryption)", integerIn(1, 65535), 8888)
    .action(async (flags: DevFlags) => {
      const log = createLogger();
      await installRuntime(log);
      const { startStack } = await import('../../stack.js');
      const stack = await startStack({
        persistent: true,
        temporalPort: flags.temporalPort,
        uiPort: flags.uiPort,
        emulatorPort: flags.emulatorPort,
        controllerDelayMs: flags.controllerDelay,
        intakePort: flags.intakePort,
        codecPort: flags.codecPort,
        log,
      });
      const intake = stack.intake!;
      const { dataDir } = pathsConfig();
      process.stdout.write(
        [
          '',
          `Temporal     ${stack.temporal.address} (namespace ${stack.temporal.namespace}, state in ${join(dataDir, 'temporal.db')})`,
          `Web UI       ${stack.temporal.uiUrl} (payloads encrypted; decoded through the codec server ${stack.codecServer?.url ?? ''})`,
          `KubeSphere   ${stack.emulator.url} (emulator; state in ${join(dataDir, 'emulator.json')})`,
          `             the worker acts as ${EMULATOR_ADMIN.username}; you ask as ${EMULATOR_OPS.username} / ${EMULATOR_OPS.password}; ${DEV_APPROVER.username} / ${DEV_APPROVER.password} approves`,
          `HR intake    ${intake.url} (POST /v1/hr/events, /v1/hr/bamboohr, /v1/hr/hibob; mapping ${intake.mappingFile})`,
          `             webhook secret and status token in ${join(dataDir, 'keys', 'dev-hr-secrets.json')}`,
          '',
          'In another shell:',
          `  export TEMPORAL_ADDRESS=${stack.temporal.address} KUBESPHERE_HOST=${stack.emulator.url}` +
            // the CLI assumes the Web UI on :8233 only for Temporal on :7233
            (flags.temporalPort === 7233 && flags.uiPort === 8233 ? '' : ` TEMPORAL_UI_URL=${stack.temporal.uiUrl}`) +
            // the CLI seals with the workers' public key under the data dir: dev's data dir must be the CLI's too
            (dataDir === resolve('.data') ? '' : ` KS_ONBOARD_DATA_DIR=${dataDir}`),
          `  export KUBESPHERE_USERNAME=${EMULATOR_OPS.username} KUBESPHERE_PASSWORD='${EMULATOR_OPS.password}'   # you ask as ops-admin`,
          '  npx ks-onboard onboard --username alice --email alice@example.com --workspace team-a --project team-a-dev --wait',
          '  npx ks-onboard onboard --username bob --email bob@example.com --workspace team-a --workspace-role admin',
          `  KUBESPHERE_USERNAME=${DEV_APPROVER.username} KUBESPHERE_PASSWORD='${DEV_APPROVER.password}' npx ks-onboard approve onboard-bob --reason lead`,
          '  npx ks-onboard import samples/onboarding.csv --dry-run     # then without --dry-run, with --wait',
          `  KUBESPHERE_USERNAME=${DEV_APPROVER.username} KUBESPHERE_PASSWORD='${DEV_APPROVER.password}' npx ks-onboard approve import-<batchId> --all --yes`,
          `  npx ks-onboard hire --username dana --email dana@example.com --first-name Dana --last-name Ito --department Payments --team 'Payments Web'${flags.intakePort === 8787 ? '' : ` --url ${intake.url}`}`,
          `  curl -H 'Authorization: Bearer ${intake.intakeToken}' ${intake.url}/v1/onboardings/onboard-dana`,
          '',
          'Ctrl-C stops everything.',
          '',
        ].join('\n'),
      );
      await stack.worker.worker.run();
      await stack.stop();
    });
}
