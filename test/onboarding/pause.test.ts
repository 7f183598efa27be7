import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPem } from '../../src/codec/seal.js';
import { flipWriteSwitch, readWriteSwitch, SwitchRefusedError } from '../../src/temporal/write-switch.js';
import { stateQuery } from '../../src/workflows/definitions.js';
import { eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

/** `ks-onboard pause` / `resume`: one switch holds every KubeSphere write of the deployment, and loses nothing. */
let t: TemporalHarness;
let h: EmulatorHarness;
const BOSS = { username: 'pause-boss', password: 'Pause-B0ss-P@ss' };
const REGULAR = { username: 'pause-regular', password: 'Pause-Reg-P@ss1' };

beforeAll(async () => {
  [t, h] = await Promise.all([temporalHarness(), startEmulator()]);
  await Promise.all([h.person(BOSS, 'platform-admin'), h.person(REGULAR)]);
});
afterAll(async () => {
  await h?.close();
  await t?.close();
});

const currentDetails = async (handle: { query: (name: string) => Promise<unknown> }) =>
  ((await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string }).currentDetails ?? '';

/** Writes counted by the emulator (logins are not writes). */
const writes = () =>
  Object.entries(h.emulator.requests.byRoute)
    .filter(([route]) => !route.startsWith('GET ') && route !== 'POST /oauth/token')
    .reduce((n, [, count]) => n + count, 0);

describe('a global pause', () => {
  it('holds every write of a running onboarding, says so, and lets it finish after resume', async () => {
    const taskQueue = t.taskQueue();
    const prefix = t.prefixOf(taskQueue);
    const worker = await t.worker(taskQueue, h.emulator.url);
    const as = async (who: { username: string; password: string }) => ({
      token: await t.tokenOf(h.emulator.url, who),
      publicKey: readPem(t.keys.public),
    });
    await worker.runUntil(async () => {
      // Only a platform-admin flips it, as KubeSphere knows them: anyone else is refused, and nothing is paused.
      const refused = await flipWriteSwitch(t.client, { taskQueue, prefix }, 'pause', await as(REGULAR), 'try').catch(
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(SwitchRefusedError);
      expect((refused as Error).message).toMatch(/pause-regular is not a platform-admin/);
      expect((await readWriteSwitch(t.client, prefix)).paused).toBe(false);

      const paused = await flipWriteSwitch(
        t.client,
        { taskQueue, prefix },
        'pause',
        await as(BOSS),
        'KubeSphere upgrade',
      );
      expect(paused).toMatchObject({ paused: true, by: BOSS.username, reason: 'KubeSphere upgrade' });
      expect(await readWriteSwitch(t.client, prefix)).toMatchObject({ paused: true, by: BOSS.username });

      const before = writes();
      const { handle } = await t.propose(taskQueue, {
        username: 'held',
        email: 'held@example.com',
        workspace: 'pause-ws',
      });
      const details = await eventually(async () => {
        const text = await currentDetails(handle);
        if (!text.includes('HELD')) throw new Error(text);
        return text;
      }, 20_000);
      expect(details).toMatch(
        /^running step 1 of 5: ensure user held \(platform-regular\): HELD, KubeSphere writes are paused since \S+ by pause-boss: KubeSphere upgrade; it goes on by itself after ks-onboard resume$/,
      );
      expect((await handle.query(stateQuery)).lifecycle).toBe('running');
      expect(writes()).toBe(before);
      expect(h.emulator.snapshot().users.held).toBeUndefined();

      const resumed = await flipWriteSwitch(t.client, { taskQueue, prefix }, 'resume', await as(BOSS));
      expect(resumed).toMatchObject({ paused: false, by: BOSS.username });
      const state = await handle.result();
      expect(state.lifecycle).toBe('done');
      expect(state.steps.every((s) => s.outcome === 'created' || s.outcome === 'skipped')).toBe(true);
      expect(h.emulator.snapshot().users.held).toBeDefined();
    });
  });

  it('a pause needs a reason and a sealed proof: a raw update without them is refused by the switch', async () => {
    const taskQueue = t.taskQueue();
    const prefix = t.prefixOf(taskQueue);
    const worker = await t.worker(taskQueue, h.emulator.url);
    await worker.runUntil(async () => {
      const publicKey = readPem(t.keys.public);
      const token = await t.tokenOf(h.emulator.url, BOSS);
      const noReason = await flipWriteSwitch(t.client, { taskQueue, prefix }, 'pause', { token, publicKey }, ' ').catch(
        (e: unknown) => e,
      );
      expect((noReason as Error).message).toMatch(/a pause needs a reason/);
      // A proof bound to another reason than the one sent does not hold.
      const handle = t.client.workflow.getHandle(`${prefix}ks-onboard-write-switch`);
      const { pauseWritesUpdate } = await import('../../src/workflows/switch-definitions.js');
      const { requesterSource } = await import('../../src/temporal/start.js');
      const { proof } = requesterSource({ token, publicKey }, handle.workflowId, { action: 'pause', reason: 'a' });
      const forged = await handle
        .executeUpdate(pauseWritesUpdate, { args: [{ reason: 'b', proof }] })
        .catch((e: unknown) => e);
      expect((forged as Error & { cause?: Error }).cause?.message).toMatch(/proof|request/i);
      expect((await readWriteSwitch(t.client, prefix)).paused).toBe(false);
    });
  });
});
