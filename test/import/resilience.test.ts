import type { Payload } from '@temporalio/common';
import { decodeFirst } from '../../src/temporal/data-converter.js';
import { randomBytes } from 'node:crypto';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { BatchPerson, ImportBatchInput } from '../../src/policy/batch.js';
import { progressQuery, type BatchProgress } from '../../src/workflows/batch-definitions.js';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { ADMIN_PASSWORD, eventually, startEmulator } from '../helpers/emulator.js';
import { expectedPeopleState, peopleState } from '../helpers/kubesphere-state.js';
import { temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

/**
 * A bulk import under load and faults, on the run's real dev server and an emulator over HTTP: a 1,000-row
 * batch in two parts that continues as new many times, a batch through injected 5xx and lost answers, and a
 * batch whose worker process is killed mid-way. Each ends with exactly the state its rows ask for.
 */

let t: TemporalHarness;

beforeAll(async () => {
  t = await temporalHarness();
});
afterAll(async () => {
  await t.close();
});

/** Temporal warns above this per payload (and refuses 2 MB): no batch input may come near it. */
const PAYLOAD_WARN_BYTES = 512 * 1024;

/**
 * n new people over `workspaces` workspaces of 3 projects each; every 7th person also in a second project of
 * the same workspace; every `passwordEvery`-th person with a sealed password (0: nobody).
 */
function generate(n: number, workspaces: number, prefix: string, passwordEvery = 0): BatchPerson[] {
  const sealed = passwordEvery ? t.sealPassword('Passw0rd-1') : undefined;
  return Array.from({ length: n }, (_, i) => {
    const ws = `${prefix}-ws${i % workspaces}`;
    const placements: BatchPerson['placements'] = [{ workspace: ws, project: `${ws}-p${i % 3}`, line: i + 2 }];
    if (i % 7 === 0) placements.push({ workspace: ws, project: `${ws}-p${(i + 1) % 3}`, line: i + 2 });
    return {
      username: `${prefix}-u${i}`,
      email: `${prefix}-u${i}@example.com`,
      ...(sealed && i % passwordEvery === 0 ? { sealedPassword: sealed } : {}),
      placements,
      lines: [i + 2],
    };
  });
}

/** A batch id of its own: the OnboardingBatchId search attribute is shared by every test on the dev server. */
const batchIdOf = (name: string) => `${name}-${randomBytes(4).toString('hex')}`;

const request = (batchId: string, people: BatchPerson[], extra: object = {}) => ({
  batchId,
  contentDigest: `digest-of-${batchId}`,
  rows: people.reduce((n, p) => n + p.lines.length, 0),
  ...extra,
});

type History = temporal.api.history.v1.IHistory;

/** Every run of a workflow, first to last: from its latest run back along `continuedExecutionRunId`. */
async function runsOf(workflowId: string): Promise<Array<{ runId: string; history: History }>> {
  const runs: Array<{ runId: string; history: History }> = [];
  let runId = (await t.client.workflow.getHandle(workflowId).describe()).runId;
  while (runId) {
    const history = await t.client.workflow.getHandle(workflowId, runId).fetchHistory();
    runs.unshift({ runId, history });
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? '';
  }
  return runs;
}

/** The largest `payloads[].data` of some payloads, in bytes. */
const largest = (payloads: temporal.api.common.v1.IPayloads | null | undefined): number =>
  Math.max(0, ...(payloads?.payloads ?? []).map((p) => p.data?.byteLength ?? 0));

/** The largest payload anywhere in a history (inputs, results, signals, markers, memo...), in bytes. */
function largestAnywhere(node: unknown): number {
  if (node instanceof Uint8Array) return 0;
  if (Array.isArray(node)) return Math.max(0, ...node.map(largestAnywhere));
  if (!node || typeof node !== 'object') return 0;
  let max = 0;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'data' && value instanceof Uint8Array) max = Math.max(max, value.byteLength);
    else max = Math.max(max, largestAnywhere(value));
  }
  return max;
}

/** The row workflows of a batch, by its search attribute: workflow id → number of executions. */
async function rowsOf(batchId: string): Promise<Map<string, number>> {
  const rows = new Map<string, number>();
  for await (const execution of t.client.workflow.list({
    query: `OnboardingBatchId = '${batchId}' AND WorkflowType = 'onboardUser'`,
  }))
    rows.set(execution.workflowId, (rows.get(execution.workflowId) ?? 0) + 1);
  return rows;
}

/**
 * The batch's row workflows once visibility shows one for each person (it is eventually consistent), as
 * `<workflow id> ×<executions>` lines; the expected lines for comparison.
 */
async function rowWorkflows(batchId: string, taskQueue: string, people: BatchPerson[]) {
  const expected = people.map((p) => `${t.prefixOf(taskQueue)}onboard-${p.username} ×1`).sort();
  const found = await eventually(async () => {
    const rows = await rowsOf(batchId);
    if (rows.size < people.length) throw new Error(`${rows.size} row workflows visible`);
    return [...rows].map(([id, n]) => `${id} ×${n}`).sort();
  }, 20_000).catch(async () => [...(await rowsOf(batchId))].map(([id, n]) => `${id} ×${n}`).sort());
  return { found, expected };
}

