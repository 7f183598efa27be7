import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { readPrivateKeyFile, readSecretFile } from '../files.js';
import { Unsealer } from '../codec/seal.js';
import type { KubeSphereConfig, Login, TemporalConfig, workerConfig, workerPolicyConfig } from '../config.js';
import { ConfigError } from '../config.js';
import type { Credentials } from '../kubesphere/auth.js';
import { KubeSphereClient } from '../kubesphere/client.js';
import { RequestPacer } from '../kubesphere/pacer.js';
import { isKubeSphereError } from '../kubesphere/errors.js';
import type { WorkerPolicy } from '../policy/worker-policy.js';
import type { HrConfig } from '../intake/config.js';
import type { NotifyConfig } from '../notify/config.js';
import type { KeyRing } from '../codec/payload-codec.js';
import { dataConverterFor } from './data-converter.js';
import { ensureSearchAttributes, SearchAttributesError } from './search-attributes.js';
import { describeConnectFailure, temporalConnectOptions } from './connection-config.js';
import { createOnboardingWorker } from './worker.js';
import { pickBundle } from './bundle-path.js';
import { shareRequestBudget } from './request-budget.js';
import { kubesphereObserver, type WorkerObservability } from '../metrics/observe.js';

export interface RunningWorker {
  worker: Worker;
  client: KubeSphereClient;
  policy: WorkerPolicy;
  close(): Promise<void>;
}

/** A password file is read at each login, so a fixed password is picked up without a restart. */
export function credentialsOf(login: Login): Credentials {
  if ('token' in login) return { token: login.token };
  if ('password' in login) return login;
  const { passwordFile, ...rest } = login;
  return () => ({
    ...rest,
    password: readSecretFile(passwordFile, 'KUBESPHERE_PASSWORD_FILE', 'a file holding the password'),
  });
}

/**
 * The worker's own account is protected by name (never changed, never an approver), so the name must be
 * KubeSphere's: a login by email would leave it unprotected. A refused login does not stop the worker (it
 * stays up, not ready, and says why); a KubeSphere that cannot be reached yet is only a warning.
 */
async function checkAccountName(client: KubeSphereClient, username: string, log: Logger): Promise<void> {
  try {
    await client.getUser(username);
  } catch (error) {
    if (isKubeSphereError(error, 'KS_NOT_FOUND')) {
      await client.close();
      throw new ConfigError(
        `KUBESPHERE_USERNAME=${username}: KubeSphere has no user of that name; give the account's username, not its email`,
      );
    }
    if (!isKubeSphereError(error, 'KS_LOGIN_FAILED') && !isKubeSphereError(error, 'KS_LOCKED_OUT'))
      log.warn({ err: (error as Error).message }, 'could not check the worker account with KubeSphere yet');
  }
}

