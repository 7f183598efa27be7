import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { runCli } from '../helpers/cli.js';
import { OPS, temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

/** `ks-onboard pause` / `resume` as an operator runs them during a KubeSphere upgrade. */
let t: TemporalHarness;
let h: EmulatorHarness;
let env: NodeJS.ProcessEnv;
const BOSS = { username: 'cli-pause-boss', password: 'B0ss-P@ssw0rd' };
const asBoss = () => ({ ...env, KUBESPHERE_USERNAME: BOSS.username, KUBESPHERE_PASSWORD: BOSS.password });

beforeAll(async () => {
  t = await temporalHarness();
  h = await startEmulator();
  const taskQueue = t.taskQueue();
  env = {
    TEMPORAL_ADDRESS: t.address,
    KS_ONBOARD_TASK_QUEUE: taskQueue,
    // this file's own switch: a pause here never holds another test's writes
    KS_ONBOARD_WORKFLOW_ID_PREFIX: t.prefixOf(taskQueue),
    KS_ONBOARD_SEAL_PUBLIC_KEY: t.keys.public,
    KUBESPHERE_HOST: h.emulator.url,
    KUBESPHERE_USERNAME: OPS.username,
    KUBESPHERE_PASSWORD: OPS.password,
  };
  t.useEmulator(taskQueue, h.emulator.url);
  await h.person(BOSS, 'platform-admin');
});
afterAll(async () => {
  await h.close();
  await t.close();
});

describe('ks-onboard pause / resume', () => {
  it('pause holds an onboarding (status says why), resume lets it finish; bad input exits 2', async () => {
    const noReason = await runCli(['pause'], asBoss());
    expect(noReason.code).toBe(2);
    expect(noReason.output).toMatch(/--reason/);
    const blank = await runCli(['pause', '--reason', '  '], asBoss());
    expect(blank.code).toBe(2);

    const worker = await t.worker(env.KS_ONBOARD_TASK_QUEUE!, h.emulator.url);
    await worker.runUntil(async () => {
      const paused = await runCli(['pause', '--reason', 'KubeSphere 4.1 upgrade'], asBoss());
      expect(paused.output).toMatch(/KubeSphere writes PAUSED by cli-pause-boss at \S+: KubeSphere 4\.1 upgrade/);
      expect(paused.code).toBe(0);
      // A second pause does not silently replace the first one's reason.
      const again = await runCli(['pause', '--reason', 'another'], asBoss());
      expect(again.code).toBe(2);
      expect(again.output).toMatch(/already paused since \S+ by cli-pause-boss: KubeSphere 4\.1 upgrade/);

      const workflowId = `${env.KS_ONBOARD_WORKFLOW_ID_PREFIX}onboard-paula`;
      const started = await runCli(['onboard', '--username', 'paula', '--email', 'paula@example.com'], env);
      expect(started.code).toBe(0);
      const status = await eventually(async () => {
        const { output } = await runCli(['status', workflowId], env);
        if (!output.includes('PAUSED for everyone')) throw new Error(output);
        return output;
      }, 30_000);
      expect(status).toMatch(
        /KubeSphere writes are PAUSED for everyone since \S+ by cli-pause-boss: KubeSphere 4\.1 upgrade/,
      );
      expect(h.emulator.snapshot().users.paula).toBeUndefined();

      const resumed = await runCli(['resume'], asBoss());
      expect(resumed.output).toMatch(/KubeSphere writes resumed by cli-pause-boss/);
      expect(resumed.code).toBe(0);
      const nothing = await runCli(['resume'], asBoss());
      expect(nothing.code).toBe(2);
      expect(nothing.output).toMatch(/not paused: nothing to resume/);
      await eventually(async () => {
        if (!h.emulator.snapshot().users.paula) throw new Error('paula not created yet');
      }, 90_000);
      const after = await runCli(['status', workflowId, '--json'], env);
      expect(JSON.parse(after.output)).not.toHaveProperty('writesPaused');
    });
  });

  it('a requester who is not a platform-admin cannot pause (exit 1, the worker says why)', async () => {
    const worker = await t.worker(env.KS_ONBOARD_TASK_QUEUE!, h.emulator.url);
    const regular = { username: 'cli-pause-regular', password: 'Reg-P@ssw0rd1' };
    await h.person(regular);
    await worker.runUntil(async () => {
      const refused = await runCli(['pause', '--reason', 'mine'], {
        ...env,
        KUBESPHERE_USERNAME: regular.username,
        KUBESPHERE_PASSWORD: regular.password,
      });
      expect(refused.code).toBe(1);
      expect(refused.output).toMatch(/pause refused by the worker: cli-pause-regular is not a platform-admin/);
    });
  });
});