const kbytes = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

// The three run side by side, to keep the file's time down: the 1,000-row batch is most of it (1.5–2.5 minutes
// on the shared 2-core VM, where the worker and the dev server are short of CPU).
describe.concurrent('importBatch: scale, faults, a killed worker', () => {
  it(
    '1,000 rows in two parts: exact end state, many runs under 10,000 events each, ≤3.5 requests a row, payloads < 512 KB',
    { timeout: 420_000 },
    async ({ expect }) => {
      const h = await startEmulator();
      try {
        const taskQueue = t.taskQueue();
        const worker = await t.worker(taskQueue, h.emulator.url);
        // 10 workspaces × 3 projects; every 100th person with a sealed password (≈ 540 characters each).
        const people = generate(1000, 10, 'k', 100);
        const batchId = batchIdOf('thousand');
        const before = h.emulator.requests.total;
        const started = performance.now();
        const { handle, result } = await worker.runUntil(async () => {
          const { handle, attached } = await t.startImport(
            taskQueue,
            request(batchId, people, { concurrency: 20, continueAsNewAfter: 1000 }),
            people,
          );
          expect(attached).toBe(false);
          return { handle, result: (await handle.result()) as BatchProgress };
        });
        const wallMs = performance.now() - started;
        const requests = h.emulator.requests.total - before;

        expect(result).toMatchObject({
          lifecycle: 'done',
          people: 1000,
          parts: 2,
          part: 2,
          started: 1000,
          done: 1000,
          failed: 0,
          notStarted: 0,
          running: 0,
          awaitingApproval: 0,
        });
        expect(result.run).toBeGreaterThan(1);
        // Every user, workspace, project and membership asked for; nothing else.
        expect(peopleState(h)).toEqual(expectedPeopleState(people));
        const snapshot = h.emulator.snapshot();
        const withPassword = people.filter((p) => p.sealedPassword).map((p) => p.username);
        expect(withPassword).toHaveLength(10);
        expect(withPassword.filter((u) => !snapshot.users[u]?.hasPassword)).toEqual([]);
        expect(people.filter((p) => !p.sealedPassword && snapshot.users[p.username]?.hasPassword)).toEqual([]);
        // 10 workspaces and 30 projects, each created once by the batch.
        expect(
          h.count('POST /kapis/tenant.kubesphere.io/v1beta1/workspacetemplates') +
            h.count('POST /kapis/tenant.kubesphere.io/v1beta1/workspaces'),
        ).toBe(10);
        expect(h.count('POST /kapis/tenant.kubesphere.io/v1beta1/workspaces/:workspace/namespaces')).toBe(30);
        expect(requests / people.length).toBeLessThanOrEqual(3.5);

        // Every run of the batch, first to last: as many as it counted, each well under Temporal's limits.
        const runs = await runsOf(handle.workflowId);
        expect(runs).toHaveLength(result.run);
        const visible = await eventually(async () => {
          const ids: string[] = [];
          for await (const e of t.client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` }))
            ids.push(e.runId);
          if (ids.length < result.run) throw new Error(`${ids.length} runs visible`);
          return ids;
        }, 20_000);
        expect(new Set(visible)).toEqual(new Set(runs.map((r) => r.runId)));
        const events = runs.map((r) => r.history.events?.length ?? 0);
        expect(events.filter((n) => n >= 10_000)).toEqual([]);

        const firstInput = largest(runs[0]!.history.events?.[0]?.workflowExecutionStartedEventAttributes?.input);
        const continuedInputs = runs
          .slice(0, -1)
          .map((r) => largest(r.history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.input));
        expect(continuedInputs.every((n) => n > 0)).toBe(true); // every run but the last continued as new
        const anywhere = Math.max(...runs.map((r) => largestAnywhere(r.history)));
        // The second part's workflow, as the batch's input names it.
        // Payloads are encrypted in history: read through the client's codec.
        const inputs = runs[0]!.history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
        const { parts } = await decodeFirst<ImportBatchInput>(
          t.client.options.loadedDataConverter,
          inputs as Payload[],
        );
        expect(parts).toHaveLength(1);
        const part = await t.client.workflow.getHandle(parts[0]!.workflowId).fetchHistory();
        const partInput = largest(part.events?.[0]?.workflowExecutionStartedEventAttributes?.input);
        console.log(
          `1,000-row batch: ${(wallMs / 1000).toFixed(1)} s, ${result.run} runs, events per run ${events.join(' ')}, ` +
            `${(requests / people.length).toFixed(2)} KubeSphere requests a row; largest payload: first run's input ` +
            `${kbytes(firstInput)}, continue-as-new inputs ${kbytes(Math.min(...continuedInputs))}–${kbytes(Math.max(...continuedInputs))}, ` +
            `anywhere in the batch's histories ${kbytes(anywhere)}, part 2's input ${kbytes(partInput)}`,
        );
        expect(firstInput).toBeLessThan(PAYLOAD_WARN_BYTES);
        expect(Math.max(...continuedInputs)).toBeLessThan(PAYLOAD_WARN_BYTES);
        expect(anywhere).toBeLessThan(PAYLOAD_WARN_BYTES);
        expect(partInput).toBeLessThan(PAYLOAD_WARN_BYTES);

        // One row workflow per person, run once: none lost, none twice.
        const { found, expected } = await rowWorkflows(batchId, taskQueue, people);
        expect(found).toEqual(expected);
      } finally {
        await h.close();
      }
    },
  );

  it(
    'with 10% injected 5xx and 10% lost write answers, every row is done: exact end state, no duplicate',
    { timeout: 120_000 },
    async ({ expect }) => {
      const h = await startEmulator({ faults: { failRate: 0.1, dropResponseRate: 0.1, seed: 11 } });
      try {
        const taskQueue = t.taskQueue();
        const worker = await t.worker(taskQueue, h.emulator.url);
        const people = generate(60, 3, 'f', 20);
        const batchId = batchIdOf('faults');
        const result = await worker.runUntil(async () => {
          const { handle } = await t.startImport(
            taskQueue,
            request(batchId, people, { concurrency: 10, continueAsNewAfter: 300 }),
            people,
          );
          return (await handle.result()) as BatchProgress;
        });
        expect(result).toMatchObject({
          lifecycle: 'done',
          people: 60,
          started: 60,
          done: 60,
          failed: 0,
          notStarted: 0,
        });
        expect(peopleState(h)).toEqual(expectedPeopleState(people));
        const snapshot = h.emulator.snapshot();
        expect(people.filter((p) => Boolean(p.sealedPassword) !== snapshot.users[p.username]?.hasPassword)).toEqual([]);
        // The faults really happened: creates whose answer was lost were sent again and met "already exists".
        expect(h.count('POST /kapis/iam.kubesphere.io/v1beta1/users')).toBeGreaterThan(people.length);
        const { found, expected } = await rowWorkflows(batchId, taskQueue, people);
        expect(found).toEqual(expected);
      } finally {
        await h.close();
      }
    },
  );

  it(
    'a worker process killed mid-batch is replaced: the batch finishes, no row lost, none run twice',
    { timeout: 180_000 },
    async ({ expect }) => {
      // 15 ms per answer: slow enough that the kill lands mid-batch on any machine.
      const h = await startEmulator({ faults: { latencyMs: 15 } });
      const taskQueue = t.taskQueue();
      const env = {
        TEMPORAL_ADDRESS: t.address,
        TEMPORAL_NAMESPACE: 'default',
        KS_ONBOARD_TASK_QUEUE: taskQueue,
        KS_ONBOARD_WORKFLOW_ID_PREFIX: t.prefixOf(taskQueue),
        KUBESPHERE_HOST: h.emulator.url,
        KUBESPHERE_USERNAME: 'admin',
        KUBESPHERE_PASSWORD: ADMIN_PASSWORD,
        KS_ONBOARD_SEAL_PRIVATE_KEYS: t.keys.private,
        KS_ONBOARD_SEAL_PUBLIC_KEY: t.keys.public,
        LOG_LEVEL: 'info',
      };
      const people = generate(60, 3, 'w', 15);
      const batchId = batchIdOf('killed');
      const workers: RunningCli[] = [];
      const startWorker = async () => {
        const worker = startCli(['worker'], env);
        workers.push(worker);
        await worker.waitFor(/worker ready/, 60_000);
        return worker;
      };
      try {
        const first = await startWorker();
        t.useEmulator(taskQueue, h.emulator.url);
        const { handle } = await t.startImport(
          taskQueue,
          request(batchId, people, { concurrency: 5, continueAsNewAfter: 150 }),
          people,
        );
        // Killed once some rows are done and others are running (not between two runs, when none may be).
        const atKill = await eventually(async () => {
          const p = await handle.query(progressQuery);
          if (p.done < 10 || p.running === 0) throw new Error(JSON.stringify(p));
          return p;
        }, 60_000);
        first.child.kill('SIGKILL');
        await first.exited;
        expect(atKill.done).toBeLessThan(people.length);

        const second = await startWorker();
        const result = (await handle.result()) as BatchProgress;
        second.child.kill('SIGTERM');
        expect(await second.exited).toBe(0); // graceful shutdown on SIGTERM
        expect(result).toMatchObject({
          lifecycle: 'done',
          people: 60,
          started: 60,
          done: 60,
          failed: 0,
          notStarted: 0,
        });
        expect(result.run).toBeGreaterThan(1);
        expect(peopleState(h)).toEqual(expectedPeopleState(people));
        const { found, expected } = await rowWorkflows(batchId, taskQueue, people);
        expect(found).toEqual(expected);
      } finally {
        for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
        await h.close();
      }
    },
  );
});
