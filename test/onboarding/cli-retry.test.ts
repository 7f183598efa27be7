import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstEvent } from '../../src/cli/batch.js';
import { readPem } from '../../src/codec/seal.js';
import { onboardingInput } from '../../src/temporal/start.js';
import type { BatchPerson } from '../../src/policy/batch.js';
import type { OnboardUserInput } from '../../src/policy/requests.js';
import type { StepReport } from '../../src/workflows/definitions.js';
import { runCli } from '../helpers/cli.js';
import { eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

/** `ks-onboard retry` over the real dev server and emulator. */
let t: TemporalHarness;
let h: EmulatorHarness;
const dir = mkdtempSync(join(tmpdir(), 'ks-cli-retry-'));
const BOSS = { username: 'rt-boss', password: 'B0ss-P@ssw0rd' };
const PASSWORD = 'Retry-P@ssw0rd-1';

beforeAll(async () => {
  t = await temporalHarness();
  h = await startEmulator();
  await h.person(BOSS, 'platform-admin');
});
afterAll(async () => {
  await h.close();
  await t.close();
});

function deployment() {
  const { as, ...deployed } = t.cliDeployment(h.emulator.url, dir);
  return { ...deployed, asBoss: as(BOSS) };
}

const json = <T>(output: string): T => JSON.parse(/^[[{][\s\S]*?^[\]}]/m.exec(output)![0]) as T;
const inputOf = async (workflowId: string, runId: string) =>
  (await firstEvent(t.client, workflowId, runId)).input as OnboardUserInput;
const runIdOf = async (workflowId: string) => (await t.client.workflow.getHandle(workflowId).describe()).runId;

describe('ks-onboard retry', () => {
  it('runs a failed onboarding again with its sealed password, as the operator, and shows what changed', async () => {
    const { taskQueue, prefix, env, asBoss } = deployment();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const workflowId = `${prefix}onboard-rt-ann`;
    const passwordFile = join(dir, 'ann.pw');
    writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    await worker.runUntil(async () => {
      // KubeSphere lacks the workspace the request (rightly) expects to exist: the run fails at that step.
      const first = await runCli(
        [
          'onboard',
          '--username',
          'rt-ann',
          '--email',
          'ann@retry.example',
          '--password-file',
          passwordFile,
          '--workspace',
          'rt-ws',
          '--no-create-workspace',
          '--wait',
        ],
        env,
      );
      expect(first.code, first.output).toBe(1);
      const failedRunId = await runIdOf(workflowId);
      await h.admin.createWorkspace({ name: 'rt-ws', clusters: ['host'] });

      // Another operator retries it, without the password file.
      const retried = await runCli(['retry', workflowId], asBoss);
      expect(retried.code, retried.output).toBe(0);
      expect(retried.output).toContain(`${workflowId}: run ${failedRunId} failed (Missing: `);
      expect(retried.output).toMatch(/\n {2}retried as run [0-9a-f-]{36}, requested by rt-boss: done\n/);
      expect(retried.output).toContain('\n  user rt-ann: created → existed\n');
      expect(retried.output).toContain('\n  workspace rt-ws: failed (Missing) → existed\n');
      expect(retried.output).toContain('\n  workspace-member rt-ws: skipped → created\n');
      expect(retried.output).not.toContain('ks-sealed');
      expect(retried.output).not.toContain(PASSWORD);
      expect(await h.admin.workspaceRolesOf('rt-ws', 'rt-ann')).toEqual(['rt-ws-regular']);

      // The new run carries the failed run's sealed password as it was, with a new proof of who asked.
      const newRunId = await runIdOf(workflowId);
      expect(newRunId).not.toBe(failedRunId);
      const [before, after] = [await inputOf(workflowId, failedRunId), await inputOf(workflowId, newRunId)];
      expect(after.sealedPassword).toMatch(/^ks-sealed:/);
      expect(after.sealedPassword).toBe(before.sealedPassword);
      expect(after.source.kind).toBe('requester');
      expect(after.source).not.toEqual(before.source);
      const { source: _a, ...askedAfter } = after;
      const { source: _b, ...askedBefore } = before;
      expect(askedAfter).toEqual(askedBefore);

      // Nothing left to retry: completed, and (below) running or not a request at all.
      const again = await runCli(['retry', workflowId], env);
      expect(again.code, again.output).toBe(2);
      expect(again.output).toContain(`${workflowId} completed: nothing to retry`);

      const waiting = await runCli(
        [
          'onboard',
          '--username',
          'rt-eve',
          '--email',
          'eve@retry.example',
          '--workspace',
          'rt-ws',
          '--workspace-role',
          'admin',
        ],
        env,
      );
      expect(waiting.code, waiting.output).toBe(0);
      const running = await runCli(['retry', `${prefix}onboard-rt-eve`], env);
      expect(running.code, running.output).toBe(2);
      expect(running.output).toContain(`${prefix}onboard-rt-eve is still running: nothing to retry`);
      await runCli(['reject', `${prefix}onboard-rt-eve`, '--reason', 'test over', '--yes'], asBoss);
    });

    // A role change too: refused while the person was not a member yet, retried once they are.
    await h.admin.createWorkspace({ name: 'rt-ws2', clusters: ['host'] });
    const changeId = `${prefix}change-role-rt-ann-workspace-rt-ws2`;
    const secondWorker = await t.worker(taskQueue, h.emulator.url);
    await secondWorker.runUntil(async () => {
      const change = ['change-role', '--username', 'rt-ann', '--scope', 'workspace', '--workspace', 'rt-ws2'];
      const refused = await runCli([...change, '--role', 'viewer', '--wait'], env);
      expect(refused.code, refused.output).toBe(1);
      expect(refused.output).toContain('NotAMember');
      await eventually(() =>
        h.admin.addWorkspaceMembers('rt-ws2', [{ username: 'rt-ann', roleRef: 'rt-ws2-regular' }]),
      );
      const retried = await runCli(['retry', changeId], env);
      expect(retried.code, retried.output).toBe(0);
      expect(retried.output).toMatch(
        /requested by ops-admin: done\n {2}role rt-ws2: failed( \(NotAMember\))? → updated\n/,
      );
    });
    expect(await h.admin.workspaceRolesOf('rt-ws2', 'rt-ann')).toEqual(['rt-ws2-viewer']);

    // A run refused before any worker verified who asked (here: a token KubeSphere does not know) carries a
    // request nobody vouched for: an operator's retry must not lend it their authority.
    const forgedId = `${prefix}onboard-rt-mallory`;
    const forgedWorker = await t.worker(taskQueue, h.emulator.url);
    await forgedWorker.runUntil(async () => {
      const input = onboardingInput(
        { username: 'rt-mallory', email: 'mallory@retry.example', workspace: 'rt-ws', workspaceRole: 'admin' },
        { token: 'not-a-kubesphere-token', publicKey: readPem(t.keys.public) },
        forgedId,
      );
      const forged = await t.client.workflow.start('onboardUser', { taskQueue, workflowId: forgedId, args: [input] });
      await forged.result().catch(() => undefined);
      const refused = await runCli(['retry', forgedId], asBoss);
      expect(refused.code, refused.output).toBe(2);
      expect(refused.output).toMatch(/refused before a worker verified who asked for it .*nothing in it is taken on/);
    });
    expect(h.emulator.snapshot().users['rt-mallory']).toBeUndefined();

    const missing = await runCli(['retry', `${prefix}onboard-rt-nobody`, '--json'], env);
    expect(missing.code).toBe(1);
    expect(json<{ error: { message: string } }>(missing.output).error.message).toContain('no workflow');
  });

  it('retries a failed batch row as the operator’s own request; --no-wait returns at once', async () => {
    const { taskQueue, prefix, env } = deployment();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const batchId = `rtb-${randomBytes(4).toString('hex')}`;
    const batchWorkflowId = `${prefix}import-${batchId}`;
    const workflowId = `${prefix}onboard-rt-bo`;
    // rt-bo exists with a stale email: the row fails (ResourceMismatch) until KubeSphere is fixed.
    await h.person({ username: 'rt-bo', password: 'Exist1ng-P@ss' });
    const people: BatchPerson[] = [
      { username: 'rt-bo', email: 'rt-bo@batch.example', placements: [{ workspace: 'rtb-ws', line: 2 }], lines: [2] },
    ];
    await worker.runUntil(async () => {
      await t.startImport(taskQueue, { batchId, contentDigest: `digest-of-${batchId}`, rows: 1 }, people);
      await eventually(async () => {
        const status = await runCli(['status', workflowId, '--json'], env);
        expect(json<{ status: string }>(status.output).status).toBe('FAILED');
      }, 30_000);
      const failedRunId = await runIdOf(workflowId);

      const batch = await runCli(['retry', batchWorkflowId], env);
      expect(batch.code, batch.output).toBe(2);
      expect(batch.output).toContain(`${batchWorkflowId} is a importBatch workflow: retry takes an onboarding`);

      const user = await h.admin.getUser('rt-bo');
      await h.admin.updateUser({ ...user, spec: { ...user.spec, email: 'rt-bo@batch.example' } });

      const started = await runCli(['retry', workflowId, '--no-wait', '--json'], env);
      expect(started.code, started.output).toBe(0);
      const answer = json<{
        runId: string;
        retried: { runId: string; status: string; failure: string; steps: StepReport[] };
        asYourRequest: string;
        outcome?: unknown;
        changes: Array<{ step: string; target: string; before: string; after?: string }>;
        webUi: string | null;
      }>(started.output);
      expect(answer.retried).toMatchObject({ runId: failedRunId, status: 'FAILED' });
      expect(answer.retried.failure).toMatch(/^ResourceMismatch: /);
      expect(answer.asYourRequest).toContain(`was a row of batch ${batchId}: retried as your own request`);
      expect(answer.outcome).toBeUndefined();
      expect(answer.changes).toContainEqual({ step: 'user', target: 'rt-bo', before: 'failed (ResourceMismatch)' });
      expect(answer.webUi).toBeNull();
      expect(answer.runId).not.toBe(failedRunId);

      await eventually(async () => {
        const status = await runCli(['status', workflowId], env);
        expect(status.output).toContain(`${workflowId}: done`);
        expect(status.output).toMatch(/user +rt-bo +existed/);
        expect(status.output).toContain(`earlier runs: 1 failed`);
      }, 30_000);
      const input = await inputOf(workflowId, answer.runId);
      expect(input.source.kind).toBe('requester');
      expect(input.batchId).toBe(batchId);
    });
    expect(await h.admin.workspaceRolesOf('rtb-ws', 'rt-bo')).toEqual(['rtb-ws-regular']);
  });
});
