import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/temporal/dev-server.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startCli } from '../helpers/cli.js';
import { ADMIN_PASSWORD, eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { failureOf, temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

let t: TemporalHarness;
let h: EmulatorHarness;

beforeAll(async () => {
  t = await temporalHarness();
  h = await startEmulator();
});
afterAll(async () => {
  await h.close();
  await t.close();
});

describe('a worker whose KubeSphere login is refused', () => {
  it(
    'stays up, says so once, is not ready, and never logs in with the same credentials again',
    { timeout: 120_000 },
    async () => {
      const taskQueue = t.taskQueue();
      const port = await freePort();
      const before = h.emulator.requests.byRoute['POST /oauth/token'] ?? 0;
      const worker = startCli(['worker'], {
        TEMPORAL_ADDRESS: t.address,
        KS_ONBOARD_TASK_QUEUE: taskQueue,
        KS_ONBOARD_WORKFLOW_ID_PREFIX: t.prefixOf(taskQueue),
        KUBESPHERE_HOST: h.emulator.url,
        KUBESPHERE_USERNAME: 'admin',
        KUBESPHERE_PASSWORD: 'Wrong-Passw0rd',
        KS_ONBOARD_SEAL_PRIVATE_KEYS: t.keys.private,
        KS_ONBOARD_HEALTH_PORT: String(port),
        LOG_LEVEL: 'info',
      });
      try {
        await worker.waitFor(/worker ready/, 60_000);
        // it checked its account name at start: that login was refused, and it says so
        expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
        t.useEmulator(taskQueue, h.emulator.url);
        const types: string[] = [];
        for (const username of ['wp-a', 'wp-b', 'wp-c']) {
          const { handle } = await t.propose(taskQueue, { username, email: `${username}@example.com` });
          types.push((await failureOf(handle)).type ?? '');
        }
        expect(types).toEqual(['KS_CREDENTIALS_REJECTED', 'KS_CREDENTIALS_REJECTED', 'KS_CREDENTIALS_REJECTED']);
        // the worker logged in once (at start), never again; the requester (ops-admin) once
        expect((h.emulator.requests.byRoute['POST /oauth/token'] ?? 0) - before).toBe(2);
        const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
        expect(ready.status).toBe(503);
        expect(((await ready.json()) as { reason: string }).reason).toMatch(/admin/);
        expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
        await eventually(() => expect(worker.output().match(/rejected the worker's login/g)).toHaveLength(1));
        expect(worker.output()).not.toContain('Wrong-Passw0rd');
      } finally {
        worker.child.kill('SIGTERM');
        await worker.exited;
      }
    },
  );
});

describe('a worker started from a bundle built ahead (as the image does)', () => {
  it(
    'loads it instead of bundling, and runs onboardings with it; a missing bundle stops it at start',
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ks-bundle-'));
      const bundle = join(dir, 'workflow-bundle.js');
      const built = await runCli(['bundle', '--out', bundle]);
      expect(built.code).toBe(0);
      expect(built.output).toMatch(/workflow bundle written to .*workflow-bundle\.js \(\d+ KiB\)/);

      const missing = await runCli(['worker'], {
        TEMPORAL_ADDRESS: t.address,
        KUBESPHERE_HOST: h.emulator.url,
        KUBESPHERE_USERNAME: 'admin',
        KUBESPHERE_PASSWORD: ADMIN_PASSWORD,
        KS_ONBOARD_WORKFLOW_BUNDLE: join(dir, 'nope.js'),
      });
      expect(missing.code).toBe(2);
      expect(missing.output).toMatch(/KS_ONBOARD_WORKFLOW_BUNDLE.*no such file/);

      const taskQueue = t.taskQueue();
      const worker = startCli(['worker'], {
        TEMPORAL_ADDRESS: t.address,
        KS_ONBOARD_TASK_QUEUE: taskQueue,
        KS_ONBOARD_WORKFLOW_ID_PREFIX: t.prefixOf(taskQueue),
        KUBESPHERE_HOST: h.emulator.url,
        KUBESPHERE_USERNAME: 'admin',
        KUBESPHERE_PASSWORD: ADMIN_PASSWORD,
        KS_ONBOARD_SEAL_PRIVATE_KEYS: t.keys.private,
        KS_ONBOARD_WORKFLOW_BUNDLE: bundle,
        LOG_LEVEL: 'info',
      });
      try {
        await worker.waitFor(/worker ready/, 60_000);
        expect(worker.output()).toContain(`"workflowBundle":"${bundle}"`);
        t.useEmulator(taskQueue, h.emulator.url);
        const { handle } = await t.propose(taskQueue, { username: 'bundled', email: 'bundled@example.com' });
        expect((await handle.result()).lifecycle).toBe('done');
        expect(h.emulator.snapshot().users.bundled).toBeDefined();
      } finally {
        worker.child.kill('SIGTERM');
        await worker.exited;
      }
    },
  );
});
