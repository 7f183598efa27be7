import proto from '@temporalio/proto';
import type { NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { RequestPacer } from '../kubesphere/pacer.js';

/** How often the workers of the task queue are counted again. */
const RECOUNT_MS = 30_000;
/** How long a worker's start waits for the first count. */
const FIRST_COUNT_MS = 5_000;
/** A poller not seen for this long has stopped (Temporal keeps pollers listed for a few minutes after). */
const GONE_AFTER_MS = 90_000;

export interface RequestBudget {
  /** workers counted at the last look */
  readonly workers: number;
  stop(): void;
}

/**
 * Keeps this worker's share of the deployment's KubeSphere request budget: the budget divided by the workers polling
 * the task queue (counted from Temporal every 30 s), so that adding workers never raises the load on KubeSphere. A
 * count that fails keeps the share as it was; this worker always counts itself.
 */
export async function shareRequestBudget(options: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** requests a second for the whole deployment */
  budget: number;
  pacer: RequestPacer;
  log: Logger;
  /** this worker's identity, counted even before it polls */
  identity?: string;
}): Promise<RequestBudget> {
  let workers = 1;
  const recount = async () => {
    try {
      const { pollers } = await options.connection.workflowService.describeTaskQueue({
        namespace: options.namespace,
        taskQueue: { name: options.taskQueue, kind: proto.temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      });
      workers = countWorkers(pollers ?? [], Date.now(), options.identity);
      const share = options.budget / workers;
      if (share !== options.pacer.rate) {
        options.pacer.rate = share;
        options.log.info({ workers, requestsPerSecond: share }, "this worker's share of the KubeSphere request budget");
      }
    } catch (error) {
      options.log.debug({ err: (error as Error).message }, 'could not count the workers of the task queue');
    }
  };
  // The first count before the worker says it is ready, but a Temporal slow to answer does not hold the start.
  let waited: NodeJS.Timeout | undefined;
  await Promise.race([recount(), new Promise<void>((resolve) => (waited = setTimeout(resolve, FIRST_COUNT_MS)))]);
  clearTimeout(waited);
  const timer = setInterval(() => void recount(), RECOUNT_MS);
  timer.unref();
  return {
    get workers() {
      return workers;
    },
    stop: () => clearInterval(timer),
  };
}

/** Distinct workers seen polling lately, this one included. */
export function countWorkers(
  pollers: Array<{ identity?: string | null; lastAccessTime?: { seconds?: unknown; nanos?: number | null } | null }>,
  now: number,
  self?: string,
): number {
  const seen = new Set<string>(self ? [self] : []);
  for (const poller of pollers) {
    const at = poller.lastAccessTime ? Number(poller.lastAccessTime.seconds ?? 0) * 1000 : now;
    if (poller.identity && now - at <= GONE_AFTER_MS) seen.add(poller.identity);
  }
  return Math.max(1, seen.size);
}
