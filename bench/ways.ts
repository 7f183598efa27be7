/**
 * `npm run bench`: the same generated team-migration CSV done three ways, side by side in one run, each against a
 * fresh KubeSphere emulator in its own process (20 ms added to every answer, its default 300 ms controllers):
 *
 *   A  the original runbook: one `curl` process per API call, strictly sequential (a sample, extrapolated);
 *   B  a direct concurrent script with our KubeSphere client and the worker's concurrency, no Temporal;
 *   C  `ks-onboard import <file> --wait` through Temporal: the dev server with its SQLite file (as `dev` runs it),
 *      and again in memory; the worker and the CLI are processes of their own, as an operator runs them.
 *
 * For each: wall time, rows/s, KubeSphere requests a row by method (the emulator's counters); for C also history
 * events a row (children and batch runs), CPU seconds a row of the server and of the worker, and their peak memory.
 * Checks the end state every time (every user and both memberships present). Not a test: figures go to
 * docs/benchmarks.md.
 *
 *   BENCH_ROWS=1000 BENCH_LATENCY_MS=20 BENCH_A_SAMPLE=130 BENCH_WAYS=A,B,C-file,C-memory,C-postgres npm run bench
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { KubeSphereClient } from '../src/kubesphere/client.js';
import { isKubeSphereError } from '../src/kubesphere/errors.js';
import { IAM, TENANT } from '../src/kubesphere/paths.js';
import {
  ADMIN,
  cpuOf,
  finished,
  peakMiB,
  postgresUnavailable,
  startDeployment,
  teamMigration,
  writeCsv,
  type Row,
} from './deployment.js';
import { spawnEmulator } from './emulator-process.js';
import { endStateDiscrepancies } from './end-state.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1000);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 20);
/** A's rows: the first 30 (each makes a project, the first 10 a workspace too), then 100 that make only people. */
const A_SAMPLE = Math.min(ROWS, Number(process.env.BENCH_A_SAMPLE ?? 130));
const CONCURRENCY = 20; // the batch's default, and the worker's activity slots
const WAYS = (process.env.BENCH_WAYS ?? 'A,B,C-file,C-memory,C-postgres').split(',').map((w) => w.trim());
const WORKSPACES = 10;
const PROJECTS = 30;

const rows: Row[] = teamMigration(ROWS);
const dir = mkdtempSync(join(tmpdir(), 'ks-bench-ways-'));
const csv = join(dir, 'team-migration.csv');
writeCsv(csv, rows);

interface Counts {
  total: number;
  byMethod: Record<string, number>;
}
interface Result {
  way: string;
  rows: number;
  wallMs: number;
  /** measured on this many rows (the first ones), the wall time extrapolated to all */
  sample?: number;
  /** for a sample: the time its rows took */
  sampleMs?: number;
  requests: Counts;
  events?: number;
  cpu?: { server: number; worker: number };
  peakMiB?: { server: number; worker: number };
}
const results: Result[] = [];

const counts = async (url: string): Promise<Counts> =>
  (await (await fetch(`${url}/_emulator/requests`)).json()) as Counts;

/** KubeSphere holds exactly what `part` asks (bench/end-state.ts): else the run is void. */
async function checkEndState(url: string, part: Row[]): Promise<void> {
  const { discrepancies } = await endStateDiscrepancies(url, part);
  if (discrepancies.length)
    throw new Error(`${discrepancies.length} discrepancies, e.g. ${discrepancies.slice(0, 3).join('; ')}`);
}

