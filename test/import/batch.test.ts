import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPem } from '../../src/codec/seal.js';
import type { BatchPerson } from '../../src/policy/batch.js';
import { dryRunImport } from '../../src/temporal/start-import.js';
import {
  cancelUpdate,
  notStartedQuery,
  progressQuery,
  resumeUpdate,
  type BatchProgress,
} from '../../src/workflows/batch-definitions.js';
import { rowUpdateSignal, type OnboardingState } from '../../src/workflows/definitions.js';
import { eventually, sleep, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { saveHistory } from '../helpers/histories.js';
import { expectedPeopleState, peopleState } from '../helpers/kubesphere-state.js';
import { decodedHistory, failureOf, temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

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
    expect(peopleState(h)).toEqual(expectedPeopleState(people));
    // 3 workspaces and 9 projects once each; per person: user, workspace member, project member(s).
    expect(
      h.count('POST /kapis/tenant.kubesphere.io/v1beta1/workspacetemplates') +
        h.count('POST /kapis/tenant.kubesphere.io/v1beta1/workspaces'),
    ).toBe(3);
    expect(requests / people.length).toBeLessThanOrEqual(3.5);
  });
});

describe('importBatch: approvals, error budget, people already in flight', () => {
  let h: EmulatorHarness;
  beforeAll(async () => {
    h = await startEmulator();
  });
  afterAll(async () => h.close());

  it('a row awaiting approval leaves the window; its workspace is made only after the approval, never after a rejection', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const approver = await h.person({ username: 'dana', password: 'Dana-P@88w0rd' }, 'platform-admin');
    const people: BatchPerson[] = [
      ...generate(4, 1, 'a'),
      {
        username: 'boss',
        email: 'boss@example.com',
        placements: [{ workspace: 'vault', workspaceRole: 'admin', line: 10 }],
        lines: [10],
      },
      {
        username: 'eve',
        email: 'eve@example.com',
        placements: [{ workspace: 'lair', workspaceRole: 'admin', line: 11 }],
        lines: [11],
      },
    ];
    await worker.runUntil(async () => {
      const { handle } = await t.startImport(taskQueue, request('approvals', people, { concurrency: 2 }), people);
      const waiting = await eventually(async () => {
        const p = await handle.query(progressQuery);
        if (p.awaitingApproval !== 2 || p.done !== 4) throw new Error(JSON.stringify(p));
        return p;
      }, 30_000);
      expect(waiting.lifecycle).toBe('running');
      expect(Object.keys(h.emulator.snapshot().workspaces)).not.toContain('vault');
      expect(Object.keys(h.emulator.snapshot().workspaces)).not.toContain('lair');
      const row = (username: string) => t.client.workflow.getHandle(`${t.prefixOf(taskQueue)}onboard-${username}`);
      await t.decide(taskQueue, row('boss'), true, approver);
      await t.decide(taskQueue, row('eve'), false, approver, 'not this one');
      const result = (await handle.result()) as BatchProgress;
      expect(result).toMatchObject({ lifecycle: 'done', done: 5, failed: 1, awaitingApproval: 0 });
      expect(result.firstFailures).toEqual([
        expect.objectContaining({ username: 'eve', type: 'ApprovalRejected', lines: [11] }),
      ]);
      // The replay corpus (test/onboarding/replay.test.ts) keeps a batch and one of its rows.
      if (process.env.RECORD_HISTORIES === '1') {
        await saveHistory('import-batch-approvals', handle);
        await saveHistory('import-batch-row-approved', row('boss'));
      }
    });
    const state = peopleState(h);
    expect(state).toContain('member vault boss vault-admin');
    expect(state.some((l) => l.includes('lair') || l.includes(' eve '))).toBe(false);
  });

  it('pauses on its error budget with the reasons, resumes, and cancels without starting the rest', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    // Emails already taken by other users: KubeSphere's user exists with another email → ResourceMismatch.
    const people = generate(8, 1, 'taken');
    for (const p of people.slice(0, 6))
      await h.admin.createUser({
        name: p.username,
        email: `other-${p.username}@example.com`,
        globalRole: 'platform-regular',
      });
    await worker.runUntil(async () => {
      const { handle } = await t.startImport(
        taskQueue,
        request('budget', people, { concurrency: 1, errorBudget: { share: 0.1, minRows: 3 } }),
        people,
      );
      const paused = await eventually(async () => {
        const p = await handle.query(progressQuery);
        if (p.lifecycle !== 'paused') throw new Error(JSON.stringify(p));
        return p;
      }, 30_000);
      expect(paused).toMatchObject({ failed: 3, started: 3, done: 0 });
      expect(paused.reason).toMatch(/error budget spent: 3 of 3 finished rows failed/);
      expect(paused.reason).toMatch(/taken0: .*email/);
      await handle.executeUpdate(resumeUpdate);
      const again = await eventually(async () => {
        const p = await handle.query(progressQuery);
        if (p.lifecycle !== 'paused' || p.failed < 6) throw new Error(JSON.stringify(p));
        return p;
      }, 30_000);
      expect(again.started).toBe(6);
      await handle.executeUpdate(cancelUpdate);
      const result = (await handle.result()) as BatchProgress;
      expect(result).toMatchObject({ lifecycle: 'cancelled', started: 6, failed: 8, notStarted: 2, done: 0 });
      expect(await handle.query(notStartedQuery)).toEqual([
        expect.objectContaining({ username: 'taken6', type: 'Cancelled' }),
        expect.objectContaining({ username: 'taken7', type: 'Cancelled' }),
      ]);
    });
    // Nothing of the cancelled rows was made; the taken users kept their own emails.
    expect(peopleState(h).filter((l) => l.includes('taken6') || l.includes('taken7'))).toEqual([]);
  });

  it('a person already in flight: the same request is awaited, a different one fails the row as a conflict', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const approver = await h.person({ username: 'finn', password: 'Finn-P@88w0rd' }, 'platform-admin');
    await worker.runUntil(async () => {
      // Both wait for an approval (workspace admin), started from the CLI's path, not by the batch.
      const same = await t.propose(taskQueue, {
        username: 'gil',
        email: 'gil@example.com',
        workspace: 'ops',
        workspaceRole: 'admin',
      });
      await t.propose(taskQueue, {
        username: 'hal',
        email: 'hal@example.com',
        workspace: 'ops',
        workspaceRole: 'admin',
      });
      const people: BatchPerson[] = [
        {
          username: 'gil',
          email: 'gil@example.com',
          placements: [{ workspace: 'ops', workspaceRole: 'admin', line: 2 }],
          lines: [2],
        },
        {
          username: 'hal',
          email: 'hal@example.com',
          placements: [{ workspace: 'ops', workspaceRole: 'viewer', line: 3 }],
          lines: [3],
        },
      ];
      const { handle } = await t.startImport(taskQueue, request('in-flight', people), people);
      const attached = await eventually(async () => {
        const p = await handle.query(progressQuery);
        if (p.awaitingApproval !== 1 || p.failed !== 1) throw new Error(JSON.stringify(p));
        return p;
      }, 30_000);
      expect(attached.firstFailures).toEqual([
        expect.objectContaining({
          username: 'hal',
          type: 'RequestConflict',
          message: expect.stringMatching(/workspaceRole "ops-admin" \(running\) vs "ops-viewer" \(this row\)/),
        }),
      ]);
      await t.decide(taskQueue, same.handle, true, approver);
      const result = (await handle.result()) as BatchProgress;
      expect(result).toMatchObject({ lifecycle: 'done', done: 1, failed: 1, notStarted: 1 });
    });
  });

  /** A batch row started by a raw client, claiming a batch that never started it; ended. */
  async function forgedRow(username: string, source: Record<string, unknown> = {}) {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const prefix = t.prefixOf(taskQueue);
    const handle = await worker.runUntil(async () => {
      const forged = await t.client.workflow.start('onboardUser', {
        taskQueue,
        workflowId: `${prefix}onboard-${username}`,
        args: [
          {
            username,
            email: `${username}@example.com`,
            globalRole: 'platform-admin',
            batchId: 'forged',
            source: {
              kind: 'batch',
              requester: { username: 'ops-admin', platformAdmin: true, workspaceAdminOf: [] },
              verifiedAt: new Date().toISOString(),
              ...source,
            },
          },
        ],
      });
      await forged.result().catch(() => undefined);
      return forged;
    });
    return { prefix, failure: await failureOf(handle) };
  }

  it('a row cannot be started as a batch row by anyone but its batch', async () => {
    const { failure } = await forgedRow('mallory');
    expect(failure.type).toBe('PolicyViolation');
    expect(failure.message).toMatch(/a batch row runs only as a child of its batch ".*import-forged", not on its own/);
    expect(h.emulator.snapshot().users.mallory).toBeUndefined();
  });

  it("a forged row of protocol 3 is refused by the worker's own policy, not the one in its input", async () => {
    const { prefix, failure } = await forgedRow('mallory3', {
      protocol: 3,
      // nothing elevated, no prefix: the forger's idea of the worker's policy
      policy: { elevatedRoles: [], approvalTimeoutMs: 1, protectedWorkspaces: [], workflowIdPrefix: 'evil-' },
    });
    expect(failure.type).toBe('PolicyViolation');
    // The expected parent is named with the worker's prefix: the row read the policy itself.
    expect(failure.message).toContain(`a batch row runs only as a child of its batch "${prefix}import-forged"`);
    expect(h.emulator.snapshot().users.mallory3).toBeUndefined();
  });
});

