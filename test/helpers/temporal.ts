import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { ensureDevKeyPair, readPem, seal, Unsealer } from '../../src/codec/seal.js';
import { KubeSphereClient } from '../../src/kubesphere/client.js';
import type { OnboardUserInput } from '../../src/policy/plan.js';
import { createOnboardingWorker } from '../../src/temporal/worker.js';
import type { OnboardingState } from '../../src/workflows/definitions.js';
import { ADMIN_PASSWORD } from './emulator.js';

let runtimeInstalled = false;

/** Connections to the run's dev server, and a worker factory bound to an emulator. */
export async function temporalHarness() {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
    runtimeInstalled = true;
  }
  const address = inject('temporalAddress');
  const connection = await Connection.connect({ address });
  const nativeConnection = await NativeConnection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  const keyDir = mkdtempSync(join(tmpdir(), 'ks-keys-'));
  const keys = { private: join(keyDir, 'private.pem'), public: join(keyDir, 'public.pem') };
  ensureDevKeyPair(keys.private, keys.public);
  const workers: KubeSphereClient[] = [];

  return {
    client,
    address,
    keys,
    sealPassword: (password: string) => seal(password, readPem(keys.public)),
    taskQueue: () => `test-${randomBytes(6).toString('hex')}`,
    async worker(taskQueue: string, emulatorUrl: string): Promise<Worker> {
      const ks = new KubeSphereClient({
        baseUrl: emulatorUrl,
        credentials: { username: 'admin', password: ADMIN_PASSWORD },
      });
      workers.push(ks);
      return createOnboardingWorker({
        connection: nativeConnection,
        namespace: 'default',
        taskQueue,
        workflowBundle: { codePath: inject('workflowBundlePath') },
        activities: { client: ks, unsealer: new Unsealer([readPem(keys.private)]), creator: 'admin' },
        shutdownGraceTime: '1s',
      });
    },
    startOnboarding(
      taskQueue: string,
      input: OnboardUserInput,
      workflowId = `onboard-${input.username}-${randomBytes(4).toString('hex')}`,
    ) {
      return client.workflow.start<(input: OnboardUserInput) => Promise<OnboardingState>>('onboardUser', {
        taskQueue,
        workflowId,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        staticSummary: `onboard ${input.username}`,
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await nativeConnection.close();
      await connection.close();
    },
  };
}

export type TemporalHarness = Awaited<ReturnType<typeof temporalHarness>>;

/** The failure a workflow ended with: its ApplicationFailure (type, message, details). */
export async function failureOf(handle: WorkflowHandle): Promise<ApplicationFailure> {
  try {
    await handle.result();
  } catch (error) {
    if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure) return error.cause;
    throw error;
  }
  throw new Error('the workflow succeeded, but a failure was expected');
}

/** Every payload of a history, decoded from base64, so tests can search what a person would see. */
export function decodedHistory(history: unknown): string {
  const parts: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'data' && (typeof value === 'string' || value instanceof Uint8Array)) {
          parts.push(
            typeof value === 'string'
              ? Buffer.from(value, 'base64').toString('utf8')
              : Buffer.from(value).toString('utf8'),
          );
        } else walk(value);
      }
    }
  };
  walk(JSON.parse(JSON.stringify(history)));
  return `${JSON.stringify(history)}\n${parts.join('\n')}`;
}
