import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/events.js';
import { codecKeyRing } from '../../src/config.js';
import { dataConverterFor } from '../../src/temporal/data-converter.js';
import { openAuditSink, type AuditSink } from '../../src/audit/sink.js';
import { createWorkerMetrics, type WorkerMetrics } from '../../src/metrics/worker-metrics.js';
import type { BatchPerson } from '../../src/policy/batch.js';
import { progressQuery, type BatchProgress } from '../../src/workflows/batch-definitions.js';
import { WORKFLOW_ID } from '../../src/workflows/definitions.js';
import { eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { failureOf, temporalHarness, type TemporalHarness } from '../helpers/temporal.js';
import { localActivityTypes, observedWorkers } from './helpers.js';

/**
 * The audit trail end to end: a worker with a file sink and metrics runs onboardings (plain, approved, rejected,
 * refused twice), a role change; the trail holds one line per lifecycle transition, stable ids, no email and no
 * secret; the metrics count them; each event is one marker in history; and those histories replay.
 */
let t: TemporalHarness;
let h: EmulatorHarness;
let workers: Awaited<ReturnType<typeof observedWorkers>>;
let sink: AuditSink;
let metrics: WorkerMetrics;
let auditFile: string;
const BOSS = { username: 'audit-boss', password: 'B0ss-P@ssw0rd' };

beforeAll(async () => {
  t = await temporalHarness();
  h = await startEmulator();
  await h.person(BOSS, 'platform-admin');
  workers = await observedWorkers(t);
  auditFile = join(mkdtempSync(join(tmpdir(), 'ks-audit-')), 'audit.jsonl');
  sink = (await openAuditSink({ kind: 'file', path: auditFile }))!;
  metrics = createWorkerMetrics({ processMetrics: false });
});
afterAll(async () => {
  await sink.close();
  await workers.close();
  await h.close();
  await t.close();
});

const trail = () =>
  readFileSync(auditFile, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as AuditEvent);
const of = (workflowId: string) => trail().filter((e) => e.workflow.id === workflowId);

describe('the audit trail', () => {
  const histories: Array<{ workflowId: string; history: unknown }> = [];

  it('records each request, approval, refusal and the grants made, once, with who, what, source and decision', async () => {
    const taskQueue = t.taskQueue();
    const worker = await workers.worker(taskQueue, h.emulator.url, { audit: sink, metrics });
    const plainTaskQueue = t.taskQueue();
    const plainWorker = await workers.worker(plainTaskQueue, h.emulator.url, {});
    const ids = await plainWorker.runUntil(() =>
      worker.runUntil(async () => {
        const plain = await t.propose(taskQueue, {
          username: 'au-alice',
          email: 'au-alice@example.com',
          sealedPassword: t.sealPassword('Passw0rd1'),
          workspace: 'au-team',
          project: 'au-team-dev',
        });
        await plain.handle.result();
        // the same kind of request on a worker without audit trail or metrics: no marker of it at all
        const unaudited = await t.propose(plainTaskQueue, {
          username: 'au-erin',
          email: 'au-erin@example.com',
          sealedPassword: t.sealPassword('Passw0rd1'),
          workspace: 'au-team-b',
          project: 'au-team-b-dev',
        });
        await unaudited.handle.result();

        const elevated = (username: string) => ({
          username,
          email: `${username}@example.com`,
          workspace: 'au-team',
          workspaceRole: 'admin',
        });
        const approved = await t.propose(taskQueue, elevated('au-bob'));
        await t.decide(taskQueue, approved.handle, true, BOSS, 'team lead, see alice@example.com');
        await approved.handle.result();
        const rejected = await t.propose(taskQueue, elevated('au-carl'));
        await t.decide(taskQueue, rejected.handle, false, BOSS, 'no');
        expect((await failureOf(rejected.handle)).type).toBe('ApprovalRejected');

        const protectedOne = await t.propose(taskQueue, {
          username: 'au-dan',
          email: 'au-dan@example.com',
          workspace: 'system-workspace',
        });
        expect((await failureOf(protectedOne.handle)).type).toBe('PolicyViolation');
        const invalid = await t.startRaw(taskQueue, 'onboardUser', { username: 'Not A Name', email: 'x@y.io' });
        await failureOf(invalid);

        const change = await t.proposeRoleChange(taskQueue, {
          username: 'au-alice',
          scope: 'workspace',
          workspace: 'au-team',
          role: 'viewer',
        });
        await change.handle.result();
        for (const handle of [plain.handle, unaudited.handle, approved.handle, rejected.handle, change.handle, invalid])
          histories.push({ workflowId: handle.workflowId, history: await handle.fetchHistory() });
        return {
          plain: plain.handle.workflowId,
          unaudited: unaudited.handle.workflowId,
          approved: approved.handle.workflowId,
          rejected: rejected.handle.workflowId,
          protectedOne: protectedOne.handle.workflowId,
          invalid: invalid.workflowId,
          change: change.handle.workflowId,
        };
      }),
    );

    const events = trail();
    // every line is v1, ids are unique (a consumer dedupes a retried write by id), and nothing personal or secret
    expect(events.every((e) => e.schema === 'ks-onboard.audit/v1')).toBe(true);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const text = readFileSync(auditFile, 'utf8');
    expect(text).not.toMatch(/@|ks-sealed|Passw0rd|B0ss/);

    expect(of(ids.plain).map((e) => [e.id.split('/').pop(), e.type, e.who, e.source])).toEqual([
      ['1', 'request.accepted', 'ops-admin', 'cli'],
      ['2', 'request.completed', 'ops-admin', 'cli'],
    ]);
    const done = of(ids.plain)[1]!;
    expect(done).toMatchObject({
      request: 'onboarding',
      subject: 'au-alice',
      requestedBy: 'ops-admin',
      decision: 'completed',
      workflow: { type: 'onboardUser', taskQueue },
      grants: [
        { scope: 'platform', target: 'platform', role: 'platform-regular', outcome: 'created' },
        {
          scope: 'workspace',
          target: 'au-team',
          role: 'regular',
          outcome: 'created',
          kubesphereRole: 'au-team-regular',
        },
        { scope: 'project', target: 'host/au-team-dev', role: 'viewer', outcome: 'created' },
      ],
      resources: [
        { kind: 'user', name: 'au-alice', outcome: 'created' },
        { kind: 'workspace', name: 'au-team', outcome: 'created' },
        { kind: 'project', name: 'host/au-team-dev', outcome: 'created' },
      ],
    });
    expect(of(ids.unaudited)).toEqual([]);

    expect(of(ids.approved).map((e) => [e.type, e.who])).toEqual([
      ['request.accepted', 'ops-admin'],
      ['approval.approved', BOSS.username],
      ['request.completed', 'ops-admin'],
    ]);
    expect(of(ids.approved)[0]!.grants).toContainEqual({
      scope: 'workspace',
      target: 'au-team',
      role: 'admin',
      approval: 'elevated role',
    });
    expect(of(ids.approved)[1]!.approval).toMatchObject({
      decidedBy: BOSS.username,
      reason: 'team lead, see <email>',
      waitedSeconds: expect.any(Number),
    });
    expect(of(ids.approved)[2]!.grants).toContainEqual(
      expect.objectContaining({ scope: 'workspace', role: 'admin', outcome: 'created' }),
    );

    expect(of(ids.rejected).map((e) => [e.type, e.who, e.error?.type])).toEqual([
      ['request.accepted', 'ops-admin', undefined],
      ['approval.rejected', BOSS.username, undefined],
      ['request.failed', 'ops-admin', 'ApprovalRejected'],
    ]);
    expect(of(ids.rejected)[2]!.grants?.map((g) => g.outcome)).toEqual(['skipped', 'skipped']);

    // refused before anyone was verified: nobody to name
    expect(of(ids.protectedOne).map((e) => [e.type, e.who, e.error?.type])).toEqual([
      ['request.refused', null, 'PolicyViolation'],
    ]);
    expect(of(ids.invalid).map((e) => [e.type, e.who, e.subject])).toEqual([['request.refused', null, 'Not A Name']]);

    expect(of(ids.change).map((e) => e.type)).toEqual(['request.accepted', 'request.completed']);
    expect(of(ids.change)[1]).toMatchObject({
      request: 'role-change',
      subject: 'au-alice',
      grants: [
        {
          scope: 'workspace',
          target: 'au-team',
          role: 'viewer',
          outcome: 'updated',
          kubesphereRole: 'au-team-viewer',
          previousRole: 'au-team-regular',
        },
      ],
    });
    expect(ids.change).toBe(WORKFLOW_ID.changeRole('au-alice', 'workspace', 'au-team', t.prefixOf(taskQueue)));
  });

  it('records a request cancelled while it waits: accepted, then cancelled, nobody named for the cancel', async () => {
    const taskQueue = t.taskQueue();
    const worker = await workers.worker(taskQueue, h.emulator.url, { audit: sink, metrics });
    const workflowId = await worker.runUntil(async () => {
      const { handle, answer } = await t.propose(taskQueue, {
        username: 'au-eve',
        email: 'au-eve@example.com',
        workspace: 'au-team',
        workspaceRole: 'admin',
      });
      expect(answer.lifecycle).toBe('awaiting-approval');
      await handle.cancel();
      await handle.result().catch(() => undefined);
      return handle.workflowId;
    });
    expect(of(workflowId).map((e) => [e.type, e.who])).toEqual([
      ['request.accepted', 'ops-admin'],
      ['request.cancelled', null],
    ]);
    expect(of(workflowId)[1]!.grants?.map((g) => g.outcome)).toEqual(['skipped', 'skipped']);
  });

  it('adds one local activity marker per event to history, none without an audit trail', () => {
    const markers = (workflowId: string) => {
      const found = histories.find((x) => x.workflowId === workflowId)!;
      const events = (found.history as { events: Parameters<typeof localActivityTypes>[0] }).events;
      return { total: events.length, audit: localActivityTypes(events).filter((type) => type === 'audit').length };
    };
    const [plain, unaudited, approved, rejected, change, invalid] = histories.map((x) => markers(x.workflowId));
    expect([plain!.audit, unaudited!.audit, approved!.audit, rejected!.audit, change!.audit, invalid!.audit]).toEqual([
      2, 0, 3, 3, 2, 1,
    ]);
    // for the report: events per history, with and without the trail
    console.log('history events', { plain, unaudited, approved, rejected, change, invalid });
  });

  it('the audited histories replay without non-determinism (a replay runs no local activity: nothing is written)', async () => {
    const before = trail().length;
    for (const { workflowId, history } of histories)
      await expect(
        Worker.runReplayHistory(
          {
            workflowBundle: { codePath: inject('workflowBundlePath') },
            dataConverter: dataConverterFor(codecKeyRing()),
          },
          history as never,
          workflowId,
        ),
      ).resolves.toBeUndefined();
    expect(trail()).toHaveLength(before);
  });

  it('counts requests, steps, approvals and KubeSphere calls, with bounded labels', async () => {
    const text = await metrics.registry.metrics();
    const has = (line: string) => expect(text).toContain(line);
    has('ks_onboard_requests_total{workflow="onboardUser",source="cli",outcome="completed"} 2');
    has('ks_onboard_requests_total{workflow="onboardUser",source="cli",outcome="failed"} 1');
    // refused before a worker verified who asked (a protected workspace, an invalid input): no source is taken
    // from the input, so a forged start cannot file itself under a vendor or a batch
    has('ks_onboard_requests_total{workflow="onboardUser",source="other",outcome="refused"} 2');
    has('ks_onboard_requests_total{workflow="changeRole",source="cli",outcome="completed"} 1');
    has('ks_onboard_requests_total{workflow="onboardUser",source="cli",outcome="cancelled"} 1');
    has('ks_onboard_request_failures_total{workflow="onboardUser",error_type="ApprovalRejected"} 1');
    has('ks_onboard_approvals_total{decision="approved"} 1');
    has('ks_onboard_approvals_total{decision="rejected"} 1');
    has('ks_onboard_approval_wait_seconds_count{decision="approved"} 1');
    has('ks_onboard_steps_total{step="workspace-member",outcome="created"} 2');
    has('ks_onboard_steps_total{step="role",outcome="updated"} 1');
    expect(text).toMatch(
      /ks_onboard_kubesphere_requests_total\{method="POST",route="\/kapis\/iam\.kubesphere\.io\/v1beta1\/users",status="\d+"\} \d+/,
    );
    expect(text).toMatch(
      /ks_onboard_kubesphere_request_duration_seconds_count\{method="GET",route="[^"]*\{name\}[^"]*"\}/,
    );
    expect(text).not.toMatch(/au-alice|au-team|au-bob|onboard-/);
  });
  it('a batch row that waits for nothing writes one event, at its end, with its grants; one that waits, three', async () => {
    const taskQueue = t.taskQueue();
    const worker = await workers.worker(taskQueue, h.emulator.url, { audit: sink });
    const people: BatchPerson[] = [
      {
        username: 'au-row',
        email: 'au-row@example.com',
        placements: [{ workspace: 'au-rows', project: 'au-rows-p', line: 2 }],
        lines: [2],
      },
      {
        username: 'au-row-admin',
        email: 'au-row-admin@example.com',
        placements: [{ workspace: 'au-rows-vault', workspaceRole: 'admin', line: 3 }],
        lines: [3],
      },
    ];
    const prefix = t.prefixOf(taskQueue);
    const row = (username: string) => t.client.workflow.getHandle(WORKFLOW_ID.onboard(username, prefix));
    const result = await worker.runUntil(async () => {
      const { handle } = await t.startImport(
        taskQueue,
        { batchId: 'au-rows', contentDigest: 'digest-au-rows', rows: people.length },
        people,
      );
      await eventually(async () => {
        const p = await handle.query(progressQuery);
        if (p.awaitingApproval !== 1 || p.done !== 1) throw new Error(JSON.stringify(p));
      }, 30_000);
      await t.decide(taskQueue, row('au-row-admin'), true, BOSS);
      return (await handle.result()) as BatchProgress;
    });
    expect(result).toMatchObject({ lifecycle: 'done', done: 2, failed: 0 });

    const plain = of(WORKFLOW_ID.onboard('au-row', prefix));
    expect(plain.map((e) => [e.type, e.who, e.source, e.batchId])).toEqual([
      ['request.completed', 'ops-admin', 'batch', 'au-rows'],
    ]);
    expect(plain[0]!.grants?.map((g) => [g.scope, g.role, g.outcome])).toEqual([
      ['platform', 'platform-regular', 'created'],
      ['workspace', 'regular', 'created'],
      ['project', 'viewer', 'created'],
    ]);
    expect(of(WORKFLOW_ID.onboard('au-row-admin', prefix)).map((e) => [e.type, e.who])).toEqual([
      ['request.accepted', 'ops-admin'],
      ['approval.approved', BOSS.username],
      ['request.completed', 'ops-admin'],
    ]);
    // Its history: started, one workflow task, the user and two memberships, the trail's one marker, the search
    // attributes of its end, completed (the worker's policy came with it from the batch).
    const history = (await row('au-row').fetchHistory()).events ?? [];
    expect(localActivityTypes(history as never)).toEqual([
      'ensureUser',
      'ensureWorkspaceMember',
      'ensureProjectMember',
      'audit',
    ]);
    expect(history).toHaveLength(10);
  });
  it('a batch row that waits for a retry writes its kept-back acceptance before the wait', async () => {
    const taskQueue = t.taskQueue();
    const worker = await workers.worker(taskQueue, h.emulator.url, { audit: sink });
    const people: BatchPerson[] = [
      {
        username: 'au-retried',
        email: 'au-retried@example.com',
        placements: [{ workspace: 'au-retries', line: 2 }],
        lines: [2],
      },
    ];
    const prefix = t.prefixOf(taskQueue);
    const workflowId = WORKFLOW_ID.onboard('au-retried', prefix);
    const addMember = 'POST /kapis/iam.kubesphere.io/v1beta1/workspaces/:workspace/workspacemembers';
    h.emulator.faults.set({ failingRoutes: [addMember] });
    try {
      const result = await worker.runUntil(async () => {
        const { handle } = await t.startImport(
          taskQueue,
          { batchId: 'au-retries', contentDigest: 'digest-au-retries', rows: people.length },
          people,
        );
        // The membership failed and waits for its next try: the acceptance is written by then.
        await eventually(() => {
          if (!of(workflowId).length) throw new Error('no event yet');
        }, 30_000);
        expect(of(workflowId).map((e) => e.type)).toEqual(['request.accepted']);
        h.emulator.faults.set({ failingRoutes: [] });
        return (await handle.result()) as BatchProgress;
      });
      expect(result).toMatchObject({ lifecycle: 'done', done: 1, failed: 0 });
    } finally {
      h.emulator.faults.set({ failingRoutes: [] });
    }
    expect(of(workflowId).map((e) => [e.type, e.who])).toEqual([
      ['request.accepted', 'ops-admin'],
      ['request.completed', 'ops-admin'],
    ]);
    expect(of(workflowId)[0]!.grants?.map((g) => [g.scope, g.role])).toEqual([
      ['platform', 'platform-regular'],
      ['workspace', 'regular'],
    ]);
  });
});
