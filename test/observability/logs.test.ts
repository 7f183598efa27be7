import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditSink } from '../../src/audit/sink.js';
import { createLogger, installRuntime } from '../../src/cli/logger.js';
import { startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { temporalHarness, type TemporalHarness } from '../helpers/temporal.js';
import { observedWorkers } from './helpers.js';

/**
 * A worker's log lines as `ks-onboard worker` writes them (the runtime installed by installRuntime, pino JSON):
 * captured while an onboarding runs through injected KubeSphere faults and an audit sink that fails once.
 */
const lines: Record<string, unknown>[] = [];
const raw: string[] = [];
let t: TemporalHarness;
let h: EmulatorHarness;
let workers: Awaited<ReturnType<typeof observedWorkers>>;

beforeAll(async () => {
  // before the harness: the first runtime installed in this process is ours
  const log = createLogger('info', {
    write(line: string) {
      raw.push(line);
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  await installRuntime(log);
  t = await temporalHarness();
  h = await startEmulator({ faults: { failRate: 0.25, seed: 11 } });
  workers = await observedWorkers(t);
});
afterAll(async () => {
  await workers.close();
  await h.close();
  await t.close();
});

describe('worker logs', () => {
  it('every activity line carries workflowId, runId, activityType and attempt; no line a task token or secret', async () => {
    let failures = 1;
    const flaky: AuditSink = {
      description: 'flaky',
      write: async () => {
        if (failures-- > 0) throw new Error('disk full');
      },
      close: async () => undefined,
    };
    const taskQueue = t.taskQueue();
    const worker = await workers.worker(taskQueue, h.emulator.url, { audit: flaky });
    const workflowId = await worker.runUntil(async () => {
      const { handle } = await t.propose(taskQueue, {
        username: 'log-alice',
        email: 'log-alice@example.com',
        sealedPassword: t.sealPassword('S3cret-Passw0rd'),
        workspace: 'log-team',
        project: 'log-team-dev',
      });
      await handle.result();
      return handle.workflowId;
    });
    // forwarded lines are buffered for 100 ms to be put in order
    await new Promise((resolve) => setTimeout(resolve, 500));

    const activityLines = lines.filter((line) => 'activityType' in line);
    expect(activityLines.length).toBeGreaterThan(0);
    for (const line of activityLines)
      expect(line, JSON.stringify(line)).toMatchObject({
        workflowId,
        runId: expect.any(String),
        activityType: expect.any(String),
        attempt: expect.any(Number),
      });
    // our own code's line, from inside the audit activity: the failed write, on its first attempt
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: 'audit event not written; retried',
        sdkComponent: 'activity',
        activityType: 'audit',
        attempt: 1,
        workflowId,
        err: 'disk full',
      }),
    );
    // the SDK's own warning for a KubeSphere step that failed an attempt (injected faults)
    expect(activityLines.some((line) => line.msg === 'Activity failed' && line.level === 40)).toBe(true);
    const text = raw.join('');
    expect(text).not.toMatch(/taskToken|workflowRunId|S3cret-Passw0rd|ks-sealed/);
    expect(lines.every((line) => line.app === 'ks-onboard')).toBe(true);
  });
});
