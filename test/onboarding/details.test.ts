import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { decodedHistory, temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

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

const detailsOf = async (handle: { query: (name: string) => Promise<unknown> }) =>
  ((await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string }).currentDetails;

describe('what the Web UI shows of an onboarding', () => {
  it('current details say what it waits for, for whom and until when; the approval timer says so too', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const approver = await h.person({ username: 'details-approver', password: 'Deta1ls-P@88w0rd' }, 'platform-admin');
    await worker.runUntil(async () => {
      const { handle, answer } = await t.propose(taskQueue, {
        username: 'detailed',
        email: 'detailed@example.com',
        workspace: 'team-b',
        workspaceRole: 'admin',
      });
      expect(await detailsOf(handle)).toBe(
        `waiting for approval of workspace:admin on team-b until ${answer.deadline} (by a platform-admin, or that workspace's admin, other than ops-admin and detailed: ks-onboard approve ${handle.workflowId})`,
      );
      expect(await decodedHistory(await handle.fetchHistory())).toContain(
        `waiting for approval of workspace:admin on team-b until ${answer.deadline}`,
      );
      await t.decide(taskQueue, handle, true, approver);
      await handle.result();
      expect(await detailsOf(handle)).toBe('done: every step succeeded');
    });
  });
});
