/**
 * A bulk import of 1,000 rows as one batch (`importBatch`, 20 rows at a time) against the same number of
 * people onboarded as 1,000 separate `onboardUser` workflows (proposed 20 at a time), side by side in one
 * run: real dev server, one in-process worker, the emulator in its own process with 20 ms per answer.
 * Reports wall time, rows/s, KubeSphere requests a row, CPU, and where the batch's time goes (from history
 * timestamps). Not a test: figures go to docs/benchmarks.md.
 *
 *   npx tsx bench/import.ts            (BENCH_ROWS=1000, BENCH_CONCURRENCY=20, BENCH_LATENCY_MS=20)
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type WorkflowExecutionInfo } from '@temporalio/client';
import type { google, temporal } from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { ensureDevKeyPair, readPem, Unsealer } from '../src/codec/seal.js';
import { pathsConfig, searchPath } from '../src/config.js';
import { KubeSphereClient } from '../src/kubesphere/client.js';
import { loginOnce } from '../src/kubesphere/login.js';
import type { BatchPerson } from '../src/policy/batch.js';
import { DEFAULT_ELEVATED_ROLES } from '../src/policy/worker-policy.js';
import { findTemporalCli } from '../src/temporal/cli-binary.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { startImport } from '../src/temporal/start-import.js';
import { onboardingInput, proposeOnboarding, type Requester } from '../src/temporal/start.js';
import { createOnboardingWorker } from '../src/temporal/worker.js';
import type { BatchProgress } from '../src/workflows/batch-definitions.js';
import { WORKFLOW_ID, type OnboardingState } from '../src/workflows/definitions.js';
import { spawnEmulator } from './emulator-process.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 20);
const WORKSPACES = 10;
const PROJECTS_PER_WORKSPACE = 3;
const WARM_UP = WORKSPACES * PROJECTS_PER_WORKSPACE; // one person per project: every workspace and project made
const TASK_QUEUE = 'bench-import';

/** n people `<prefix>0..`: person i in workspace i % 10 and its project i % 3 (30 projects in all). */
function people(n: number, prefix: string): BatchPerson[] {
  return Array.from({ length: n }, (_, i) => {
    const ws = `bench-ws${i % WORKSPACES}`;
    return {
      username: `${prefix}${i}`,
      email: `${prefix}${i}@example.com`,
      placements: [{ workspace: ws, project: `${ws}-p${i % PROJECTS_PER_WORKSPACE}`, line: i + 2 }],
      lines: [i + 2],
    };
  });
}

const tsMs = (ts: google.protobuf.ITimestamp | null | undefined): number =>
  ts ? Number(String(ts.seconds ?? 0)) * 1000 + (ts.nanos ?? 0) / 1e6 : NaN;
const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN);
const quantile = (values: number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * q))] ?? NaN;
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** CPU seconds (user + system) a process and its children (tsx runs node in a child) have used, from /proc. */
function cpuOf(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const own = (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean);
    return own + sum(children.map((child) => cpuOf(Number(child))));
  } catch {
    return NaN;
  }
}
const ownCpu = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
const paths = pathsConfig();
const binary = await findTemporalCli({ explicit: paths.temporalCli, path: searchPath(), cacheDir: paths.cacheDir });
const keyDir = mkdtempSync(join(tmpdir(), 'ks-bench-'));
const keys = { private: join(keyDir, 'private.pem'), public: join(keyDir, 'public.pem') };
ensureDevKeyPair(keys.private, keys.public);
const server = await startDevServer({ binary, port: 0 });
const emulator = await spawnEmulator(['--latency', String(LATENCY_MS)]);

interface Measure {
  label: string;
  wallMs: number;
  requests: number;
  byMethod: Record<string, number>;
  /** requests a row, by route */
  byRoute: Record<string, number>;
  cpu: { worker: number; server: number; emulator: number };
  rows: WorkflowExecutionInfo[];
}

interface RequestCounts {
  total: number;
  byMethod: Record<string, number>;
  byRoute: Record<string, number>;
}
async function emulatorRequests(): Promise<RequestCounts> {
  return (await (await fetch(`${emulator.url}/_emulator/requests`)).json()) as RequestCounts;
}
const perRow = (after: Record<string, number>, before: Record<string, number>, n: number) =>
  Object.fromEntries(
    Object.entries(after)
      .map(([k, c]) => [k, (c - (before[k] ?? 0)) / n] as const)
      .filter(([, c]) => c > 0),
  );

