import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import proto from '@temporalio/proto';
import { workflowSpanSink } from '../../src/tracing/index.js';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PLATFORM_ADMIN_DEMOTION_ID } from '../../src/workflows/definitions.js';
import { startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { HISTORIES_DIR, saveHistory } from '../helpers/histories.js';
import { failureOf, temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

/**
 * Replays histories recorded from earlier versions against today's workflow code: a change that would
 * break running workflows (non-determinism) fails here. `RECORD_HISTORIES=1` records them anew, for a
 * deliberate, versioned change.
 */
const record = process.env.RECORD_HISTORIES === '1';

describe.runIf(record)('record histories', () => {
  let t: TemporalHarness;
  let faulty: EmulatorHarness;
  let h: EmulatorHarness;
  const BOSS = { username: 'rec-boss', password: 'B0ss-P@ssw0rd' };
  beforeAll(async () => {
    t = await temporalHarness();
    faulty = await startEmulator({ faults: { failRate: 0.2, seed: 3 } });
    h = await startEmulator();
    await h.person(BOSS, 'platform-admin');
  });
  afterAll(async () => {
    await faulty.close();
    await h.close();
    await t.close();
  });
  const save = (name: string, handle: { workflowId: string; fetchHistory: () => Promise<unknown> }) =>
    saveHistory(name, handle);

  it('records an onboarding through injected faults', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, faulty.emulator.url);
    await worker.runUntil(async () => {
      const { handle } = await t.propose(taskQueue, {
        username: 'rec-a',
        email: 'a@rec.io',
        sealedPassword: t.sealPassword('Passw0rd1'),
        workspace: 'rec',
        project: 'rec-dev',
      });
      await handle.result();
      await save('onboard-full-with-retries', handle);
    });
  });

  it('records approvals (pending, approved, rejected), a mismatch and role changes', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    await worker.runUntil(async () => {
      const elevated = (username: string) => ({
        username,
        email: `${username}@rec.io`,
        workspace: 'rec',
        workspaceRole: 'admin',
      });
      const pending = await t.propose(taskQueue, elevated('rec-p'));
      await save('onboard-approval-pending', pending.handle);
      await pending.handle.terminate('recorded');

      const approved = await t.propose(taskQueue, elevated('rec-b'));
      await t.decide(taskQueue, approved.handle, true, BOSS, 'lead');
      await approved.handle.result();
      await save('onboard-approved', approved.handle);

      const rejected = await t.propose(taskQueue, elevated('rec-r'));
      await t.decide(taskQueue, rejected.handle, false, BOSS, 'no');
      await failureOf(rejected.handle);
      await save('onboard-rejected', rejected.handle);

      await h.admin.createUser({ name: 'rec-c', email: 'other@rec.io' });
      const mismatch = await t.propose(taskQueue, { username: 'rec-c', email: 'c@rec.io' });
      await failureOf(mismatch.handle);
      await save('onboard-mismatch', mismatch.handle);

      const change = await t.proposeRoleChange(taskQueue, {
        username: 'rec-b',
        scope: 'workspace',
        workspace: 'rec',
        role: 'viewer',
      });
      await t.decide(taskQueue, change.handle, true, BOSS);
      await change.handle.result();
      await save('change-role', change.handle);

      await h.admin.createUser({ name: 'rec-d', email: 'd@rec.io', globalRole: 'platform-admin' });
      const demotion = await t.proposeRoleChange(taskQueue, {
        username: 'rec-d',
        scope: 'platform',
        role: 'platform-regular',
      });
      await t.decide(taskQueue, demotion.handle, true, BOSS);
      await demotion.handle.result();
      await save('change-role-platform-admin-demotion', demotion.handle);
      await save(
        'set-platform-role',
        t.client.workflow.getHandle(`${t.prefixOf(taskQueue)}${PLATFORM_ADMIN_DEMOTION_ID}`),
      );
    });
  });
});

describe('replay of recorded histories', () => {
  const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json'));

  it('has histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
  });

  it.each(files)('%s replays without non-determinism', async (file) => {
    // Saved as protobufjs objects (JSON.stringify of fetchHistory()), so read back the same way; the workflow
    // id matters (a request runs only under its own id), and a history does not carry it.
    const saved = JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8')) as {
      workflowId: string;
      history: Record<string, unknown>;
    };
    const history = proto.temporal.api.history.v1.History.fromObject(saved.history);
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: { codePath: inject('workflowBundlePath') }, sinks: workflowSpanSink() },
        history,
        saved.workflowId,
      ),
    ).resolves.toBeUndefined();
  });
});