// ---- A: the runbook ------------------------------------------------------------------------------------
async function wayA(): Promise<void> {
  const emulator = await spawnEmulator(['--latency', String(LATENCY_MS)]);
  try {
    const curl = (args: string[]) => {
      const out = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...args], { encoding: 'utf8' });
      return Number(out.stdout);
    };
    const started = performance.now();
    const login = spawnSync(
      'curl',
      [
        '-s',
        '-X',
        'POST',
        `${emulator.url}/oauth/token`,
        '-H',
        'Content-Type: application/x-www-form-urlencoded',
        '--data-urlencode',
        'grant_type=password',
        '--data-urlencode',
        `username=${ADMIN.username}`,
        '--data-urlencode',
        `password=${ADMIN.password}`,
        '--data-urlencode',
        'client_id=kubesphere',
        '--data-urlencode',
        'client_secret=kubesphere',
      ],
      { encoding: 'utf8' },
    );
    const token = (JSON.parse(login.stdout) as { access_token: string }).access_token;
    const post = (path: string, body: unknown) =>
      curl([
        '-X',
        'POST',
        `${emulator.url}${path}`,
        '-H',
        `Authorization: Bearer ${token}`,
        '-H',
        'Content-Type: application/json',
        '-d',
        JSON.stringify(body),
      ]);
    /** A member POST meets 404 until KubeSphere's controllers have made a new workspace's roles: the runbook waits. */
    const member = (path: string, body: unknown) => {
      for (let tries = 0; post(path, body) === 404 && tries < 30; tries++) spawnSync('sleep', ['1']);
    };
    let firstMs = 0;
    for (const [i, r] of rows.slice(0, A_SAMPLE).entries()) {
      if (i === PROJECTS) firstMs = performance.now() - started;
      post(`${IAM}/users`, {
        apiVersion: 'iam.kubesphere.io/v1beta1',
        kind: 'User',
        // the platform role the worker gives (least privilege), as an annotation KubeSphere binds
        metadata: { name: r.username, annotations: { 'iam.kubesphere.io/globalrole': 'platform-regular' } },
        spec: { email: r.email },
      });
      post(`${TENANT}/workspacetemplates`, {
        apiVersion: 'tenant.kubesphere.io/v1beta1',
        kind: 'WorkspaceTemplate',
        metadata: { name: r.workspace },
        spec: { template: { spec: {} }, placement: { clusters: [{ name: 'host' }] } },
      });
      post(`${TENANT}/workspaces/${r.workspace}/namespaces`, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: r.project,
          labels: { 'kubesphere.io/workspace': r.workspace, 'kubesphere.io/managed': 'true' },
        },
      });
      member(`${IAM}/workspaces/${r.workspace}/workspacemembers`, [
        { username: r.username, roleRef: `${r.workspace}-regular` },
      ]);
      member(`${IAM}/namespaces/${r.project}/namespacemembers`, [{ username: r.username, roleRef: 'viewer' }]);
    }
    const sampleMs = performance.now() - started;
    await checkEndState(emulator.url, rows.slice(0, A_SAMPLE));
    // The rows that make workspaces and projects (and wait for their roles) once, then the rest at the steady rate.
    const wallMs =
      A_SAMPLE > PROJECTS
        ? firstMs + ((sampleMs - firstMs) / (A_SAMPLE - PROJECTS)) * (ROWS - PROJECTS)
        : (sampleMs / A_SAMPLE) * ROWS;
    results.push({
      way: 'A runbook',
      rows: ROWS,
      sample: A_SAMPLE,
      sampleMs,
      wallMs,
      requests: await counts(emulator.url),
    });
  } finally {
    await emulator.stop();
  }
}

// ---- B: direct, concurrent, no Temporal ------------------------------------------------------------------
async function wayB(): Promise<void> {
  const emulator = await spawnEmulator(['--latency', String(LATENCY_MS)]);
  const ks = new KubeSphereClient({ baseUrl: emulator.url, credentials: ADMIN });
  try {
    const exists = (error: unknown) => isKubeSphereError(error) && (error.status === 409 || error.status === 400);
    const notReady = (error: unknown) => isKubeSphereError(error) && error.status === 404;
    const pool = async <T>(items: T[], run: (item: T) => Promise<void>) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < items.length) await run(items[next++]!);
        }),
      );
    };
    const retryWhileNotReady = async (call: () => Promise<unknown>) => {
      for (;;) {
        try {
          return await call();
        } catch (error) {
          if (!notReady(error)) throw error;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    };
    const started = performance.now();
    const workspaces = [...new Set(rows.map((r) => r.workspace))];
    const projects = [...new Map(rows.map((r) => [r.project, r])).values()];
    await pool(workspaces, async (name) => {
      await ks.createWorkspace({ name, clusters: ['host'] }).catch((e) => {
        if (!exists(e)) throw e;
      });
    });
    await pool(projects, async (r) => {
      await ks.createProject({ workspace: r.workspace, name: r.project }).catch((e) => {
        if (!exists(e)) throw e;
      });
    });
    await pool(rows, async (r) => {
      await ks.createUser({ name: r.username, email: r.email, globalRole: 'platform-regular' }).catch((e) => {
        if (!exists(e)) throw e;
      });
      await retryWhileNotReady(() =>
        ks.addWorkspaceMembers(r.workspace, [{ username: r.username, roleRef: `${r.workspace}-regular` }]),
      );
      await retryWhileNotReady(() =>
        ks.addProjectMembers({ namespace: r.project }, [{ username: r.username, roleRef: 'viewer' }]),
      );
    });
    const wallMs = performance.now() - started;
    await checkEndState(emulator.url, rows);
    results.push({ way: 'B direct', rows: ROWS, wallMs, requests: await counts(emulator.url) });
  } finally {
    await ks.close();
    await emulator.stop();
  }
}

// ---- C: ks-onboard import --wait through Temporal ---------------------------------------------------------
const C_LABEL = {
  file: 'C import, dev server SQLite file',
  memory: 'C import, dev server in memory',
  // the Temporal server 1.30 on PostgreSQL as `stack prod-local` runs it; its CPU is the server's, not PostgreSQL's
  postgres: 'C import, Temporal server on PostgreSQL',
};

