import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { NativeConnection } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import { createKubeSphereActivities, type KubeSphereActivityDeps } from '../activities/kubesphere.js';
import { createTrustActivities } from '../activities/trust.js';
import type { WorkerPolicy } from '../policy/worker-policy.js';

export interface OnboardingWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: KubeSphereActivityDeps;
  /** what this worker decides, whoever starts a workflow */
  policy: WorkerPolicy;
  /** a prebuilt bundle (tests build one per run); by default the workflows are bundled at start */
  workflowBundle?: { codePath: string } | { code: string };
  maxConcurrentActivities?: number;
  /** server-side ceiling for the whole task queue, whatever the number of workers */
  activitiesPerSecond?: number;
  shutdownGraceTime?: string;
  identity?: string;
}

/** The workflows' entry module, from dist/ (built) or src/ (tsx, vitest). */
export function workflowsPath(): string {
  const js = fileURLToPath(new URL('../workflows/index.js', import.meta.url));
  return existsSync(js) ? js : js.replace(/\.js$/, '.ts');
}

export async function createOnboardingWorker(options: OnboardingWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: workflowsPath() }),
    activities: {
      ...createKubeSphereActivities(options.activities),
      ...createTrustActivities({ ...options.activities, policy: options.policy }),
    },
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? 20,
    ...(options.activitiesPerSecond ? { maxTaskQueueActivitiesPerSecond: options.activitiesPerSecond } : {}),
    shutdownGraceTime: options.shutdownGraceTime ?? '30s',
    ...(options.identity ? { identity: options.identity } : {}),
  });
}
