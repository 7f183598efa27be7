import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPem } from '../../src/codec/seal.js';
import { flipWriteSwitch, readWriteSwitch, SwitchRefusedError } from '../../src/temporal/write-switch.js';
import { stateQuery } from '../../src/workflows/definitions.js';
import { requesterSource } from '../../src/temporal/start.js';
import { resumeWritesUpdate, switchRequest, writeSwitchQuery } from '../../src/workflows/switch-definitions.js';
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

  it('a pause needs a reason; a proof holds only for the version it was made for; a replayed resume is refused', async () => {
    const taskQueue = t.taskQueue();
    const prefix = t.prefixOf(taskQueue);
    const worker = await t.worker(taskQueue, h.emulator.url);
    await worker.runUntil(async () => {
      const boss = { token: await t.tokenOf(h.emulator.url, BOSS), publicKey: readPem(t.keys.public) };
      const noReason = await flipWriteSwitch(t.client, { taskQueue, prefix }, 'pause', boss, ' ').catch(
        (e: unknown) => e,
      );
      expect((noReason as Error).message).toMatch(/a pause needs a reason/);

      const handle = t.client.workflow.getHandle(`${prefix}ks-onboard-write-switch`);
      // Paused (version 1), resumed (version 2): the resume's proof, replayed after a new pause, does not hold.
      await flipWriteSwitch(t.client, { taskQueue, prefix }, 'pause', boss, 'first');
      const { proof } = requesterSource(boss, handle.workflowId, switchRequest('resume', 1));
      await handle.executeUpdate(resumeWritesUpdate, { args: [{ version: 1, proof }] });
      await flipWriteSwitch(t.client, { taskQueue, prefix }, 'pause', boss, 'second');
      const replayed = await handle
        .executeUpdate(resumeWritesUpdate, { args: [{ version: 1, proof }] })
        .catch((e: unknown) => e);
      expect((replayed as Error & { cause?: Error }).cause?.message).toMatch(/switch is at version 3, not 1/);
      // A proof made for one reason, sent with another, does not hold either.
      const other = requesterSource(boss, handle.workflowId, switchRequest('resume', 3, 'a')).proof;
      const forged = await handle
        .executeUpdate(resumeWritesUpdate, { args: [{ version: 3, reason: 'b', proof: other }] })
        .catch((e: unknown) => e);
      expect((forged as Error & { cause?: Error }).cause?.message).toMatch(/different request/);
      expect(await readWriteSwitch(t.client, prefix)).toMatchObject({ paused: true, version: 3, reason: 'second' });
    });
  });

  it('a switch terminated and started afresh stays paused; one held by another workflow holds every write', async () => {
    const taskQueue = t.taskQueue();
    const prefix = t.prefixOf(taskQueue);
    const worker = await t.worker(taskQueue, h.emulator.url);
    const switchId = `${prefix}ks-onboard-write-switch`;
    await worker.runUntil(async () => {
      const boss = { token: await t.tokenOf(h.emulator.url, BOSS), publicKey: readPem(t.keys.public) };
      await flipWriteSwitch(t.client, { taskQueue, prefix }, 'pause', boss, 'incident');

      // Terminated, then started again from outside (with a memo claiming it is open): it takes over the pause.
      await t.client.workflow.getHandle(switchId).terminate('attacker');
      const restarted = await t.client.workflow.start('writeSwitch', {
        taskQueue,
        workflowId: switchId,
        memo: { writeSwitch: { state: { paused: false, version: 9 }, mac: 'forged' } },
      });
      await eventually(async () => {
        const state = await restarted.query(writeSwitchQuery);
        if (!state.paused || state.reason !== 'incident') throw new Error(JSON.stringify(state));
      }, 20_000);
      const { handle: held } = await t.propose(taskQueue, { username: 'stillheld', email: 'stillheld@example.com' });
      await eventually(async () => {
        if (!(await currentDetails(held)).includes('HELD')) throw new Error('not held yet');
      }, 20_000);

      // The id taken by a workflow that is not our switch: every write is held, and resume says what to do.
      await restarted.terminate('attacker again');
      await t.client.workflow.start('onboardUser', {
        taskQueue: 'nobody-polls-this',
        workflowId: switchId,
        args: [{}],
      });
      const { handle: alsoHeld } = await t.propose(taskQueue, { username: 'alsoheld', email: 'alsoheld@example.com' });
      const details = await eventually(async () => {
        const text = await currentDetails(alsoHeld);
        if (!text.includes('HELD')) throw new Error(text);
        return text;
      }, 20_000);
      expect(details).toMatch(
        /cannot be trusted.*is held by a workflow of type onboardUser on task queue nobody-polls-this/,
      );
      const refused = await flipWriteSwitch(t.client, { taskQueue, prefix }, 'resume', boss).catch((e: unknown) => e);
      expect((refused as Error).message).toMatch(/not ks-onboard's switch .*terminate it/);

      await t.client.workflow.getHandle(switchId).terminate('cleared by the operator');
      const resumed = await flipWriteSwitch(t.client, { taskQueue, prefix }, 'resume', boss);
      expect(resumed).toMatchObject({ paused: false, by: BOSS.username });
      expect((await held.result()).lifecycle).toBe('done');
      expect((await alsoHeld.result()).lifecycle).toBe('done');
    });
  });
});
