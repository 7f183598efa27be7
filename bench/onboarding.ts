/**
 * Cost of one full onboarding (all five steps) on the real dev server, emulator latency 20 ms:
 * wall time from start to result, KubeSphere requests sent, Temporal history events. Also the same
 * onboarding run again (everything exists). Not a test: figures go to docs/benchmarks.md.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { pathsConfig, searchPath } from '../src/config.js';
import { KubeSphereClient } from '../src/kubesphere/client.js';
import { createEmulator } from '../src/emulator/server.js';
import { findTemporalCli } from '../src/temporal/cli-binary.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevKeyPair, readPem, Unsealer } from '../src/codec/seal.js';
import { loginOnce } from '../src/kubesphere/login.js';
import { DEFAULT_ELEVATED_ROLES } from '../src/policy/worker-policy.js';
import { onboardingInput, proposeOnboarding } from '../src/temporal/start.js';
import { WORKFLOW_ID } from '../src/workflows/definitions.js';
import { createOnboardingWorker } from '../src/temporal/worker.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const LATENCY_MS = 20;

Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
const paths = pathsConfig();
const binary = await findTemporalCli({ explicit: paths.temporalCli, path: searchPath(), cacheDir: paths.cacheDir });
const keyDir = mkdtempSync(join(tmpdir(), 'ks-bench-'));
const keys = { private: join(keyDir, 'private.pem'), public: join(keyDir, 'public.pem') };
ensureDevKeyPair(keys.private, keys.public);
const server = await startDevServer({ binary, port: 0 });
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

try {
  const connection = await Connection.connect({ address: server.address });
  const native = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection });
  console.log(
    `one onboarding = user + workspace + project + 2 memberships; emulator latency ${LATENCY_MS} ms; median of ${RUNS}`,
  );
  console.log('controller delay | run        | wall ms | KubeSphere requests (by method)     | history events');
  for (const controllerDelay of [0, 300]) {
    const emulator = await createEmulator({
      faults: { latencyMs: LATENCY_MS },
      delays: { userActivationMs: controllerDelay, workspaceRolesMs: controllerDelay, projectRolesMs: controllerDelay },
    });
    const ks = new KubeSphereClient({
      baseUrl: emulator.url,
      credentials: { username: 'admin', password: 'P@88w0rd' },
    });
    await ks.getUser('admin'); // log in outside the measurement
    const taskQueue = `bench-${controllerDelay}`;
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
    });
    // ops-admin asks (a platform-admin, so nothing waits for an approval)
    const requester = {
      token: (await loginOnce({ baseUrl: emulator.url, username: 'ops-admin', password: 'Ops-P@88w0rd' })).accessToken,
      publicKey: readPem(keys.public),
    };
    await worker.runUntil(async () => {
      for (const label of ['first', 'again']) {
        const walls: number[] = [];
        const requests: number[] = [];
        const events: number[] = [];
        let methods = '';
        for (let i = 0; i < RUNS; i++) {
          const input = {
            username: `user${i}`,
            email: `user${i}@example.com`,
            workspace: `ws${i}`,
            project: `proj${i}`,
          };
          const before = { ...emulator.requests.byMethod };
          const started = performance.now();
          const workflowId = WORKFLOW_ID.onboard(input.username);
          const { handle } = await proposeOnboarding(
            client,
            taskQueue,
            onboardingInput(input, requester, workflowId),
            workflowId,
          );
          await handle.result();
          walls.push(performance.now() - started);
          const delta = Object.fromEntries(
            Object.entries(emulator.requests.byMethod).map(([m, n]) => [m, n - (before[m] ?? 0)]),
          );
          requests.push(Object.values(delta).reduce((a, b) => a + b, 0));
          methods = JSON.stringify(delta);
          events.push((await handle.fetchHistory()).events?.length ?? 0);
        }
        console.log(
          `${String(controllerDelay).padStart(13)} ms | ${label.padEnd(10)} | ${median(walls).toFixed(0).padStart(7)} | ${String(median(requests)).padStart(3)} ${methods.padEnd(31)} | ${median(events)}`,
        );
      }
    });
    await ks.close();
    await emulator.close();
  }
  await native.close();
  await connection.close();
} finally {
  await server.stop();
}
