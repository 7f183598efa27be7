import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, type DataConverter, type Payload } from '@temporalio/common';
import { codecKeyRing } from '../../src/config.js';
import { dataConverterFor } from '../../src/temporal/data-converter.js';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { ensureDevKeyPair, readPem, seal, Unsealer } from '../../src/codec/seal.js';
import { KubeSphereClient } from '../../src/kubesphere/client.js';
import { isKubeSphereError } from '../../src/kubesphere/errors.js';
import { loginOnce } from '../../src/kubesphere/login.js';
import type { OnboardRequest, RoleChangeRequest } from '../../src/policy/plan.js';
import { DEFAULT_ELEVATED_ROLES, type WorkerPolicy } from '../../src/policy/worker-policy.js';
import { decideUpdate, stateQuery, WORKFLOW_ID } from '../../src/workflows/definitions.js';
import { roleChangeTarget } from '../../src/policy/plan.js';
import {
  decisionInput,
  onboardingInput,
  proposeOnboarding,
  proposeRoleChange,
  roleChangeInput,
} from '../../src/temporal/start.js';
import { createOnboardingWorker } from '../../src/temporal/worker.js';
import { startImport, type BatchRequest } from '../../src/temporal/start-import.js';
import type { BatchPerson } from '../../src/policy/batch.js';
import type { NotifyConfig } from '../../src/notify/config.js';
import type { HrConfig } from '../../src/intake/config.js';
import { ADMIN_PASSWORD } from './emulator.js';

/** The emulator's second platform-admin (seeded): asks for things in tests; `admin` is the worker. */
export const OPS = { username: 'ops-admin', password: 'Ops-P@88w0rd' };

export const TEST_POLICY: WorkerPolicy = {
  elevatedRoles: [...DEFAULT_ELEVATED_ROLES],
  approvalTimeoutMs: 72 * 3_600_000,
  protectedWorkspaces: [],
  workerAccount: 'admin',
};

