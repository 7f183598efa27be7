import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchPerson } from '../../src/policy/batch.js';
import type { BatchProgress } from '../../src/workflows/batch-definitions.js';
import { startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { peopleState } from '../helpers/kubesphere-state.js';
import { temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

let t: TemporalHarness;

beforeAll(async () => {
  t = await temporalHarness();
});
afterAll(async () => {
  await t.close();
});

/** n new people over `workspaces` workspaces and 3 projects each; every 7th person also in a second project. */
function generate(n: number, workspaces: number, prefix = 'u'): BatchPerson[] {
  return Array.from({ length: n }, (_, i) => {
    const ws = `team-${i % workspaces}`;
    const placements: BatchPerson['placements'] = [{ workspace: ws, project: `${ws}-p${i % 3}`, line: i + 2 }];
    if (i % 7 === 0) placements.push({ workspace: ws, project: `${ws}-p${(i + 1) % 3}`, line: i + 2 });
    return { username: `${prefix}${i}`, email: `${prefix}${i}@example.com`, placements, lines: [i + 2] };
  });
}

/** What KubeSphere must hold after those people are onboarded, in peopleState's form. */
function expectedState(people: BatchPerson[]): string[] {
  const lines = new Set<string>();
  for (const p of people) {
    lines.add(`user ${p.username} ${p.email} platform-regular`);
    for (const pl of p.placements) {
      lines.add(`workspace ${pl.workspace}`);
      lines.add(`member ${pl.workspace} ${p.username} ${pl.workspace}-${pl.workspaceRole ?? 'regular'}`);
      if (pl.project) {
        lines.add(`project host/${pl.project} in ${pl.workspace}`);
        lines.add(`member host/${pl.project} ${p.username} ${pl.projectRole ?? 'viewer'}`);
      }
    }
  }
  return [...lines].sort();
}

const request = (batchId: string, people: BatchPerson[], extra: object = {}) => ({
  batchId,
  contentDigest: `digest-of-${batchId}`,
  rows: people.reduce((n, p) => n + p.lines.length, 0),
  ...extra,
});

describe('importBatch', () => {
  let h: EmulatorHarness;
  beforeAll(async () => {
    h = await startEmulator();
  });
  afterAll(async () => h.close());

  it('onboards every row exactly, ensures shared workspaces and projects once, continues as new, ≤3.5 requests a row', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const people = generate(60, 3);
    const before = h.emulator.requests.total;
    const result = await worker.runUntil(async () => {
      const { handle, attached } = await t.startImport(
        taskQueue,
        request('sixty', people, { concurrency: 8, continueAsNewAfter: 150 }),
        people,
      );
      expect(attached).toBe(false);
      return (await handle.result()) as BatchProgress;
    });
    const requests = h.emulator.requests.total - before;
    expect(result).toMatchObject({ lifecycle: 'done', people: 60, started: 60, done: 60, failed: 0, running: 0 });
    expect(result.run).toBeGreaterThan(1); // continued as new at least once
    expect(peopleState(h)).toEqual(expectedState(people));
    // 3 workspaces and 9 projects once each; per person: user, workspace member, project member(s).
    expect(
      h.count('POST /kapis/tenant.kubesphere.io/v1beta1/workspacetemplates') +
        h.count('POST /kapis/tenant.kubesphere.io/v1beta1/workspaces'),
    ).toBe(3);
    expect(requests / people.length).toBeLessThanOrEqual(3.5);
  });
});
