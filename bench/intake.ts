/**
 * The HR intake under load, one worker, on the real dev server (in memory) and the emulator (20 ms latency):
 * deliveries per second it acknowledges and the answer time (p50, p99) for new hires scheduled for later (the
 * answer waits for the worker's first verification), new hires provisioned at once, and duplicates (answered from
 * visibility). Not a test: figures go to docs/benchmarks.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { ensureDevKeyPair, readPem, Unsealer } from '../src/codec/seal.js';
import { pathsConfig, searchPath } from '../src/config.js';
import { createEmulator } from '../src/emulator/server.js';
import type { HrConfig } from '../src/intake/config.js';
import { checkPlacementMapping, type PlacementMapping } from '../src/intake/placement.js';
import { startIntake } from '../src/intake/server.js';
import { KubeSphereClient } from '../src/kubesphere/client.js';
import { DEFAULT_ELEVATED_ROLES } from '../src/policy/worker-policy.js';
import { findTemporalCli } from '../src/temporal/cli-binary.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { createOnboardingWorker } from '../src/temporal/worker.js';

const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 200);
/** one sender at a time (how HR systems deliver), then a burst */
const CONCURRENCY = [1, Number(process.env.BENCH_CONCURRENCY ?? 20)];

Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
const paths = pathsConfig();
const binary = await findTemporalCli({ explicit: paths.temporalCli, path: searchPath(), cacheDir: paths.cacheDir });
const keyDir = mkdtempSync(join(tmpdir(), 'ks-bench-'));
const keys = { private: join(keyDir, 'private.pem'), public: join(keyDir, 'public.pem') };
ensureDevKeyPair(keys.private, keys.public);
const server = await startDevServer({ binary, port: 0 });
const emulator = await createEmulator({
  faults: { latencyMs: 20 },
  delays: { userActivationMs: 0, workspaceRolesMs: 0, projectRolesMs: 0 },
});
const mapped = checkPlacementMapping({
  departments: { Payments: { workspace: 'payments' } },
  teams: { Web: { department: 'Payments', workspace: 'payments', project: 'payments-web' } },
});
if (!mapped.ok) throw new Error('bad mapping');
const secret = `whsec_${randomBytes(32).toString('base64')}`;
const hr: HrConfig & { mapping: PlacementMapping } = {
  vendors: { secrets: { generic: [secret], bamboohr: [], hibob: [] }, api: {} },
  mapping: mapped.mapping,
  timeZone: 'UTC',
  leadTimeMs: 0,
};
const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))]!;
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

try {
  const connection = await Connection.connect({ address: server.address });
  const native = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection });
  const ks = new KubeSphereClient({ baseUrl: emulator.url, credentials: { username: 'admin', password: 'P@88w0rd' } });
  const taskQueue = 'bench-intake';
  const worker = await createOnboardingWorker({
    connection: native,
    namespace: 'default',
    taskQueue,
    activities: { client: ks, creator: 'admin', unsealer: new Unsealer([readPem(keys.private)]) },
    policy: {
      elevatedRoles: [...DEFAULT_ELEVATED_ROLES],
      approvalTimeoutMs: 3_600_000,
      protectedWorkspaces: [],
      workerAccount: 'admin',
    },
    hr,
  });
  const intake = await startIntake(
    { client, taskQueue, prefix: '', hr, log: pino({ level: 'silent' }) },
    { port: 0, host: '127.0.0.1' },
  );
  const deliver = async (eventId: string, username: string, startDate: string) => {
    const body = JSON.stringify({
      type: 'employee.hired',
      data: {
        eventId,
        employeeId: username,
        username,
        email: `${username}@example.com`,
        firstName: 'Bench',
        lastName: username,
        department: 'Payments',
        team: 'Web',
        startDate,
      },
    });
    const id = `msg_${randomBytes(8).toString('hex')}`;
    const at = new Date();
    const started = performance.now();
    const response = await fetch(`${intake.url}/v1/hr/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(secret).sign(id, at, body),
      },
      body,
    });
    await response.arrayBuffer();
    return { ms: performance.now() - started, status: response.status };
  };
  /** `DELIVERIES` deliveries, `CONCURRENCY` at a time. */
  const round = async (label: string, concurrency: number, make: (i: number) => [string, string, string]) => {
    const times: number[] = [];
    const statuses: Record<number, number> = {};
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < DELIVERIES) {
          const i = next++;
          const { ms, status } = await deliver(...make(i));
          times.push(ms);
          statuses[status] = (statuses[status] ?? 0) + 1;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `${label.padEnd(34)} | ${String(concurrency).padStart(11)} | ${(DELIVERIES / seconds).toFixed(1).padStart(6)} | ${percentile(times, 50).toFixed(0).padStart(4)} | ${percentile(times, 99).toFixed(0).padStart(5)} | ${JSON.stringify(statuses)}`,
    );
  };
  console.log(`${DELIVERIES} deliveries per row, one worker, dev server in memory, KubeSphere latency 20 ms`);
  console.log('kind                               | at a time   | per s  | p50 ms | p99 ms | answers');
  await worker.runUntil(async () => {
    for (const concurrency of CONCURRENCY) {
      const tag = `c${concurrency}`;
      await round('new hires, start in 30 days', concurrency, (i) => [
        `later-${tag}-${i}`,
        `later${tag}-${i}`,
        day(30),
      ]);
      await round('new hires, provisioned at once', concurrency, (i) => [`now-${tag}-${i}`, `now${tag}-${i}`, day(0)]);
      await new Promise((resolve) => setTimeout(resolve, 2_000)); // visibility catches up
      await round('duplicates (seen before)', concurrency, (i) => [`later-${tag}-${i}`, `later${tag}-${i}`, day(30)]);
    }
  });
  await intake.close();
  await ks.close();
  await native.close();
  await connection.close();
} finally {
  await emulator.close();
  await server.stop();
}
