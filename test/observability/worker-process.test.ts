import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/events.js';
import { freePort } from '../../src/temporal/dev-server.js';
import { startCli } from '../helpers/cli.js';
import { ADMIN_PASSWORD, eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

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

describe('ks-onboard worker, observed as an operator does', () => {
  it(
    'writes the audit trail on stdout and JSON logs on stderr, serves /metrics and the SDK’s Prometheus endpoint',
    { timeout: 120_000 },
    async () => {
      const taskQueue = t.taskQueue();
      const [healthPort, sdkPort] = [await freePort(), await freePort()];
      const worker = startCli(['worker'], {
        TEMPORAL_ADDRESS: t.address,
        KS_ONBOARD_TASK_QUEUE: taskQueue,
        KS_ONBOARD_WORKFLOW_ID_PREFIX: t.prefixOf(taskQueue),
        KS_ONBOARD_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
        KUBESPHERE_HOST: h.emulator.url,
        KUBESPHERE_USERNAME: 'admin',
        KUBESPHERE_PASSWORD: ADMIN_PASSWORD,
        KS_ONBOARD_SEAL_PRIVATE_KEYS: t.keys.private,
        KS_ONBOARD_HEALTH_PORT: String(healthPort),
        KS_ONBOARD_SDK_METRICS_ADDRESS: `127.0.0.1:${sdkPort}`,
        KS_ONBOARD_AUDIT: '', // the default: stdout
        LOG_LEVEL: 'info',
      });
      let stdout = '';
      let stderr = '';
      worker.child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      worker.child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      try {
        await worker.waitFor(/worker ready/, 60_000);
        t.useEmulator(taskQueue, h.emulator.url);
        const { handle } = await t.propose(taskQueue, {
          username: 'wpo-alice',
          email: 'wpo-alice@example.com',
          workspace: 'wpo-team',
        });
        await handle.result();

        const audit = await eventually(() => {
          const events = stdout
            .trimEnd()
            .split('\n')
            .map((line) => JSON.parse(line) as AuditEvent);
          expect(events.map((e) => e.type)).toEqual(['request.accepted', 'request.completed']);
          return events;
        });
        expect(audit.every((e) => e.schema === 'ks-onboard.audit/v1' && e.workflow.id === handle.workflowId)).toBe(
          true,
        );
        expect(stdout).not.toContain('@');
        // stderr: pino's JSON lines only (Temporal's, the native core's included), none an audit event
        const logLines = stderr
          .trimEnd()
          .split('\n')
          .map((line) => JSON.parse(line) as Record<string, unknown>);
        expect(logLines.some((line) => line.msg === 'worker ready' && line.audit === 'stdout')).toBe(true);
        expect(logLines.every((line) => !('schema' in line))).toBe(true);

        const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
        expect(metrics).toContain(
          'ks_onboard_requests_total{workflow="onboardUser",source="cli",outcome="completed"} 1',
        );
        expect(metrics).toMatch(
          /ks_onboard_kubesphere_requests_total\{method="POST",route="\/oauth\/token",status="200"\}/,
        );
        expect(metrics).toContain('process_resident_memory_bytes');
        const sdk = await (await fetch(`http://127.0.0.1:${sdkPort}/metrics`)).text();
        expect(sdk).toMatch(/^temporal_\w+/m);
      } finally {
        worker.child.kill('SIGTERM');
        await worker.exited;
      }
    },
  );
});