describe('importBatch: the same file again', () => {
  let h: EmulatorHarness;
  beforeAll(async () => {
    h = await startEmulator();
  });
  afterAll(async () => h.close());

  it('runs again after it finished: every row existed, nothing written to KubeSphere', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const people = generate(12, 2, 'again');
    await worker.runUntil(async () => {
      const first = await t.startImport(taskQueue, request('twice', people), people);
      await first.handle.result();
      const state = peopleState(h);
      const writesBefore = writes(h);
      const second = await t.startImport(taskQueue, request('twice', people), people);
      expect(second.attached).toBe(false);
      const result = (await second.handle.result()) as BatchProgress;
      expect(result).toMatchObject({ lifecycle: 'done', done: 12, failed: 0 });
      expect(peopleState(h)).toEqual(state);
      // The only writes are creates answered "already exists": 12 users, 2 workspaces and 6 projects.
      expect(writes(h) - writesBefore).toBe(12 + 2 + 6);
      const steps = await Promise.all(
        people.map(
          async (p) =>
            (await t.client.workflow
              .getHandle(`${t.prefixOf(taskQueue)}onboard-${p.username}`)
              .result()) as OnboardingState,
        ),
      );
      expect(new Set(steps.flatMap((s) => s.steps.map((step) => step.outcome)))).toEqual(new Set(['existed']));
    });
  });
});

