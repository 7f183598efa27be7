import { join } from 'node:path';
import type { Logger } from 'pino';
import { ensureDevKeyPair } from './codec/seal.js';
import {
  codecKeyRing,
  hrConfig,
  notifyConfig,
  pathsConfig,
  searchPath,
  workerConfig,
  workerPolicyConfig,
} from './config.js';
import { ensureDevCodecKeys } from './codec/dev-keys.js';
import { parseKeyRing, PayloadEncryptionCodec, type KeyRing } from './codec/payload-codec.js';
import { startCodecServer } from './codec/codec-server.js';
import { createEmulator, type Emulator } from './emulator/server.js';
import { DEV_APPROVER, EMULATOR_ADMIN } from './emulator-accounts.js';
import { isKubeSphereError } from './kubesphere/errors.js';
import { findTemporalCli } from './temporal/cli-binary.js';
import { startDevServer, type DevServer } from './temporal/dev-server.js';
import { buildWorker, type RunningWorker } from './temporal/run-worker.js';
import { createTemporalClient } from './temporal/client.js';
import { devHrConfig, ensureDevHrSecrets, type DevHrSecrets } from './intake/dev.js';
import { startIntake, temporalReady, type RunningIntake } from './intake/server.js';

export interface StackOptions {
  /** keep Temporal's SQLite file and the emulator's store under the data dir */
  persistent: boolean;
  temporalPort: number;
  /** 0 = any free port; undefined = headless */
  uiPort: number | undefined;
  emulatorPort: number;
  controllerDelayMs: number;
  /** the codec server's port when there is a Web UI (default any free port) */
  codecPort?: number;
  /** the HR intake's port (0 = any free port); undefined = no intake */
  intakePort?: number;
  log: Logger;
}

export interface Stack {
  temporal: DevServer;
  emulator: Emulator;
  worker: RunningWorker;
  taskQueue: string;
  sealPublicKey: string;
  /** the payload key ring the stack's worker and clients use (the configured one, else `.data/keys/codec-keys`) */
  keyRing: KeyRing;
  /** the codec server the Web UI decodes payloads through */
  codecServer?: { url: string };
  /** the HR intake, with the dev webhook secret and status token */
  intake?: RunningIntake & DevHrSecrets & { mappingFile: string };
  stop(): Promise<void>;
}

/** The dev stack's approver (DEV_APPROVER), made once with the worker's account, as an operator would. */
async function ensureApprover(worker: RunningWorker): Promise<void> {
  const { username, password, email } = DEV_APPROVER;
  try {
    await worker.client.createUser({ name: username, email, password, globalRole: 'platform-admin' });
  } catch (error) {
    if (!isKubeSphereError(error, 'KS_ALREADY_EXISTS')) throw error;
  }
}

/** The embedded defaults on one machine: Temporal dev server, KubeSphere emulator and a worker. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const paths = pathsConfig();
  const { log } = options;
  const binary = await findTemporalCli({
    explicit: paths.temporalCli,
    path: searchPath(),
    cacheDir: paths.cacheDir,
    log: (line) => log.info(line),
  });
  ensureDevKeyPair(paths.devKeys.private, paths.devKeys.public);
  const delay = options.controllerDelayMs;
  const keyRing = codecKeyRing() ?? parseKeyRing(ensureDevCodecKeys(paths.devCodecKeys));
  // The Web UI decodes payloads through a local codec server (loopback only, so no authentication).
  const codecServer =
    options.uiPort === undefined
      ? undefined
      : await startCodecServer(
          {
            codec: new PayloadEncryptionCodec(keyRing),
            corsOrigin: [`http://127.0.0.1:${options.uiPort}`, `http://localhost:${options.uiPort}`],
            auth: { mode: 'none' },
            log,
          },
          { port: options.codecPort ?? 0, host: '127.0.0.1' },
        );
  const started = Promise.all([
    startDevServer({
      binary,
      port: options.temporalPort,
      uiPort: options.uiPort,
      ...(codecServer ? { codecEndpoint: codecServer.url } : {}),
      dbFile: options.persistent ? join(paths.dataDir, 'temporal.db') : undefined,
    }),
    createEmulator({
      port: options.emulatorPort,
      stateFile: options.persistent ? join(paths.dataDir, 'emulator.json') : undefined,
      delays: { userActivationMs: delay, workspaceRolesMs: delay, projectRolesMs: delay },
      adminPassword: EMULATOR_ADMIN.password,
    }),
  ]);
  // A part that fails to start must not leave the others running.
  const [temporal, emulator] = await started.catch(async (error: unknown) => {
    await codecServer?.close();
    throw error;
  });
  const taskQueue = 'ks-onboard';
  const hrSecrets = ensureDevHrSecrets(paths.dataDir);
  const hr = devHrConfig(hrConfig(), hrSecrets);
  const notify = notifyConfig();
  let worker: RunningWorker;
  let intake: Stack['intake'];
  try {
    worker = await buildWorker({
      temporal: { address: temporal.address, namespace: temporal.namespace, taskQueue, workflowIdPrefix: '' },
      kubesphere: {
        baseUrl: emulator.url,
        login: { ...EMULATOR_ADMIN, clientId: 'kubesphere', clientSecret: 'kubesphere' },
        username: EMULATOR_ADMIN.username,
      },
      worker: { ...workerConfig(), sealPrivateKeys: [paths.devKeys.private] },
      policy: workerPolicyConfig(),
      hr,
      keyRing,
      ...(notify ? { notify } : {}),
      log,
    });
    await ensureApprover(worker);
    if (options.intakePort !== undefined) {
      const client = await createTemporalClient(temporal, keyRing);
      const running = await startIntake(
        {
          client,
          taskQueue,
          prefix: '',
          hr,
          log,
          token: hrSecrets.intakeToken,
          ready: temporalReady(client),
          ...(options.intakePort ? { publicUrl: `http://127.0.0.1:${options.intakePort}` } : {}),
        },
        { port: options.intakePort, host: '127.0.0.1' },
      );
      intake = {
        ...hrSecrets,
        mappingFile: hr.mappingFile ?? '',
        url: running.url,
        close: async () => {
          await running.close();
          await client.connection.close();
        },
      };
    }
  } catch (error) {
    await Promise.all([emulator.close(), temporal.stop(), codecServer?.close()]);
    throw error;
  }
  return {
    temporal,
    emulator,
    worker,
    taskQueue,
    sealPublicKey: paths.devKeys.public,
    keyRing,
    ...(codecServer ? { codecServer: { url: codecServer.url } } : {}),
    ...(intake ? { intake } : {}),
    async stop() {
      await intake?.close();
      await codecServer?.close();
      await worker.close();
      await Promise.all([emulator.close(), temporal.stop()]);
    },
  };
}