/** Connections to the run's dev server, and a worker factory bound to an emulator. */
export async function temporalHarness() {
  // one runtime per process, whichever helper makes it first
  if (!Runtime._instance) Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  const address = inject('temporalAddress');
  const connection = await Connection.connect({ address });
  const nativeConnection = await NativeConnection.connect({ address });
  const client = new Client({ connection, namespace: 'default', dataConverter: dataConverterFor(codecKeyRing()) });
  const keyDir = mkdtempSync(join(tmpdir(), 'ks-keys-'));
  const keys = { private: join(keyDir, 'private.pem'), public: join(keyDir, 'public.pem') };
  ensureDevKeyPair(keys.private, keys.public);
  const workers: KubeSphereClient[] = [];
  const tokens = new Map<string, Promise<string>>();
  const emulatorOf = new Map<string, string>();
  const prefixes = new Map<string, string>();
  /**
   * Workflow ids of a task queue's tests start with the task queue, so tests sharing the run's server never
   * meet each other's `onboard-<username>` (the worker runs a request only under its own id).
   */
  const prefixOf = (taskQueue: string) => prefixes.get(taskQueue) ?? `${taskQueue}.`;
  /** A person's own KubeSphere token (one login per emulator and person). */
  const tokenOf = (emulatorUrl: string, who: { username: string; password: string }) => {
    const key = `${emulatorUrl} ${who.username}`;
    if (!tokens.has(key)) tokens.set(key, loginThroughFaults(emulatorUrl, who));
    return tokens.get(key)!;
  };
  const requester = async (taskQueue: string, who: { username: string; password: string }) => ({
    token: await tokenOf(emulatorOf.get(taskQueue)!, who),
    publicKey: readPem(keys.public),
  });

  return {
    client,
    address,
    keys,
    sealPassword: (password: string) => seal(password, readPem(keys.public)),
    taskQueue: () => `test-${randomBytes(6).toString('hex')}`,
    tokenOf,
    prefixOf,
    /**
     * A task queue with its own workflow id prefix, and the CLI's environment for it, as ops-admin; `as(who)` is the
     * same environment for another KubeSphere user (an approver, a platform-admin).
     */
    cliDeployment(emulatorUrl: string, dataDir: string, extra: NodeJS.ProcessEnv = {}) {
      const taskQueue = `test-${randomBytes(6).toString('hex')}`;
      const prefix = prefixOf(taskQueue);
      const env: NodeJS.ProcessEnv = {
        TEMPORAL_ADDRESS: address,
        KS_ONBOARD_TASK_QUEUE: taskQueue,
        KS_ONBOARD_WORKFLOW_ID_PREFIX: prefix,
        KS_ONBOARD_SEAL_PUBLIC_KEY: keys.public,
        KS_ONBOARD_DATA_DIR: dataDir,
        KUBESPHERE_HOST: emulatorUrl,
        KUBESPHERE_USERNAME: OPS.username,
        KUBESPHERE_PASSWORD: OPS.password,
        ...extra,
      };
      const as = (who: { username: string; password: string }): NodeJS.ProcessEnv => ({
        ...env,
        KUBESPHERE_USERNAME: who.username,
        KUBESPHERE_PASSWORD: who.password,
      });
      return { taskQueue, prefix, env, as };
    },
    /** Requests on this task queue are made by people of this emulator (when its worker is a process). */
    useEmulator(taskQueue: string, emulatorUrl: string) {
      emulatorOf.set(taskQueue, emulatorUrl);
    },
    /** A worker on its own task queue, acting as `admin` on this emulator, with the test policy. */
    async worker(
      taskQueue: string,
      emulatorUrl: string,
      policy: Partial<WorkerPolicy> = {},
      credentials = { username: 'admin', password: ADMIN_PASSWORD },
      options: { hr?: HrConfig; dataConverter?: DataConverter; notify?: NotifyConfig } = {},
    ): Promise<Worker> {
      const ks = new KubeSphereClient({ baseUrl: emulatorUrl, credentials });
      workers.push(ks);
      emulatorOf.set(taskQueue, emulatorUrl);
      if (policy.workflowIdPrefix !== undefined) prefixes.set(taskQueue, policy.workflowIdPrefix);
      return createOnboardingWorker({
        connection: nativeConnection,
        namespace: 'default',
        taskQueue,
        workflowBundle: { codePath: inject('workflowBundlePath') },
        activities: { client: ks, unsealer: new Unsealer([readPem(keys.private)]), creator: 'admin' },
        policy: { ...TEST_POLICY, workflowIdPrefix: prefixOf(taskQueue), ...policy },
        ...(options.hr ? { hr: options.hr } : {}),
        ...(options.notify ? { notify: options.notify } : {}),
        dataConverter: options.dataConverter ?? dataConverterFor(codecKeyRing()),
        shutdownGraceTime: '1s',
      });
    },
    /** Proposes an onboarding as `as` (default ops-admin) through the same start helper as the CLI. */
    async propose(
      taskQueue: string,
      request: OnboardRequest,
      as = OPS,
      workflowId = WORKFLOW_ID.onboard(request.username, prefixOf(taskQueue)),
    ) {
      const input = onboardingInput(request, await requester(taskQueue, as), workflowId);
      return proposeOnboarding(client, taskQueue, input, workflowId);
    },
    /** Starts (or attaches to) a batch as `as` (default ops-admin) through the same helper as `ks-onboard import`. */
    async startImport(taskQueue: string, request: BatchRequest, people: BatchPerson[], as = OPS) {
      return startImport(client, taskQueue, request, people, await requester(taskQueue, as), prefixOf(taskQueue));
    },
    async proposeRoleChange(taskQueue: string, request: RoleChangeRequest, as = OPS, workflowId?: string) {
      const target = roleChangeTarget(request);
      const id = workflowId ?? WORKFLOW_ID.changeRole(request.username, request.scope, target, prefixOf(taskQueue));
      const input = roleChangeInput(request, await requester(taskQueue, as), id);
      return proposeRoleChange(client, taskQueue, input, id);
    },
    /** Decides on what a run waits for, as `as` would with `ks-onboard approve/reject`; returns the update's outcome. */
    async decide(
      taskQueue: string,
      handle: WorkflowHandle,
      approve: boolean,
      as: { username: string; password: string },
      reason?: string,
    ) {
      const { runId } = await handle.describe();
      const run = client.workflow.getHandle(handle.workflowId, runId);
      const grants = (await run.query(stateQuery)).approval?.grants ?? [];
      const decision = decisionInput(
        { workflowId: handle.workflowId, runId, grants },
        await requester(taskQueue, as),
        approve,
        reason,
      );
      return run.executeUpdate(decideUpdate, { args: [decision] });
    },
    /** A raw start, as any Temporal client could send it: for inputs our own helpers refuse to build. */
    startRaw(taskQueue: string, workflowType: 'onboardUser' | 'changeRole', input: unknown) {
      return client.workflow.start(workflowType, {
        taskQueue,
        workflowId: `raw-${randomBytes(6).toString('hex')}`,
        args: [input],
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await nativeConnection.close();
      await connection.close();
    },
  };
}

/** A test's own login, retried through injected 5xx and resets (a wrong password is never retried). */
async function loginThroughFaults(baseUrl: string, who: { username: string; password: string }): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await loginOnce({ baseUrl, ...who })).accessToken;
    } catch (error) {
      const transient = isKubeSphereError(error, 'KS_UNAVAILABLE') || isKubeSphereError(error, 'KS_NETWORK');
      if (!transient || attempt >= 20) throw error;
    }
  }
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

/**
 * A history as anyone with access to Temporal reads it (no key): its JSON and every payload's bytes as text.
 * Encrypted payloads stay ciphertext here.
 */
export function rawHistoryText(history: unknown): string {
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

/** A history as an operator with the key reads it (the Web UI through the codec server): payloads decrypted. */
export async function decodedHistory(history: unknown): Promise<string> {
  const payloads: Payload[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const candidate = node as { metadata?: unknown; data?: unknown };
      if (candidate.data instanceof Uint8Array && candidate.metadata && typeof candidate.metadata === 'object')
        payloads.push(candidate as Payload);
      else Object.values(node).forEach(walk);
    }
  };
  walk(history);
  let decoded = payloads;
  for (const codec of dataConverterFor(codecKeyRing()).payloadCodecs ?? []) decoded = await codec.decode(decoded);
  const texts = decoded.map((p) => Buffer.from(p.data ?? new Uint8Array()).toString('utf8'));
  return `${rawHistoryText(history)}\n${texts.join('\n')}`;
}