async function wayC(storage: 'file' | 'memory' | 'postgres'): Promise<void> {
  const d = await startDeployment({
    dir,
    storage,
    emulatorArgs: ['--latency', String(LATENCY_MS)],
    // BENCH_PROFILE=<dir>: the worker writes a CPU profile there (open it in Chrome's DevTools).
    ...(process.env.BENCH_PROFILE ? { profileDir: process.env.BENCH_PROFILE } : {}),
  });
  try {
    const before = { server: cpuOf(d.server.process.pid), worker: cpuOf(d.worker.pid) };
    const started = performance.now();
    const cli = await finished(d.cli(['import', csv, '--wait', '--json']));
    const wallMs = performance.now() - started;
    if (cli.code !== 0) throw new Error(`import exited with ${cli.code}: ${cli.stderr.slice(-2000)}`);
    const cpu = {
      server: cpuOf(d.server.process.pid) - before.server,
      worker: cpuOf(d.worker.pid) - before.worker,
    };
    const peak = { server: peakMiB(d.server.process.pid), worker: peakMiB(d.worker.pid) };
    await checkEndState(d.emulator.url, rows);
    // History events: every row's workflow and every run of the batch, from visibility.
    const connection = await Connection.connect({ address: d.server.address });
    let events = 0;
    try {
      const client = new Client({ connection });
      for await (const e of client.workflow.list({ query: `WorkflowType IN ('onboardUser', 'importBatch')` }))
        events += e.historyLength;
    } finally {
      await connection.close();
    }
    results.push({
      way: C_LABEL[storage],
      rows: ROWS,
      wallMs,
      requests: await counts(d.emulator.url),
      events,
      cpu,
      peakMiB: peak,
    });
  } finally {
    await d.stop();
  }
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
console.log(
  `${ROWS} rows (${WORKSPACES} workspaces, ${PROJECTS} projects), emulator latency ${LATENCY_MS} ms; ${machine}`,
);
console.log(
  `load average at start ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
try {
  for (const way of WAYS) {
    if (way === 'A') await wayA();
    else if (way === 'B') await wayB();
    else if (way === 'C-file') await wayC('file');
    else if (way === 'C-memory') await wayC('memory');
    else if (way === 'C-postgres') {
      const why = await postgresUnavailable();
      if (why && !process.env.BENCH_WAYS) {
        // Only by default: a way asked for by name runs or fails.
        console.log(`  C on PostgreSQL skipped: ${why} (npx ks-onboard stack prod-local --install-only builds it)`);
        continue;
      }
      await wayC('postgres');
    } else throw new Error(`unknown way ${way} (A, B, C-file, C-memory, C-postgres)`);
    const r = results.at(-1)!;
    console.log(`  ${r.way}: ${((r.sampleMs ?? r.wallMs) / 1000).toFixed(1)} s for ${r.sample ?? r.rows} rows`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const rate = (r: Result) => r.rows / (r.wallMs / 1000);
const perRow = (n: number, r: Result) => (n / (r.sample ?? r.rows)).toFixed(2);
console.log('');
console.log(
  '| way | wall time | rows/s | KubeSphere requests a row | history events a row | CPU a row: server / worker | peak memory: server / worker |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  const wall = r.sample
    ? `${(r.wallMs / 1000).toFixed(0)} s (extrapolated from its first ${r.sample} rows, ${((r.sampleMs ?? 0) / 1000).toFixed(1)} s)`
    : `${(r.wallMs / 1000).toFixed(1)} s`;
  const methods = Object.entries(r.requests.byMethod)
    .map(([m, c]) => `${m} ${perRow(c, r)}`)
    .join(', ');
  console.log(
    `| ${r.way} | ${wall} | ${rate(r).toFixed(1)} | ${perRow(r.requests.total, r)} (${methods}) | ${r.events === undefined ? '–' : perRow(r.events, r)} | ` +
      `${r.cpu ? `${((r.cpu.server / r.rows) * 1000).toFixed(0)} / ${((r.cpu.worker / r.rows) * 1000).toFixed(0)} ms` : '–'} | ` +
      `${r.peakMiB ? `${r.peakMiB.server.toFixed(0)} / ${r.peakMiB.worker.toFixed(0)} MiB` : '–'} |`,
  );
}
const a = results.find((r) => r.way.startsWith('A'));
const b = results.find((r) => r.way.startsWith('B'));
for (const c of results.filter((r) => r.way.startsWith('C'))) {
  const ratios = [a ? `C/A ×${(rate(c) / rate(a)).toFixed(1)}` : '', b ? `C/B ×${(rate(c) / rate(b)).toFixed(2)}` : '']
    .filter(Boolean)
    .join(', ');
  console.log(`${c.way}: rows/s ${ratios}`);
}
console.log(
  `load average at end ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