try {
  const connection = await Connection.connect({ address: server.address });
  const native = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection });
  const ks = new KubeSphereClient({ baseUrl: emulator.url, credentials: { username: 'admin', password: 'P@88w0rd' } });
  await ks.getUser('admin'); // the worker's login, outside the measurement
  const worker = await createOnboardingWorker({
    connection: native,
    namespace: 'default',
    taskQueue: TASK_QUEUE,
    activities: { client: ks, creator: 'admin', unsealer: new Unsealer([readPem(keys.private)]) },
    policy: {
      elevatedRoles: [...DEFAULT_ELEVATED_ROLES],
      approvalTimeoutMs: 3_600_000,
      protectedWorkspaces: [],
      workerAccount: 'admin',
    },
    ...(process.env.BENCH_ACTIVITIES_PER_SECOND
      ? { activitiesPerSecond: Number(process.env.BENCH_ACTIVITIES_PER_SECOND) }
      : {}),
  });
  // ops-admin asks (a platform-admin: nothing waits for an approval)
  const requester: Requester = {
    token: (await loginOnce({ baseUrl: emulator.url, username: 'ops-admin', password: 'Ops-P@88w0rd' })).accessToken,
    publicKey: readPem(keys.public),
  };

  const asBatch = async (batchId: string, rows: BatchPerson[]) => {
    const { handle } = await startImport(
      client,
      TASK_QUEUE,
      { batchId, contentDigest: `digest-${batchId}`, rows: rows.length, concurrency: CONCURRENCY },
      rows,
      requester,
    );
    const result = (await handle.result()) as BatchProgress;
    if (result.lifecycle !== 'done' || result.done !== rows.length)
      throw new Error(`batch ${batchId} ended ${JSON.stringify(result)}`);
    return result;
  };
  const oneByOne = async (rows: BatchPerson[]) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < rows.length) {
          const { username, email, placements } = rows[next++]!;
          const workflowId = WORKFLOW_ID.onboard(username);
          const { handle } = await proposeOnboarding(
            client,
            TASK_QUEUE,
            onboardingInput({ username, email, placements }, requester, workflowId),
            workflowId,
          );
          const state: OnboardingState = await handle.result();
          if (state.lifecycle !== 'done') throw new Error(`${username} ended ${JSON.stringify(state)}`);
        }
      }),
    );
  };
  /** The onboardUser executions whose username starts with `prefix` (visibility, polled until all are seen). */
  const rowsOf = async (prefix: string, n: number) => {
    for (let attempt = 0; ; attempt++) {
      const rows: WorkflowExecutionInfo[] = [];
      for await (const e of client.workflow.list({
        query: `WorkflowType = 'onboardUser' AND ExecutionStatus = 'Completed'`,
      }))
        if (e.workflowId.startsWith(`onboard-${prefix}`)) rows.push(e);
      if (rows.length >= n || attempt >= 50) return rows;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const measure = async (label: string, prefix: string, n: number, run: () => Promise<unknown>): Promise<Measure> => {
    const before = await emulatorRequests();
    const cpu = { worker: ownCpu(), server: cpuOf(server.process.pid), emulator: cpuOf(emulator.child.pid) };
    const started = performance.now();
    await run();
    const wallMs = performance.now() - started;
    const after = await emulatorRequests();
    const used = {
      worker: ownCpu() - cpu.worker,
      server: cpuOf(server.process.pid) - cpu.server,
      emulator: cpuOf(emulator.child.pid) - cpu.emulator,
    };
    return {
      label,
      wallMs,
      requests: after.total - before.total,
      byMethod: perRow(after.byMethod, before.byMethod, n),
      byRoute: perRow(after.byRoute, before.byRoute, n),
      cpu: used,
      rows: await rowsOf(prefix, n),
    };
  };

  console.log(
    `${ROWS} people (one row each) over ${WORKSPACES} workspaces and ${WORKSPACES * PROJECTS_PER_WORKSPACE} projects; ` +
      `concurrency ${CONCURRENCY}; emulator latency ${LATENCY_MS} ms (own process); one in-process worker; ` +
      `load average at start ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
  );
  const results: Measure[] = [];
  await worker.runUntil(async () => {
    // Warm-up, not measured: makes every workspace and project (both measured runs find them existing)
    // and warms up both paths.
    await asBatch('bench-warm-up', people(WARM_UP, 'warm-b'));
    await oneByOne(people(WARM_UP, 'warm-o'));
    results.push(await measure('one batch', 'batch-', ROWS, () => asBatch('bench-1k', people(ROWS, 'batch-'))));
    results.push(await measure('separate onboards', 'single-', ROWS, () => oneByOne(people(ROWS, 'single-'))));
  });

  // What KubeSphere holds: every person of both runs, once.
  const state = (await (await fetch(`${emulator.url}/_emulator/state`)).json()) as {
    users: Record<string, unknown>;
    workspaceRoleBindings: Record<string, { user: string }>;
  };
  for (const prefix of ['batch-', 'single-']) {
    const users = Object.keys(state.users).filter((u) => u.startsWith(prefix)).length;
    const members = Object.values(state.workspaceRoleBindings).filter((b) => b.user.startsWith(prefix)).length;
    if (users !== ROWS || members !== ROWS) throw new Error(`${prefix}: ${users} users, ${members} workspace members`);
  }

  console.log('');
  console.log(
    'run               | wall s | rows/s | KS requests a row (by method)          | CPU s a row: worker+client / server / emulator | row mean / p50 / p95 ms | mean rows in flight',
  );
  for (const r of results) {
    const durations = r.rows.map((e) => (e.closeTime?.getTime() ?? NaN) - e.startTime.getTime());
    const span =
      Math.max(...r.rows.map((e) => e.closeTime?.getTime() ?? 0)) -
      Math.min(...r.rows.map((e) => e.startTime.getTime()));
    const methods = Object.entries(r.byMethod)
      .filter(([, c]) => c > 0)
      .map(([m, c]) => `${m} ${c.toFixed(2)}`)
      .join(', ');
    console.log(
      `${r.label.padEnd(17)} | ${(r.wallMs / 1000).toFixed(1).padStart(6)} | ${(ROWS / (r.wallMs / 1000)).toFixed(1).padStart(6)} | ` +
        `${(r.requests / ROWS).toFixed(2)} (${methods})`.padEnd(38) +
        ` | ${((r.cpu.worker / ROWS) * 1000).toFixed(1)} ms / ${((r.cpu.server / ROWS) * 1000).toFixed(1)} ms / ${((r.cpu.emulator / ROWS) * 1000).toFixed(1)} ms`.padEnd(
          47,
        ) +
        ` | ${mean(durations).toFixed(0)} / ${quantile(durations, 0.5).toFixed(0)} / ${quantile(durations, 0.95).toFixed(0)}`.padEnd(
          26,
        ) +
        ` | ${(sum(durations) / span).toFixed(1)}`,
    );
  }
  for (const r of results)
    console.log(
      `${r.label}, requests a row by route: ${Object.entries(r.byRoute)
        .sort(([, a], [, b]) => b - a)
        .map(([route, c]) => `${route} ${c.toFixed(2)}`)
        .join('; ')}`,
    );
  const [batch, single] = results as [Measure, Measure];
  console.log('');
  console.log(
    `ratios, batch / separate: wall time ×${(batch.wallMs / single.wallMs).toFixed(2)}, rows/s ×${(single.wallMs / batch.wallMs).toFixed(2)}, ` +
      `KubeSphere requests ×${(batch.requests / single.requests).toFixed(2)}, ` +
      `CPU worker ×${(batch.cpu.worker / single.cpu.worker).toFixed(2)}, server ×${(batch.cpu.server / single.cpu.server).toFixed(2)}`,
  );

  // Where the batch's time goes: its runs' histories.
  const runs: temporal.api.history.v1.IHistory[] = [];
  let runId = (await client.workflow.getHandle('import-bench-1k').describe()).runId;
  while (runId) {
    const history = await client.workflow.getHandle('import-bench-1k', runId).fetchHistory();
    runs.unshift(history);
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? '';
  }
  const events = runs.flatMap((h) => h.events ?? []);
  const E = (type: keyof temporal.api.history.v1.IHistoryEvent) => events.filter((e) => e[type]);
  const initiated = E('startChildWorkflowExecutionInitiatedEventAttributes').map((e) => tsMs(e.eventTime));
  const childStarted = E('childWorkflowExecutionStartedEventAttributes').map((e) => tsMs(e.eventTime));
  const taskTimes: number[] = [];
  const taskQueueWaits: number[] = [];
  for (const h of runs) {
    const byId = new Map((h.events ?? []).map((e) => [String(e.eventId), tsMs(e.eventTime)]));
    for (const e of h.events ?? []) {
      const done = e.workflowTaskCompletedEventAttributes;
      if (!done) continue;
      const s = byId.get(String(done.scheduledEventId))!;
      const st = byId.get(String(done.startedEventId))!;
      taskQueueWaits.push(st - s);
      taskTimes.push(tsMs(e.eventTime) - s);
    }
  }
  const batchStart = tsMs(runs[0]!.events![0]!.eventTime);
  const batchEnd = tsMs(runs.at(-1)!.events!.at(-1)!.eventTime);
  const rowStarts = batch.rows.map((e) => e.startTime.getTime()).sort((a, b) => a - b);
  const rowEnds = batch.rows.map((e) => e.closeTime?.getTime() ?? 0).sort((a, b) => a - b);
  const gaps = initiated.slice(1).map((t, i) => t - initiated[i]!);
  const runGaps = runs.slice(1).map((h, i) => {
    // from the previous run's last task completed to this run's first child start
    const prevEnd = tsMs(runs[i]!.events!.at(-1)!.eventTime);
    const firstStart = (h.events ?? []).find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes);
    return firstStart ? tsMs(firstStart.eventTime) - prevEnd : NaN;
  });
  const rowDurations = batch.rows.map((e) => (e.closeTime?.getTime() ?? NaN) - e.startTime.getTime());
  console.log('');
  console.log(`where the batch's ${((batchEnd - batchStart) / 1000).toFixed(1)} s go (history timestamps):`);
  console.log(
    `  before the first row: ${((rowStarts[0]! - batchStart) / 1000).toFixed(2)} s (requester verified, 10 workspaces and 30 projects ensured; both exist)`,
  );
  console.log(
    `  rows: first start → last end ${((rowEnds.at(-1)! - rowStarts[0]!) / 1000).toFixed(1)} s; a row child takes ${mean(rowDurations).toFixed(0)} ms on average ` +
      `(p50 ${quantile(rowDurations, 0.5).toFixed(0)}, p95 ${quantile(rowDurations, 0.95).toFixed(0)}); ` +
      `mean rows in flight ${(sum(rowDurations) / (rowEnds.at(-1)! - rowStarts[0]!)).toFixed(1)} of ${CONCURRENCY}`,
  );
  console.log(
    `  starts: one every ${mean(gaps).toFixed(0)} ms on average (p50 ${quantile(gaps, 0.5).toFixed(0)}, p95 ${quantile(gaps, 0.95).toFixed(0)}); ` +
      `start initiated → child started ${mean(childStarted.map((t, i) => t - initiated[i]!)).toFixed(0)} ms`,
  );
  console.log(
    `  the batch's workflow tasks: ${taskTimes.length} (${(taskTimes.length / ROWS).toFixed(2)} a row), scheduled → completed ${mean(taskTimes).toFixed(0)} ms on average ` +
      `(of which waiting for the worker ${mean(taskQueueWaits).toFixed(0)} ms); busy ${(sum(taskTimes) / 1000).toFixed(1)} s of the batch's ${((batchEnd - batchStart) / 1000).toFixed(1)} s`,
  );
  console.log(
    `  ${runs.length} runs (continue-as-new), events per run ${runs.map((h) => h.events?.length ?? 0).join(' ')}; ` +
      `from a run's end to the next run's first row start ${mean(runGaps).toFixed(0)} ms on average (${(sum(runGaps) / 1000).toFixed(1)} s in all)`,
  );
  console.log(`  after the last row: ${((batchEnd - rowEnds.at(-1)!) / 1000).toFixed(2)} s`);
  console.log(
    `separate onboards: wall ${(single.wallMs / 1000).toFixed(1)} s; client start → result, per onboarding, ` +
      `≈ wall × ${CONCURRENCY} / ${ROWS} = ${((single.wallMs * CONCURRENCY) / ROWS).toFixed(0)} ms`,
  );
  console.log(
    `load average at end ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  await ks.close();
  await native.close();
  await connection.close();
} finally {
  await emulator.stop();
  await server.stop();
}
