import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/temporal/dev-server.js';
import { startCli } from '../helpers/cli.js';
import { eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
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