/** Changes sent to KubeSphere (logins excluded). */
function writes(h: EmulatorHarness): number {
  const { POST = 0, PUT = 0 } = h.emulator.requests.byMethod;
  return POST + PUT - (h.emulator.requests.byRoute['POST /oauth/token'] ?? 0);
}

describe('importBatch: shared workspaces that fail, canary, dry run', () => {
  let h: EmulatorHarness;
  beforeAll(async () => {
    h = await startEmulator({ clusters: ['host', 'member1'] });
  });
  afterAll(async () => h.close());

  it('rows whose workspace cannot be ensured fail with that cause, are not started, and count once against the budget', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    // Exists, but on another cluster than the rows' projects: a mismatch, not something to change.
    await h.admin.createWorkspace({ name: 'elsewhere', clusters: ['member1'] });
    const blocked = (i: number): BatchPerson => ({
      username: `blk${i}`,
      email: `blk${i}@example.com`,
      placements: [{ workspace: 'elsewhere', project: 'far', line: 20 + i }],
      lines: [20 + i],
    });
    const people = [...generate(3, 1, 'ok'), blocked(1), blocked(2), blocked(3)];
    const result = await worker.runUntil(async () => {
      const { handle } = await t.startImport(
        taskQueue,
        request('blocked', people, { errorBudget: { share: 0.1, minRows: 2 } }),
        people,
      );
      const done = (await handle.result()) as BatchProgress;
      expect(await handle.query(notStartedQuery)).toEqual(
        [1, 2, 3].map((i) =>
          expect.objectContaining({
            username: `blk${i}`,
            lines: [20 + i],
            type: 'Unavailable',
            message: expect.stringMatching(/not started: workspace elsewhere: .*placement/),
          }),
        ),
      );
      return done;
    });
    // Three rows failed for one cause: counted once, so a budget of 2 was not spent and the batch did not pause.
    expect(result).toMatchObject({ lifecycle: 'done', done: 3, failed: 3, notStarted: 3, started: 3 });
    expect(peopleState(h).filter((l) => l.includes('blk'))).toEqual([]);
    expect(Object.keys(h.emulator.snapshot().namespaces.host ?? {})).not.toContain('far');
  });

  it('--canary runs the first rows alone and waits for resume', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const people = generate(5, 1, 'canary');
    await worker.runUntil(async () => {
      const { handle } = await t.startImport(taskQueue, request('canary', people, { canary: 2 }), people);
      const paused = await eventually(async () => {
        const p = await handle.query(progressQuery);
        if (p.lifecycle !== 'paused' || p.done !== 2) throw new Error(JSON.stringify(p));
        return p;
      }, 30_000);
      expect(paused).toMatchObject({ started: 2, reason: expect.stringMatching(/^canary: the first 2 rows/) });
      expect(peopleState(h).filter((l) => l.startsWith('user canary'))).toHaveLength(2);
      await handle.executeUpdate(resumeUpdate);
      expect(await handle.result()).toMatchObject({ lifecycle: 'done', done: 5, failed: 0 });
    });
  });

  it('a dry run reads only, and only where the requester’s own roles reach', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    // A workspace admin of `dry-a` (not a platform-admin) asks about rows in dry-a and in dry-b.
    const lead = await h.person({ username: 'lead', password: 'Lead-P@88w0rd' });
    await h.admin.createWorkspace({ name: 'dry-a', clusters: ['host'] });
    await h.admin.createWorkspace({ name: 'dry-b', clusters: ['host'] });
    await eventually(() => h.admin.addWorkspaceMembers('dry-a', [{ username: 'lead', roleRef: 'dry-a-admin' }]));
    await h.admin.createUser({ name: 'known', email: 'other@example.com', globalRole: 'platform-regular' });
    const people: BatchPerson[] = [
      {
        username: 'known',
        email: 'known@example.com',
        placements: [{ workspace: 'dry-a', project: 'new-proj' }],
        lines: [2],
      },
      { username: 'fresh', email: 'fresh@example.com', placements: [{ workspace: 'dry-a' }], lines: [3] },
      { username: 'outside', email: 'outside@example.com', placements: [{ workspace: 'dry-b' }], lines: [4] },
    ];
    const { POST: postsBefore = 0, PUT: putsBefore = 0 } = { ...h.emulator.requests.byMethod };
    const loginsBefore = h.count('POST /oauth/token');
    const result = await worker.runUntil(async () =>
      dryRunImport(
        t.client,
        taskQueue,
        'dry',
        people,
        { token: await t.tokenOf(h.emulator.url, lead), publicKey: readPem(t.keys.public) },
        t.prefixOf(taskQueue),
      ),
    );
    expect(result.requestedBy).toBe('lead');
    const [known, fresh, outside] = result.rows;
    // Users are read only for a platform-admin: a workspace's admin would learn who exists, and their emails.
    expect(known?.inspection).toMatchObject({
      user: 'not read',
      workspaces: [{ name: 'dry-a', would: 'exists' }],
      projects: [{ target: 'host/new-proj', would: 'create' }],
    });
    expect(fresh?.inspection).toMatchObject({ user: 'not read', memberships: [{ target: 'dry-a', would: 'add' }] });
    expect(outside?.inspection).toBeUndefined();
    expect(outside?.notRead).toMatch(/beyond your KubeSphere roles: workspace:regular on dry-b/);
    // A workspace's admin makes no platform grant: every row of theirs waits for an approval (Trust the core).
    expect(outside?.approvals).toEqual([
      'platform:platform-regular on platform (beyond the requester)',
      'workspace:regular on dry-b (beyond the requester)',
    ]);
    // Zero writes: the only POSTs were logins.
    const { POST = 0, PUT = 0 } = h.emulator.requests.byMethod;
    expect(POST - postsBefore - (h.count('POST /oauth/token') - loginsBefore)).toBe(0);
    expect(PUT - putsBefore).toBe(0);
  });
});

