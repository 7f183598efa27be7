import { readPem, Unsealer } from '../../src/codec/seal.js';
import { codecKeyRing } from '../../src/config.js';
import { KubeSphereClient } from '../../src/kubesphere/client.js';
import { kubesphereObserver, type WorkerObservability } from '../../src/metrics/observe.js';
import type { WorkerPolicy } from '../../src/policy/worker-policy.js';
import { dataConverterFor } from '../../src/temporal/data-converter.js';
import { createOnboardingWorker } from '../../src/temporal/worker.js';
import { NativeConnection } from '@temporalio/worker';
import type proto from '@temporalio/proto';
import { inject } from 'vitest';
import { ADMIN_PASSWORD } from '../helpers/emulator.js';
import { TEST_POLICY, type TemporalHarness } from '../helpers/temporal.js';

/**
 * A worker as `ks-onboard worker` builds it (buildWorker), with an audit sink, metrics and tracing as given: the
 * KubeSphere client observed, the policy telling workflows to record their events when anything takes them.
 */
export async function observedWorkers(t: TemporalHarness) {
  const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const clients: KubeSphereClient[] = [];
  return {
    async worker(
      taskQueue: string,
      emulatorUrl: string,
      observability: WorkerObservability,
      options: { workflowBundle?: string; policy?: Partial<WorkerPolicy> } = {},
    ) {
      const client = new KubeSphereClient({
        baseUrl: emulatorUrl,
        credentials: { username: 'admin', password: ADMIN_PASSWORD },
        observe: kubesphereObserver(emulatorUrl, observability),
      });
      clients.push(client);
      t.useEmulator(taskQueue, emulatorUrl);
      return createOnboardingWorker({
        connection,
        namespace: 'default',
        taskQueue,
        workflowBundle: { codePath: options.workflowBundle ?? inject('workflowBundlePath') },
        activities: { client, unsealer: new Unsealer([readPem(t.keys.private)]), creator: 'admin' },
        policy: { ...TEST_POLICY, workflowIdPrefix: t.prefixOf(taskQueue), ...options.policy },
        dataConverter: dataConverterFor(codecKeyRing()),
        shutdownGraceTime: '1s',
        ...observability,
      });
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await connection.close();
    },
  };
}

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

/** The local activity markers of a history, by activity type (core writes their `data` as plain JSON). */
export function localActivityTypes(events: HistoryEvent[]): string[] {
  return events.flatMap((event) => {
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_local_activity') return [];
    const data = marker.details?.data?.payloads?.[0]?.data;
    if (!data) return ['?'];
    return [(JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string }).activity_type ?? '?'];
  });
}
