import { existsSync, readFileSync } from 'node:fs';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { Unsealer } from '../codec/seal.js';
import type { KubeSphereConfig, TemporalConfig, workerConfig } from '../config.js';
import { KubeSphereClient } from '../kubesphere/client.js';
import { ensureSearchAttributes } from './search-attributes.js';
import { createOnboardingWorker } from './worker.js';

export interface RunningWorker {
  worker: Worker;
  close(): Promise<void>;
}

/** Everything a worker process needs, built once from configuration. */
export async function buildWorker(options: {
  temporal: TemporalConfig;
  kubesphere: KubeSphereConfig;
  worker: ReturnType<typeof workerConfig>;
  log: Logger;
}): Promise<RunningWorker> {
  const { temporal, kubesphere, worker: tuning, log } = options;
  const keys = tuning.sealPrivateKeys.filter((path) => {
    if (existsSync(path)) return true;
    log.warn({ path }, 'sealing key not found: onboardings that carry a password will fail on this worker');
    return false;
  });
  const unsealer = keys.length ? new Unsealer(keys.map((path) => readFileSync(path, 'utf8'))) : undefined;
  const client = new KubeSphereClient({
    baseUrl: kubesphere.baseUrl,
    credentials: kubesphere.credentials,
    connections: tuning.maxConcurrentActivities,
  });
  const connection = await NativeConnection.connect({ address: temporal.address });
  try {
    const added = await ensureSearchAttributes(connection, temporal.namespace);
    if (added.length) log.info({ added }, 'registered search attributes');
  } catch (error) {
    log.warn(
      { err: (error as Error).message },
      'could not check search attributes; register them as in the README if workflows fail to upsert',
    );
  }
  const worker = await createOnboardingWorker({
    connection,
    namespace: temporal.namespace,
    taskQueue: temporal.taskQueue,
    activities: { client, unsealer, creator: kubesphere.username },
    maxConcurrentActivities: tuning.maxConcurrentActivities,
    activitiesPerSecond: tuning.activitiesPerSecond,
    shutdownGraceTime: tuning.shutdownGraceTime,
  });
  log.info(
    {
      taskQueue: temporal.taskQueue,
      temporal: temporal.address,
      kubesphere: kubesphere.baseUrl,
      maxConcurrentActivities: tuning.maxConcurrentActivities,
      activitiesPerSecond: tuning.activitiesPerSecond,
    },
    'worker ready',
  );
  return {
    worker,
    async close() {
      await client.close();
      await connection.close();
    },
  };
}
