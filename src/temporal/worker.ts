import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { NativeConnection } from '@temporalio/worker';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { FailureType } from '../failures.js';
import { createKubeSphereActivities, type KubeSphereActivityDeps } from '../activities/kubesphere.js';
import { createTrustActivities } from '../activities/trust.js';
import { cachedSwitchReader, createSwitchActivities, holdWrites, type SwitchDeps } from '../activities/write-switch.js';
import { createBatchActivities } from '../activities/batch.js';
import { createInspectActivities } from '../activities/inspect.js';
import { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { WorkerPolicy } from '../policy/worker-policy.js';
import { createHrActivities } from '../activities/hr.js';
import type { HrConfig } from '../intake/config.js';
import { createVendorApi } from '../intake/vendors/api.js';
import { createNotifyActivities } from '../notify/activity.js';
import type { NotifyConfig } from '../notify/config.js';
import { createAuditActivities } from '../audit/activity.js';
import type { AuditSink } from '../audit/sink.js';
import { waitingApprovalsCounter } from '../metrics/approvals-waiting.js';
import type { WorkerMetrics } from '../metrics/worker-metrics.js';
import { clientTracing, WORKFLOW_INTERCEPTOR_MODULES, workerTracing, type Tracing } from '../tracing/index.js';

export interface OnboardingWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: KubeSphereActivityDeps;
  /** what this worker decides, whoever starts a workflow */
  policy: WorkerPolicy;
  /** HR deliveries: the secrets to verify them, the mapping to place hires (none: HR deliveries are refused) */
  hr?: HrConfig;
  /** outbound notifications (notifyConfig()); absent: off, and workflows schedule none */
  notify?: NotifyConfig;
  /** payload encryption (dataConverterFor): the same for the worker and the client its activities use */
  dataConverter?: DataConverter;
  /** a prebuilt bundle (tests build one per run); by default the workflows are bundled at start */
  workflowBundle?: { codePath: string } | { code: string };
  maxConcurrentActivities?: number;
  /** server-side ceiling for the whole task queue, whatever the number of workers */
  activitiesPerSecond?: number;
  shutdownGraceTime?: string;
  identity?: string;
  /** the audit trail's sink (KS_ONBOARD_AUDIT); with it or `metrics`, workflows record their lifecycle events */
  audit?: AuditSink;
  /** the worker's own metrics (served by the health server's /metrics) */
  metrics?: WorkerMetrics;
  /** OpenTelemetry tracing (startTracing); absent: off (the workflows' spans are dropped) */
  tracing?: Tracing;
}

/** The workflows' entry module, from dist/ (built) or src/ (tsx, vitest). */
export function workflowsPath(): string {
  const js = fileURLToPath(new URL('../workflows/index.js', import.meta.url));
  return existsSync(js) ? js : js.replace(/\.js$/, '.ts');
}

/** The workflow types whose activities this worker runs (src/workflows/index.ts). */
const OUR_WORKFLOWS: ReadonlySet<string> = new Set([
  'onboardUser',
  'changeRole',
  'setPlatformRole',
  'importBatch',
  'importDryRun',
  'importPart',
  'hireEvent',
  'writeSwitch',
  'deliverNotice',
]);

/**
 * Activities act with the worker's KubeSphere account and trust their callers' checks, so they run only
 * for our workflows: never as a standalone activity started by a client, never for another workflow type.
 * (Whoever may run workers on this namespace could still name a workflow of theirs like ours: restrict
 * who may poll task queues with Temporal's own authorization — see the README's security model.)
 */
export function onlyForOurWorkflows<T extends Record<string, (...args: never[]) => Promise<unknown>>>(
  activities: T,
): T {
  const guarded: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    guarded[name] = (...args: never[]) => {
      const info = Context.current().info;
      if (!info.inWorkflow || !OUR_WORKFLOWS.has(info.workflowType ?? ''))
        throw ApplicationFailure.create({
          type: FailureType.PolicyViolation,
          message: `${name} runs only for ks-onboard's own workflows, not for ${info.inWorkflow ? `workflow type ${info.workflowType}` : 'a standalone activity'}`,
          nonRetryable: true,
        });
      return fn(...args);
    };
  }
  return guarded as T;
}

/** Workflows record their lifecycle events (the `audit` local activity) only when something takes them. */
function policyWithAudit(policy: WorkerPolicy, on: boolean): WorkerPolicy {
  return on ? { ...policy, audit: true } : policy;
}

/** The policy workflows read tells them which notices the receiver wants and when an approval is about to expire. */
function policyWithNotices(policy: WorkerPolicy, notify: NotifyConfig | undefined): WorkerPolicy {
  if (!notify) return policy;
  return { ...policy, notify: { events: [...notify.events], expiryWarningMs: notify.expiryWarningMs } };
}

export async function createOnboardingWorker(options: OnboardingWorkerOptions): Promise<Worker> {
  const temporal = new Client({
    connection: options.connection,
    namespace: options.namespace,
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    interceptors: clientTracing(options.tracing),
  });
  options.metrics?.countWaitingApprovals(waitingApprovalsCounter(temporal, options.taskQueue));
  const tracing = workerTracing(options.tracing);
  const switchDeps: SwitchDeps = {
    client: temporal,
    prefix: options.policy.workflowIdPrefix ?? '',
    taskQueue: options.taskQueue,
    ...(options.activities.unsealer ? { unsealer: options.activities.unsealer } : {}),
  };
  return Worker.create({
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: workflowsPath() }),
    // A prebuilt bundle has the workflow interceptors in it or not (src/temporal/bundle.ts): the caller picks it.
    interceptors: {
      activity: tracing.activity,
      ...(options.workflowBundle || !options.tracing ? {} : { workflowModules: [...WORKFLOW_INTERCEPTOR_MODULES] }),
    },
    sinks: tracing.sinks,
    activities: onlyForOurWorkflows({
      // Every write asks the deployment's pause switch first (ks-onboard pause / resume).
      ...holdWrites(createKubeSphereActivities(options.activities), cachedSwitchReader(switchDeps)),
      ...createSwitchActivities(switchDeps),
      ...createTrustActivities({
        ...options.activities,
        policy: policyWithAudit(
          policyWithNotices(options.policy, options.notify),
          !!(options.audit || options.metrics),
        ),
      }),
      ...createInspectActivities(options.activities),
      // The batch's questions to Temporal itself (parts, people already in flight), with the worker's connection.
      ...createBatchActivities(temporal),
      ...createHrActivities({
        hr: options.hr,
        vendorApi: options.hr ? createVendorApi(options.hr.vendors.api) : undefined,
        client: temporal,
      }),
      ...createNotifyActivities(options.notify, {}, temporal),
      ...createAuditActivities({ sink: options.audit, metrics: options.metrics }),
    }),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? 20,
    ...(options.activitiesPerSecond ? { maxTaskQueueActivitiesPerSecond: options.activitiesPerSecond } : {}),
    shutdownGraceTime: options.shutdownGraceTime ?? '30s',
    ...(options.identity ? { identity: options.identity } : {}),
  });
}
