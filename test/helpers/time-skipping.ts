import { randomBytes } from 'node:crypto';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { createOnboardingWorker, type OnboardingWorkerOptions } from '../../src/temporal/worker.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../../src/workflows/definitions.js';

/** What a test chooses for its worker; the connection, namespace and prebuilt bundle come from the environment. */
export type TimeSkippingWorkerOptions = Omit<OnboardingWorkerOptions, 'connection' | 'namespace' | 'workflowBundle'>;

/**
 * Temporal's time-skipping test server (the Java SDK's, found by test/global-setup.ts), one per call:
 * while a test awaits a workflow's result (or env.sleep), the server's clock jumps to the next timer, so
 * a 72 h approval wait takes milliseconds. Its clock is shared by everything on it: one per test file,
 * tests in it run one after the other (vitest's default within a file).
 *
 * Unlike the dev server it has no visibility (no workflow list / count) and no ListSearchAttributes;
 * our search attributes are registered here, else every upsert fails the workflow task.
 */
export async function timeSkippingEnvironment() {
  if (!Runtime._instance)
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      // core warns that this server does not advertise a capability (heartbeat details on failure): expected here
      telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
      shutdownSignals: [],
    });
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('temporalTestServer') } },
  });
  try {
    await registerSearchAttributes(env, SEARCH_ATTRIBUTE_KEYS);
  } catch (error) {
    await env.teardown();
    throw error;
  }
  return {
    env,
    client: env.client,
    namespace: 'default',
    taskQueue: () => `ts-${randomBytes(6).toString('hex')}`,
    /** An onboarding worker (createOnboardingWorker) on this server, with the run's prebuilt workflow bundle. */
    async worker(options: TimeSkippingWorkerOptions): Promise<Worker> {
      return createOnboardingWorker({
        shutdownGraceTime: '1s',
        ...options,
        connection: env.nativeConnection,
        namespace: 'default',
        workflowBundle: { codePath: inject('workflowBundlePath') },
      });
    },
    /** Stops the server (and its connections); run the workers with runUntil so they are stopped first. */
    async close() {
      await env.teardown();
    },
  };
}

export type TimeSkippingHarness = Awaited<ReturnType<typeof timeSkippingEnvironment>>;

/** AddSearchAttributes is implemented (ListSearchAttributes is not): register them all, once, on a fresh server. */
async function registerSearchAttributes(env: TestWorkflowEnvironment, keys: typeof SEARCH_ATTRIBUTE_KEYS) {
  const { IndexedValueType } = proto.temporal.api.enums.v1;
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(
      keys.map((key) => [
        key.name,
        IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}` as keyof typeof IndexedValueType],
      ]),
    ),
  });
}
