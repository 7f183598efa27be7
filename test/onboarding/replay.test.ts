import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startRoleChange } from '../../src/temporal/start.js';
import { decideUpdate, stateQuery } from '../../src/workflows/definitions.js';
import { eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { failureOf, temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

/**
 * Replays histories recorded from earlier versions against today's workflow code: a change that would
 * break running workflows (non-determinism) fails here. `RECORD_HISTORIES=1` records them anew, for a
 * deliberate, versioned change.
 */
const DIR = fileURLToPath(new URL('../fixtures/histories', import.meta.url));
const record = process.env.RECORD_HISTORIES === '1';

describe.runIf(record)('record histories', () => {
  let t: TemporalHarness;
  let h: EmulatorHarness;
  beforeAll(async () => {
    t = await temporalHarness();
    h = await startEmulator({ faults: { failRate: 0.2, seed: 3 } });
  });
  afterAll(async () => {
    await h.close();
    await t.close();
  });

  it('records onboardings, an approval, a mismatch and a role change', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    await worker.runUntil(async () => {
      const save = async (name: string, handle: { fetchHistory: () => Promise<unknown> }) =>
        writeFileSync(join(DIR, `${name}.json`), JSON.stringify(await handle.fetchHistory(), null, 1));

      const full = await t.startOnboarding(taskQueue, {
        username: 'rec-a',
        email: 'a@rec.io',
        sealedPassword: t.sealPassword('Passw0rd1'),
        workspace: 'rec',
        project: 'rec-dev',
      });
      await full.result();
      await save('onboard-full-with-retries', full);

      const approved = await t.startOnboarding(taskQueue, {
        username: 'rec-b',
        email: 'b@rec.io',
        workspace: 'rec',
        workspaceRole: 'admin',
        policy: { approvalTimeout: '1h' },
      });
      await eventually(async () => expect((await approved.query(stateQuery)).lifecycle).toBe('awaiting-approval'));
      await approved.executeUpdate(decideUpdate, { args: [{ approve: true, by: 'lead' }] });
      await approved.result();
      await save('onboard-approved', approved);

      await h.admin.createUser({ name: 'rec-c', email: 'other@rec.io' });
      const mismatch = await t.startOnboarding(taskQueue, { username: 'rec-c', email: 'c@rec.io' });
      await failureOf(mismatch);
      await save('onboard-mismatch', mismatch);

      const change = await startRoleChange(t.client, taskQueue, {
        username: 'rec-a',
        scope: 'project',
        project: 'rec-dev',
        role: 'viewer',
      });
      await change.result();
      await save('change-role', change);
    });
  });
});

describe('replay of recorded histories', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

  it('has histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(4);
  });

  it.each(files)('%s replays without non-determinism', async (file) => {
    // Saved as protobufjs objects (JSON.stringify of fetchHistory()), so read back the same way.
    const history = proto.temporal.api.history.v1.History.fromObject(
      JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Record<string, unknown>,
    );
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, file),
    ).resolves.toBeUndefined();
  });
});
