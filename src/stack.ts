import { join } from 'node:path';
import type { Logger } from 'pino';
import { ensureDevKeyPair } from './codec/seal.js';
import {
  codecKeyRing,
  type KubeSphereConfig,
  hrConfig,
  notifyConfig,
  pathsConfig,
  temporalUiConfigured,
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
  const codecServer = await startLocalCodecServer(keyRing, options);
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
  let ours: OurParts;
  try {
    ours = await startOurParts({
      temporal: { address: temporal.address, namespace: temporal.namespace, uiUrl: temporal.uiUrl },
      kubesphere: emulatorKubeSphere(emulator.url),
      approver: true,
      keyRing,
      intakePort: options.intakePort,
      log,
    });
  } catch (error) {
    await Promise.all([emulator.close(), temporal.stop(), codecServer?.close()]);
    throw error;
  }
  const { worker, intake, taskQueue } = ours;
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

// ---- shared with `ks-onboard stack prod-local`, which runs the same parts against its own Temporal server ----

/** The Web UI decodes payloads through a local codec server (loopback only, so no authentication). */
async function startLocalCodecServer(
  keyRing: KeyRing,
  options: { uiPort: number | undefined; codecPort?: number; log: Logger },
): Promise<{ url: string; close(): Promise<void> } | undefined> {
  if (options.uiPort === undefined) return undefined;
  return startCodecServer(
    {
      codec: new PayloadEncryptionCodec(keyRing),
      corsOrigin: [`http://127.0.0.1:${options.uiPort}`, `http://localhost:${options.uiPort}`],
      auth: { mode: 'none' },
      log: options.log,
    },
    { port: options.codecPort ?? 0, host: '127.0.0.1' },
  );
}

/** The emulator, as its admin: the account the dev stack's worker acts as. */
function emulatorKubeSphere(url: string): KubeSphereConfig {
  return {
    baseUrl: url,
    login: { ...EMULATOR_ADMIN, clientId: 'kubesphere', clientSecret: 'kubesphere' },
    username: EMULATOR_ADMIN.username,
  };
}

interface OurParts {
  worker: RunningWorker;
  intake: Stack['intake'];
  taskQueue: string;
}

/** Our worker (and the dev approver, on the emulator) and the HR intake, on a Temporal that answers already. */
async function startOurParts(options: {
  temporal: { address: string; namespace: string; uiUrl?: string | undefined };
  kubesphere: KubeSphereConfig;
  /** make DEV_APPROVER (only ever in the emulator) */
  approver: boolean;
  keyRing: KeyRing;
  intakePort: number | undefined;
  log: Logger;
}): Promise<OurParts> {
  const paths = pathsConfig();
  const { temporal, keyRing, log } = options;
  const taskQueue = 'ks-onboard';
  const hrSecrets = ensureDevHrSecrets(paths.dataDir);
  const hr = devHrConfig(hrConfig(), hrSecrets);
  const configured = notifyConfig();
  // Links in notices go to this stack's Web UI unless one is configured (a default :8233 may be another stack's).
  const notify =
    configured && temporal.uiUrl && !temporalUiConfigured() ? { ...configured, webUiUrl: temporal.uiUrl } : configured;
  const worker = await buildWorker({
    temporal: { address: temporal.address, namespace: temporal.namespace, taskQueue, workflowIdPrefix: '' },
    kubesphere: options.kubesphere,
    worker: { ...workerConfig(), sealPrivateKeys: [paths.devKeys.private] },
    policy: workerPolicyConfig(),
    hr,
    keyRing,
    ...(notify ? { notify } : {}),
    log,
  });
  let intake: Stack['intake'];
  try {
    if (options.approver) await ensureApprover(worker);
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
    await worker.close();
    throw error;
  }
  return { worker, intake, taskQueue };
}

/** A Temporal that runs already (a cluster, or `stack prod-local`'s own server): nothing of it is started or stopped. */
export interface ExternalTemporal {
  address: string;
  namespace: string;
  /** its Web UI, when there is one */
  uiUrl?: string;
}

export interface ServicesOptions {
  temporal: ExternalTemporal;
  /** a real KubeSphere and the worker's login (kubesphereConfig()); undefined: the emulator */
  kubesphere?: KubeSphereConfig;
  /** the emulator's port (0 = any free port) and where it keeps its state (undefined: in memory) */
  emulatorPort: number;
  emulatorStateFile?: string;
  controllerDelayMs: number;
  /** the Web UI's port: a codec server that admits it (CORS) is started; undefined = no codec server */
  uiPort: number | undefined;
  codecPort?: number;
  /** the HR intake's port (0 = any free port); undefined = no intake */
  intakePort?: number;
  log: Logger;
}

/** What `startServices` runs: the stack's parts but Temporal. */
export interface Services extends Omit<Stack, 'temporal' | 'emulator'> {
  temporal: ExternalTemporal;
  /** undefined when a real KubeSphere is used */
  emulator?: Emulator;
  /** KubeSphere's address: the emulator's or the real one */
  kubesphereUrl: string;
}

/**
 * The dev stack's parts on an external Temporal: the codec server, the emulator (or a real KubeSphere), the
 * worker (the emulator's dev approver made, as under `dev`) and the HR intake, with the same keys and secrets under
 * the data directory. `stop()` stops what it started; the Temporal server stays.
 */
export async function startServices(options: ServicesOptions): Promise<Services> {
  const paths = pathsConfig();
  const { log } = options;
  ensureDevKeyPair(paths.devKeys.private, paths.devKeys.public);
  const keyRing = codecKeyRing() ?? parseKeyRing(ensureDevCodecKeys(paths.devCodecKeys));
  const codecServer = await startLocalCodecServer(keyRing, options);
  let emulator: Emulator | undefined;
  let ours: OurParts;
  try {
    if (!options.kubesphere) {
      const delay = options.controllerDelayMs;
      emulator = await createEmulator({
        port: options.emulatorPort,
        stateFile: options.emulatorStateFile,
        delays: { userActivationMs: delay, workspaceRolesMs: delay, projectRolesMs: delay },
        adminPassword: EMULATOR_ADMIN.password,
      });
    }
    ours = await startOurParts({
      temporal: options.temporal,
      kubesphere: options.kubesphere ?? emulatorKubeSphere(emulator!.url),
      approver: emulator !== undefined,
      keyRing,
      intakePort: options.intakePort,
      log,
    });
  } catch (error) {
    await Promise.all([emulator?.close(), codecServer?.close()]);
    throw error;
  }
  const { worker, intake, taskQueue } = ours;
  return {
    temporal: options.temporal,
    ...(emulator ? { emulator } : {}),
    kubesphereUrl: emulator?.url ?? options.kubesphere!.baseUrl,
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
      await emulator?.close();
    },
  };
}
