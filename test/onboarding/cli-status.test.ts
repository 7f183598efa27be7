import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnboardingState, StepReport } from '../../src/workflows/definitions.js';
import { runCli } from '../helpers/cli.js';
import { eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

/** `status` over the real dev server and emulator: a step being retried, and a person fixed by a later run. */
let t: TemporalHarness;
let h: EmulatorHarness;
const dir = mkdtempSync(join(tmpdir(), 'ks-cli-status-'));

beforeAll(async () => {
  t = await temporalHarness();
  h = await startEmulator();
});
afterAll(async () => {
  await h.close();
  await t.close();
});

/** A task queue with its worker's id prefix, and the CLI's environment for it (as ops-admin). */
function deployment() {
  const { as: _as, ...deployed } = t.cliDeployment(h.emulator.url, dir);
  return deployed;
}

const json = <T>(output: string): T => JSON.parse(output.slice(output.search(/[[{]/))) as T;
type StatusJson = {
  runId: string;
  status: string;
  state?: OnboardingState;
  earlierRuns?: { count: number; failed: number; lastFailed?: { runId: string; closedAt?: string } };
  latestRun?: { runId: string; status: string };
  webUi: string | null;
};
const stepOf = (state: OnboardingState | undefined, step: StepReport['step']) =>
  state?.steps.find((s) => s.step === step);

describe('status of a step that KubeSphere keeps failing', () => {
  it('shows the attempts, the last error, the next try and when the step gives up; then the healed outcome', async () => {
    const proxy = await startFaultProxy(h.emulator.url);
    try {
      const { taskQueue, prefix, env } = deployment();
      // The worker reaches KubeSphere through the proxy: workspaces answer 500, everything else works.
      const worker = await t.worker(taskQueue, proxy.url);
      proxy.fail((_method, path) => path.includes('/workspacetemplates'));
      const workflowId = `${prefix}onboard-st-ann`;
      await worker.runUntil(async () => {
        const started = await runCli(
          ['onboard', '--username', 'st-ann', '--email', 'ann@status.example', '--workspace', 'st-ws'],
          env,
        );
        expect(started.code, started.output).toBe(0);
        const retrying = await eventually(async () => {
          const status = await runCli(['status', workflowId, '--json'], env);
          const view = json<StatusJson>(status.output);
          expect(view.state?.lifecycle, status.output).toBe('running');
          expect(stepOf(view.state, 'workspace')?.retry?.attempts, status.output).toBeGreaterThanOrEqual(3);
          return view;
        }, 30_000);
        const workspace = stepOf(retrying.state, 'workspace')!;
        expect(workspace.outcome).toBe('pending');
        expect(workspace.retry!.lastError).toMatch(/^KS_UNAVAILABLE: .*500/);
        expect(workspace.retry!.lastError).toContain('injected by the test proxy');
        // The step gives up ten minutes after it was first scheduled (kubeCall's schedule-to-close).
        const givesUp = Date.parse(workspace.retry!.givesUpAt);
        expect(givesUp - Date.now()).toBeGreaterThan(8 * 60_000);
        expect(givesUp - Date.now()).toBeLessThanOrEqual(10 * 60_000);
        expect(stepOf(retrying.state, 'user')?.retry).toBeUndefined();
        expect(stepOf(retrying.state, 'workspace-member')?.outcome).toBe('pending');

        const text = await runCli(['status', workflowId], env);
        expect(text.code, text.output).toBe(0);
        expect(text.output).toContain(`${workflowId}: running`);
        expect(text.output).toMatch(
          /\n {2}workspace +st-ws +pending *\n {4}attempt \d+, last error: KS_UNAVAILABLE: [^\n]*500[^\n]*, (next try (in \d+s|now) \(\d\d:\d\d:\d\dZ\)|trying now), gives up in (9m|10m|8m)\d\ds \(\d\d:\d\d:\d\dZ\)\n/,
        );

        proxy.fail(() => false);
        await eventually(async () => {
          const status = await runCli(['status', workflowId], env);
          expect(status.output).toContain(`${workflowId}: done`);
          expect(status.output).not.toContain('attempt ');
        }, 60_000);
      });
      expect(proxy.failed().length).toBeGreaterThanOrEqual(3);
    } finally {
      await proxy.close();
    }
  });

  it('shows the retries the workflow reports itself (the user step, a local activity) the same way', async () => {
    const proxy = await startFaultProxy(h.emulator.url);
    try {
      const { taskQueue, prefix, env } = deployment();
      const worker = await t.worker(taskQueue, proxy.url);
      // Creating users answers 500; logins and the reads that verify the requester go on working.
      proxy.fail((method, path) => method === 'POST' && /\/users(\?|$)/.test(path));
      const workflowId = `${prefix}onboard-st-cy`;
      await worker.runUntil(async () => {
        const started = await runCli(['onboard', '--username', 'st-cy', '--email', 'cy@status.example'], env);
        expect(started.code, started.output).toBe(0);
        const view = await eventually(async () => {
          const status = await runCli(['status', workflowId, '--json'], env);
          const parsed = json<StatusJson>(status.output);
          expect(stepOf(parsed.state, 'user')?.retry?.attempts, status.output).toBeGreaterThanOrEqual(2);
          return parsed;
        }, 30_000);
        expect(stepOf(view.state, 'user')).toMatchObject({
          outcome: 'pending',
          retry: { lastError: expect.stringMatching(/^KS_UNAVAILABLE: .*500/) as unknown },
        });
        const text = await runCli(['status', workflowId], env);
        expect(text.output).toMatch(
          /\n {2}user +st-cy +pending +platform-regular\n {4}attempt \d+, last error: KS_UNAVAILABLE: [^\n]*500[^\n]*, (next try (in \d+s|now) \(\d\d:\d\d:\d\dZ\)|trying now), gives up in \d+m\d\ds \(\d\d:\d\d:\d\dZ\)\n/,
        );
        proxy.fail(() => false);
        await eventually(async () => {
          const status = await runCli(['status', workflowId], env);
          expect(status.output).toContain(`${workflowId}: done`);
        }, 60_000);
      });
    } finally {
      await proxy.close();
    }
  });
});

describe('status of a person fixed by a later run', () => {
  it('describes the latest run and names the earlier failed one; --run shows that one; list goes by the latest', async () => {
    const { taskQueue, prefix, env } = deployment();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const workflowId = `${prefix}onboard-st-bo`;
    const onboard = ['onboard', '--username', 'st-bo', '--email', 'bo@status.example'];
    const into = ['--workspace', 'st-later', '--no-create-workspace', '--wait'];
    await worker.runUntil(async () => {
      const first = await runCli([...onboard, ...into], env);
      expect(first.code, first.output).toBe(1);
      expect(first.output).toContain('workspace st-later does not exist');
      const failed = json<StatusJson>((await runCli(['status', workflowId, '--json'], env)).output);
      expect(failed).toMatchObject({ status: 'FAILED', state: { lifecycle: 'failed' } });

      await h.admin.createWorkspace({ name: 'st-later', clusters: ['host'] });
      const second = await runCli([...onboard, ...into], env);
      expect(second.code, second.output).toBe(0);

      const status = await eventually(async () => {
        const text = await runCli(['status', workflowId], env);
        expect(text.output).toContain(`${workflowId}: done`);
        expect(text.output).toMatch(
          new RegExp(
            `\\n {2}earlier runs: 1 failed \\(last at \\d{4}-[^;]+; ks-onboard status ${workflowId.replace('.', '\\.')} --run ${failed.runId}\\)`,
          ),
        );
        return text;
      }, 30_000);
      expect(status.output).not.toContain('error:');
      const latest = json<StatusJson>((await runCli(['status', workflowId, '--json'], env)).output);
      expect(latest).toMatchObject({
        status: 'COMPLETED',
        state: { lifecycle: 'done' },
        earlierRuns: { count: 1, failed: 1, lastFailed: { runId: failed.runId } },
        webUi: null, // no Web UI beside this dev server's random port, and none configured
      });
      expect(latest.runId).not.toBe(failed.runId);

      const earlier = await runCli(['status', workflowId, '--run', failed.runId], env);
      expect(earlier.code, earlier.output).toBe(0);
      expect(earlier.output).toContain(`${workflowId}: failed`);
      expect(earlier.output).toContain(`the latest (${latest.runId}) is completed`);
      const bad = await runCli(['status', workflowId, '--run', 'not-a-run'], env);
      expect(bad.code).toBe(2);
      expect(bad.output).toContain("option '--run <runId>' argument 'not-a-run' is invalid");

      // The raw filter OnboardingState='failed' still matches the failed run; list goes by each id's latest run.
      await eventually(async () => {
        const done = json<Array<{ workflowId: string; state: string }>>(
          (await runCli(['list', '--state', 'done', '--json'], env)).output,
        );
        expect(done.map((r) => r.workflowId)).toContain(workflowId);
      }, 30_000);
      const failedList = json<Array<{ workflowId: string }>>(
        (await runCli(['list', '--state', 'failed', '--json'], env)).output,
      );
      expect(failedList.map((r) => r.workflowId)).not.toContain(workflowId);
      const raw: string[] = [];
      for await (const run of t.client.workflow.list({
        query: `WorkflowId = '${workflowId}' AND OnboardingState = 'failed'`,
      }))
        raw.push(run.runId);
      expect(raw).toEqual([failed.runId]);
    });
  });
});
