import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { temporal } from '@temporalio/proto';
import type { BatchPerson } from '../../src/policy/batch.js';
import type { BatchProgress } from '../../src/workflows/batch-definitions.js';
import { SA, WORKFLOW_ID } from '../../src/workflows/definitions.js';
import { startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { saveHistory } from '../helpers/histories.js';
import { expectedPeopleState, peopleState } from '../helpers/kubesphere-state.js';
import { failureOf, temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

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

type Event = temporal.api.history.v1.IHistoryEvent;
const kinds = (events: Event[]) => {
  const out: Record<string, number> = {};
  for (const e of events) {
    const kind = Object.keys(e).find((k) => k.endsWith('EventAttributes') && e[k as keyof Event])!;
    out[kind.replace('EventAttributes', '')] = (out[kind.replace('EventAttributes', '')] ?? 0) + 1;
  }
  return out;
};

describe('what a batch row costs in history', () => {
  it(
    'steps as local activities, the policy and search attributes from its batch, its end read from its close: 9 events a row, 3 in its batch',
    { timeout: 120_000 },
    async () => {
      const taskQueue = t.taskQueue();
      const worker = await t.worker(taskQueue, h.emulator.url);
      const people: BatchPerson[] = Array.from({ length: 30 }, (_, i) => ({
        username: `rc-${i}`,
        email: `rc-${i}@example.com`,
        placements: [{ workspace: `rc-ws${i % 3}`, project: `rc-ws${i % 3}-p`, line: i + 2 }],
        lines: [i + 2],
      }));
      const { handle, result } = await worker.runUntil(async () => {
        const { handle } = await t.startImport(
          taskQueue,
          { batchId: 'row-cost', contentDigest: 'digest-row-cost', rows: people.length, concurrency: 10 },
          people,
        );
        return { handle, result: (await handle.result()) as BatchProgress };
      });
      expect(result).toMatchObject({ lifecycle: 'done', done: 30, failed: 0 });
      expect(peopleState(h)).toEqual(expectedPeopleState(people));

      const prefix = t.prefixOf(taskQueue);
      let events = 0;
      for (const person of people) {
        const row = t.client.workflow.getHandle(WORKFLOW_ID.onboard(person.username, prefix));
        const history = (await row.fetchHistory()).events ?? [];
        events += history.length;
        const k = kinds(history);
        // No normal activity (3 events each and a workflow task), no notice to the batch, no patch marker.
        expect(k.activityTaskScheduled, person.username).toBeUndefined();
        expect(k.signalExternalWorkflowExecutionInitiated, person.username).toBeUndefined();
        // Only its end changes a search attribute: the batch started it with the rest.
        expect(k.upsertWorkflowSearchAttributes, person.username).toBe(1);
        // The user and two memberships; the worker's policy comes from the batch that read it (protocol 3).
        expect(k.markerRecorded, person.username).toBe(3);
        const described = await row.describe();
        expect(described.typedSearchAttributes.get(SA.state)).toBe('done');
        expect(described.typedSearchAttributes.get(SA.username)).toBe(person.username);
        expect(described.typedSearchAttributes.get(SA.batchId)).toBe('row-cost');
        expect(described.typedSearchAttributes.get(SA.source)).toBe('batch');
        expect(described.typedSearchAttributes.get(SA.workspace)).toEqual([person.placements[0]!.workspace]);
      }
      // Nine events a row of its own: started, one workflow task (3), three markers, one upsert, completed.
      expect(events / people.length).toBe(9);
      const batch = (await handle.fetchHistory()).events ?? [];
      const k = kinds(batch);
      expect(k.workflowExecutionSignaled).toBeUndefined(); // no row told of its end by signal
      // In the batch, a row is its start, its child's start and its close; the rest is the batch's own (its requester
      // and policy, two version markers, 3 workspaces and 3 projects, its search attributes, the sweep's timer), and
      // workflow tasks, which take up several rows each (counted by npm run bench).
      const tasks = (k.workflowTaskScheduled ?? 0) + (k.workflowTaskStarted ?? 0) + (k.workflowTaskCompleted ?? 0);
      expect(k.startChildWorkflowExecutionInitiated).toBe(30);
      expect(k.childWorkflowExecutionStarted).toBe(30);
      expect(k.childWorkflowExecutionCompleted).toBe(30);
      expect(batch.length - tasks - 3 * people.length, JSON.stringify(k)).toBeLessThanOrEqual(32);
      // The replay corpus (test/onboarding/replay.test.ts) keeps a batch of protocol 3 and one of its rows.
      if (process.env.RECORD_HISTORIES === '1') {
        await saveHistory('import-batch-protocol-3', handle);
        await saveHistory(
          'import-batch-row-protocol-3',
          t.client.workflow.getHandle(WORKFLOW_ID.onboard('rc-0', prefix)),
        );
      }
    },
  );

  it('search attributes set by whoever started a request are put right at its first change, foreign ones removed', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const workflowId = WORKFLOW_ID.onboard('rc-forged', t.prefixOf(taskQueue));
    // A raw start: a CLI request with no valid proof, filed under an HR event and another workspace.
    const handle = await t.client.workflow.start('onboardUser', {
      taskQueue,
      workflowId,
      args: [
        {
          username: 'rc-forged',
          email: 'rc-forged@example.com',
          workspace: 'rc-real',
          source: { kind: 'requester', proof: 'not-a-proof' },
        },
      ],
      typedSearchAttributes: [
        { key: SA.eventId, value: 'bamboohr:42' },
        { key: SA.workspace, value: ['rc-elsewhere'] },
        { key: SA.state, value: 'done' },
      ],
    });
    await worker.runUntil(failureOf(handle));
    const attributes = (await handle.describe()).typedSearchAttributes;
    expect(attributes.get(SA.eventId)).toBeUndefined();
    expect(attributes.get(SA.workspace)).toEqual(['rc-real']);
    expect(attributes.get(SA.state)).toBe('failed');
  });
});

describe('an HR event key on a request', () => {
  it('stays only once a worker verified the delivery: a forged one, set at the start and in the input, is removed', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const handle = await t.client.workflow.start('onboardUser', {
      taskQueue,
      workflowId: WORKFLOW_ID.onboard('rc-hire', t.prefixOf(taskQueue)),
      args: [
        {
          username: 'rc-hire',
          email: 'rc-hire@example.com',
          workspace: 'rc-real',
          source: { kind: 'hr', vendor: 'generic', eventId: 'generic:victim-event', delivery: { forged: true } },
        },
      ],
      typedSearchAttributes: [{ key: SA.eventId, value: 'generic:victim-event' }],
    });
    await worker.runUntil(failureOf(handle));
    const attributes = (await handle.describe()).typedSearchAttributes;
    expect(attributes.get(SA.eventId)).toBeUndefined(); // the intake would have taken the real delivery for a duplicate
    expect(attributes.get(SA.source)).toBe('hr:generic');
    expect(attributes.get(SA.state)).toBe('failed');
  });
});
