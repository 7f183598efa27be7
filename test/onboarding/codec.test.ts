import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@temporalio/client';
import { generateKeyRingEntry, parseKeyRing } from '../../src/codec/payload-codec.js';
import { dataConverterFor } from '../../src/temporal/data-converter.js';
import { WORKFLOW_ID, type OnboardingState } from '../../src/workflows/definitions.js';
import { startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { failureOf, rawHistoryText, temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

let t: TemporalHarness;
let h: EmulatorHarness;
const run = process.env.KS_ONBOARD_CODEC_KEYS!;
const a = generateKeyRingEntry('key-a');
const b = generateKeyRingEntry('key-b');
beforeAll(async () => {
  // This file's requesters (the harness's client) write under the run's key and can read A and B.
  process.env.KS_ONBOARD_CODEC_KEYS = `${run},${a},${b}`;
  t = await temporalHarness();
  h = await startEmulator();
});
afterAll(async () => {
  await h.close();
  await t.close();
});

/** The key ids of every encrypted payload in a raw history. */
function keyIds(history: unknown): Set<string> {
  const ids = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const id = (node as { metadata?: Record<string, Uint8Array> }).metadata?.['encryption-key-id'];
      if (id instanceof Uint8Array) ids.add(Buffer.from(id).toString('utf8'));
      Object.values(node).forEach(walk);
    }
  };
  walk(history);
  return ids;
}

describe('payload encryption', () => {
  it('a run started under key A completes after key B becomes the encryption key', async () => {
    // The workers rotate from A to B.
    const underA = dataConverterFor(parseKeyRing(`${a},${run}`));
    const underB = dataConverterFor(parseKeyRing(`${b},${a},${run}`));
    const taskQueue = t.taskQueue();
    const clientA = new Client({ connection: t.client.connection, dataConverter: underA });
    const clientB = new Client({ connection: t.client.connection, dataConverter: underB });
    const username = 'rotated';
    const approver = await h.person({ username: 'rotation-approver', password: 'Appr0ver-P@88w0rd' }, 'platform-admin');
    const workflowId = WORKFLOW_ID.onboard(username, t.prefixOf(taskQueue));
    // Waits for an approval under A (workspace admin is elevated).
    const first = await t.worker(taskQueue, h.emulator.url, {}, undefined, { dataConverter: underA });
    await first.runUntil(async () => {
      const { handle } = await t.propose(taskQueue, {
        username,
        email: 'rotated@example.com',
        workspace: 'rotation',
        workspaceRole: 'admin',
      });
      expect(handle.workflowId).toBe(workflowId);
    });
    // The workers now encrypt with B; A still decrypts what was written before.
    const second = await t.worker(taskQueue, h.emulator.url, {}, undefined, { dataConverter: underB });
    const state = await second.runUntil(async () => {
      await t.decide(taskQueue, clientB.workflow.getHandle(workflowId), true, approver);
      return (await clientB.workflow.getHandle(workflowId).result()) as OnboardingState;
    });
    expect(state.lifecycle).toBe('done');
    const history = await clientB.workflow.getHandle(workflowId).fetchHistory();
    expect(keyIds(history)).toEqual(new Set(['test', 'key-a', 'key-b']));
    // A client with only key A cannot read what B wrote, and says which key it lacks.
    await expect(clientA.workflow.getHandle(workflowId).result()).rejects.toThrow(/key-b/);
  });

  it('encrypts failure messages too: a mismatch names both emails, only for who holds the key', async () => {
    const taskQueue = t.taskQueue();
    await h.admin.createUser({
      name: 'taken',
      email: 'first@example.com',
      password: 'Passw0rd-1',
      globalRole: 'platform-regular',
    });
    const worker = await t.worker(taskQueue, h.emulator.url);
    const failure = await worker.runUntil(async () => {
      const { handle } = await t.propose(taskQueue, { username: 'taken', email: 'second@example.com' });
      const failed = await failureOf(handle);
      const raw = rawHistoryText(await handle.fetchHistory());
      expect(raw).not.toContain('second@example.com');
      expect(raw).not.toContain('first@example.com');
      return failed;
    });
    expect(failure.message).toContain('first@example.com');
    expect(failure.message).toContain('second@example.com');
  });
});