describe('importBatch: what Temporal access alone cannot do', () => {
  let h: EmulatorHarness;
  beforeAll(async () => {
    h = await startEmulator();
  });
  afterAll(async () => h.close());

  it('a batch with a retry policy or cron schedule (whose runs Temporal marks as continued) is refused, forged state and all', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const prefix = t.prefixOf(taskQueue);
    const people = generate(1, 1, 'cron');
    const forged = {
      progress: { batchId: 'cron', lifecycle: 'running', run: 1 },
      people,
      nextPart: 0,
      inFlight: {},
      notStarted: [],
      ensured: {},
      unavailable: {},
      requester: { username: 'ops-admin', platformAdmin: true, workspaceAdminOf: [] },
      verifiedAt: new Date().toISOString(),
      canaryPassed: true,
      budgetBase: { failed: 0, finished: 0 },
      blockedCounted: [],
      mac: 'x:forged',
    };
    const handle = await t.client.workflow.start('importBatch', {
      taskQueue,
      workflowId: `${prefix}import-cron`,
      // A retry (like a cron run) would be marked as continued and get this input again: refused from the first.
      retry: { maximumAttempts: 2, initialInterval: '1s' },
      args: [
        {
          batchId: 'cron',
          contentDigest: 'd',
          rows: 1,
          people: [],
          parts: [],
          source: { kind: 'requester', proof: 'ks-sealed:v2:x' },
        },
        forged,
      ],
    });
    try {
      const history = await worker.runUntil(async () =>
        eventually(async () => {
          const events = (await handle.fetchHistory()).events ?? [];
          if (!events.some((e) => e.workflowExecutionFailedEventAttributes)) throw new Error('not failed yet');
          return events;
        }, 20_000),
      );
      const failed = history.find((e) => e.workflowExecutionFailedEventAttributes)!;
      // The failure's message is encrypted in history like any payload: read with the key.
      expect(await decodedHistory(failed)).toMatch(/a batch runs once: not on a cron schedule/);
      expect(history.some((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)).toBe(false);
    } finally {
      await handle.terminate('test: a retried batch').catch(() => undefined);
    }
    expect(h.emulator.snapshot().users.cron0).toBeUndefined();
  });

  it('a forged "done" notice does not count; a part cannot squat a person’s id; a project in two workspaces is refused', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const prefix = t.prefixOf(taskQueue);
    const approver = await h.person({ username: 'jo', password: 'Jo-P@88w0rd12' }, 'platform-admin');
    await h.admin.createWorkspace({ name: 'w2', clusters: ['host'] });
    await h.admin.createProject({ workspace: 'w2', name: 'p-secret' });
    await worker.runUntil(async () => {
      // Someone holds onboard-victim with a part workflow: refused at once, the id is free again.
      const squat = await t.client.workflow.start('importPart', {
        taskQueue,
        workflowId: `${prefix}onboard-victim`,
        args: [{ batchId: 'squat', part: 2, people: generate(1, 1, 'x') }],
      });
      expect((await failureOf(squat)).message).toMatch(/an import part runs only as .*import-squat-part-NNNN/);
      const people: BatchPerson[] = [
        {
          username: 'victim',
          email: 'victim@example.com',
          placements: [{ workspace: 'w2', project: 'p-secret', line: 2 }],
          lines: [2],
        },
        {
          username: 'boss2',
          email: 'boss2@example.com',
          placements: [{ workspace: 'w1', workspaceRole: 'admin', project: 'p-secret', projectRole: 'admin', line: 3 }],
          lines: [3],
        },
        {
          username: 'wait',
          email: 'wait@example.com',
          placements: [{ workspace: 'w2', workspaceRole: 'admin', line: 4 }],
          lines: [4],
        },
      ];
      const { handle } = await t.startImport(taskQueue, request('forged', people), people);
      const waiting = await eventually(async () => {
        const p = await handle.query(progressQuery);
        if (p.awaitingApproval !== 1 || p.done + p.failed !== 2) throw new Error(JSON.stringify(p));
        return p;
      }, 30_000);
      expect(waiting).toMatchObject({ done: 1, failed: 1 });
      expect(waiting.firstFailures).toEqual([
        expect.objectContaining({
          username: 'boss2',
          type: 'PolicyViolation',
          message: expect.stringMatching(/project host\/p-secret is placed in workspace w2 by another row, not w1/),
        }),
      ]);
      const row = t.client.workflow.getHandle(`${prefix}onboard-wait`);
      const { runId } = await row.describe();
      await handle.signal(rowUpdateSignal, {
        workflowId: row.workflowId,
        runId: runId!,
        username: 'wait',
        lifecycle: 'done',
      });
      await sleep(1500);
      expect(await handle.query(progressQuery)).toMatchObject({ done: 1, awaitingApproval: 1 });
      await t.decide(taskQueue, row, true, approver);
      expect(await handle.result()).toMatchObject({ lifecycle: 'done', done: 2, failed: 1 });
    });
    expect(peopleState(h).filter((l) => l.includes('boss2'))).toEqual([]);
  });

  it('a person in flight for another requester is not merged into the batch', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const other = await h.person({ username: 'kim', password: 'Kim-P@88w0rd12' }, 'platform-admin');
    await worker.runUntil(async () => {
      const request1 = { username: 'ivy', email: 'ivy@example.com', workspace: 'iv', workspaceRole: 'admin' };
      const theirs = await t.propose(taskQueue, request1, other);
      const people: BatchPerson[] = [
        {
          username: 'ivy',
          email: 'ivy@example.com',
          placements: [{ workspace: 'iv', workspaceRole: 'admin', line: 2 }],
          lines: [2],
        },
      ];
      const { handle } = await t.startImport(taskQueue, request('not-merged', people), people);
      const result = (await handle.result()) as BatchProgress;
      expect(result).toMatchObject({ failed: 1, notStarted: 1 });
      expect(result.firstFailures[0]!.message).toMatch(
        /already requested by kim; a row requested by ops-admin is not merged/,
      );
      await theirs.handle.terminate('test done');
    });
  });
});