/** Everything a worker process needs, built once from configuration. */
export async function buildWorker(options: {
  temporal: TemporalConfig;
  kubesphere: KubeSphereConfig;
  worker: ReturnType<typeof workerConfig>;
  policy: ReturnType<typeof workerPolicyConfig>;
  /** HR deliveries (hrConfig()); undefined: this worker refuses them */
  hr?: HrConfig;
  /** the payload key ring (requiredCodecKeyRing()) */
  keyRing: KeyRing;
  /** outbound notifications (notifyConfig()); undefined: off */
  notify?: NotifyConfig;
  /** audit trail, metrics, tracing (docs/observability.md); undefined: none */
  observability?: WorkerObservability;
  log: Logger;
}): Promise<RunningWorker> {
  const { temporal, kubesphere, worker: tuning, log } = options;
  const bundle =
    tuning.workflowBundle && pickBundle(tuning.workflowBundle, options.observability?.tracing !== undefined);
  const unsealer = new Unsealer(tuning.sealPrivateKeys.map((path) => readPrivateKeyFile(path)));
  // The deployment's request budget, shared by its workers (shareRequestBudget, once connected): alone until counted.
  const pacer = new RequestPacer(tuning.kubesphereRequestsPerSecond);
  const client = new KubeSphereClient({
    baseUrl: kubesphere.baseUrl,
    credentials: credentialsOf(kubesphere.login),
    connections: tuning.maxConcurrentActivities,
    pacer,
    observe: kubesphereObserver(kubesphere.baseUrl, options.observability ?? {}),
    onCredentialsRejected: (reason) =>
      log.error(
        { kubesphere: kubesphere.baseUrl },
        `KubeSphere rejected the worker's login: ${reason}. Every onboarding fails until the credentials change ` +
          '(a password file is read again at the next call; each restart costs one more failed login).',
      ),
  });
  let workerAccount = kubesphere.username;
  if (!workerAccount && 'token' in kubesphere.login) {
    // The worker's own account is protected (never changed, never an approver): learn who the token is.
    try {
      workerAccount = (await client.whoAmI(kubesphere.login.token)).username;
    } catch (error) {
      await client.close();
      throw new ConfigError(
        `KUBESPHERE_TOKEN: KubeSphere did not say whose token it is (${(error as Error).message}); set KUBESPHERE_USERNAME too`,
      );
    }
  }
  if (workerAccount && !('token' in kubesphere.login)) await checkAccountName(client, workerAccount, log);
  const policy: WorkerPolicy = {
    ...options.policy,
    workflowIdPrefix: temporal.workflowIdPrefix,
    ...(workerAccount ? { workerAccount } : {}),
  };
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(temporalConnectOptions(temporal));
  } catch (error) {
    await client.close();
    throw new Error(`cannot reach Temporal at ${temporal.address}: ${describeConnectFailure(error, temporal)}`, {
      cause: error,
    });
  }
  try {
    const added = await ensureSearchAttributes(connection, temporal.namespace);
    if (added.length) log.info({ added }, 'registered search attributes');
  } catch (error) {
    // Missing ones this worker may not register, or another type: every workflow would fail to upsert them.
    if (error instanceof SearchAttributesError) {
      await client.close();
      await connection.close();
      throw error;
    }
    log.warn(
      { err: (error as Error).message },
      'could not check search attributes; register them as in the README if workflows fail to upsert',
    );
  }
  const worker = await createOnboardingWorker({
    connection,
    namespace: temporal.namespace,
    taskQueue: temporal.taskQueue,
    activities: { client, unsealer, creator: workerAccount },
    policy,
    ...(options.hr ? { hr: options.hr } : {}),
    ...(options.notify ? { notify: options.notify } : {}),
    ...options.observability,
    dataConverter: dataConverterFor(options.keyRing),
    maxConcurrentActivities: tuning.maxConcurrentActivities,
    activitiesPerSecond: tuning.activitiesPerSecond,
    shutdownGraceTime: tuning.shutdownGraceTime,
    ...(bundle ? { workflowBundle: { codePath: bundle } } : {}),
  });
  // Before 'worker ready': whoever waits for that line finds the worker wholly started.
  const budget = await shareRequestBudget({
    connection,
    namespace: temporal.namespace,
    taskQueue: temporal.taskQueue,
    budget: tuning.kubesphereRequestsPerSecond,
    pacer,
    log,
    identity: worker.options.identity,
  });
  log.info(
    {
      taskQueue: temporal.taskQueue,
      temporal: temporal.address,
      kubesphere: kubesphere.baseUrl,
      account: workerAccount,
      maxConcurrentActivities: tuning.maxConcurrentActivities,
      activitiesPerSecond: tuning.activitiesPerSecond,
      workflowBundle: bundle ?? 'bundled at start',
      elevatedRoles: policy.elevatedRoles,
      approvalTimeoutMs: policy.approvalTimeoutMs,
      protectedWorkspaces: policy.protectedWorkspaces,
      hr: options.hr
        ? {
            vendors: Object.entries(options.hr.vendors.secrets).flatMap(([vendor, secrets]) =>
              secrets.length ? [vendor] : [],
            ),
            mapping: options.hr.mappingFile,
            timeZone: options.hr.timeZone,
            leadTimeMs: options.hr.leadTimeMs,
          }
        : 'off',
      // the receiver's origin only: a chat's webhook URL carries its token in the path
      notify: options.notify ? { receiver: new URL(options.notify.url).origin, events: options.notify.events } : 'off',
      audit: options.observability?.audit?.description ?? 'off',
      tracing: options.observability?.tracing ? 'on' : 'off',
    },
    'worker ready',
  );
  if (options.hr?.vendors.secrets.bamboohr.length && !options.hr.vendors.api.bamboohr)
    log.warn(
      'BambooHR secrets are set without KS_ONBOARD_BAMBOOHR_API_URL/KEY: only field webhooks that post every field can be read; event webhooks (ids only) are refused',
    );
  return {
    worker,
    client,
    policy,
    async close() {
      budget.stop();
      await client.close();
      await connection.close();
    },
  };
}
