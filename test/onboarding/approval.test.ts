import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SA,
  decideSignal,
  decideUpdate,
  stateQuery,
  type ChangeRoleResult,
  type OnboardingState,
} from '../../src/workflows/definitions.js';
import { startRoleChange } from '../../src/temporal/start.js';
import { eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
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

const elevatedRequest = (username: string, workspace: string) => ({
  username,
  email: `${username}@example.com`,
  workspace,
  workspaceRole: 'admin',
  requestedBy: 'hr-bot',
  policy: { approvalTimeout: '1h' },
});

async function waitingFor(handle: { query: (q: typeof stateQuery) => Promise<OnboardingState> }) {
  return eventually(async () => {
    const state = await handle.query(stateQuery);
    expect(state.lifecycle).toBe('awaiting-approval');
    return state;
  });
}

describe('approval of elevated grants', () => {
  it('approve → completes; nothing is created before the approval; the wait is visible', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    await worker.runUntil(async () => {
      const before = h.emulator.requests.total;
      const handle = await t.startOnboarding(taskQueue, elevatedRequest('kim', 'team-k'));
      const waiting = await waitingFor(handle);
      expect(waiting.approval?.grants).toEqual([{ scope: 'workspace', role: 'admin', target: 'team-k' }]);
      expect(waiting.approval?.requestedBy).toBe('hr-bot');
      await eventually(async () =>
        expect((await handle.describe()).typedSearchAttributes.get(SA.state)).toBe('awaiting-approval'),
      );
      const listed = await eventually(async () => {
        const ids: string[] = [];
        for await (const wf of t.client.workflow.list({
          query: `OnboardingState = 'awaiting-approval' AND OnboardingUsername = 'kim'`,
        }))
          ids.push(wf.workflowId);
        expect(ids).toEqual([handle.workflowId]);
        return ids;
      });
      expect(listed).toHaveLength(1);
      expect(h.emulator.requests.total).toBe(before); // not one call while waiting

      // An update without an approver is refused before it reaches history.
      const refused = await handle
        .executeUpdate(decideUpdate, { args: [{ approve: true, by: ' ' }] })
        .catch((e: unknown) => e);
      expect((refused as WorkflowUpdateFailedError).cause?.message).toBe('an approval needs the approver ("by")');
      const approval = await handle.executeUpdate(decideUpdate, {
        args: [{ approve: true, by: 'lead', reason: 'team lead' }],
      });
      expect(approval.decision).toMatchObject({ approve: true, by: 'lead', reason: 'team lead' });
      const result: OnboardingState = await handle.result();
      expect(result.lifecycle).toBe('done');
      expect(result.approval?.decision?.by).toBe('lead');
    });
    expect(await h.admin.workspaceRolesOf('team-k', 'kim')).toEqual(['team-k-admin']);
  });

  it('reject → fails with the reason; nothing is created', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const before = h.emulator.requests.byMethod.POST ?? 0;
    const failure = await worker.runUntil(async () => {
      const handle = await t.startOnboarding(taskQueue, elevatedRequest('lee', 'team-l'));
      await waitingFor(handle);
      await handle.signal(decideSignal, { approve: false, by: 'security', reason: 'not without a ticket' });
      return failureOf(handle);
    });
    expect(failure.type).toBe('ApprovalRejected');
    expect(failure.message).toContain('workspace role admin on team-l rejected by security: not without a ticket');
    expect(h.emulator.snapshot().users.lee).toBeUndefined();
    expect(h.emulator.requests.byMethod.POST ?? 0).toBe(before);
  });

  it('timeout → fails cleanly with ApprovalTimedOut', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const failure = await worker.runUntil(async () => {
      const handle = await t.startOnboarding(taskQueue, {
        ...elevatedRequest('max', 'team-m'),
        policy: { approvalTimeout: '2s' },
      });
      return failureOf(handle);
    });
    expect(failure.type).toBe('ApprovalTimedOut');
    expect(failure.message).toMatch(
      /^onboarding of max failed: no approval for workspace role admin on team-m before \d{4}-/,
    );
    expect(h.emulator.snapshot().users.max).toBeUndefined();
  });

  it('a decision for a workflow that needs none is refused', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    await worker.runUntil(async () => {
      const handle = await t.startOnboarding(taskQueue, {
        username: 'ned',
        email: 'ned@example.com',
        policy: { approvalTimeout: '1h' },
      });
      const error = await handle
        .executeUpdate(decideUpdate, { args: [{ approve: true, by: 'x' }] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((error as WorkflowUpdateFailedError).cause?.message).toBe('nothing here needs an approval');
      await handle.result();
    });
  });
});

describe('changeRole', () => {
  it('a downgrade needs no approval and is reported as such', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const result: ChangeRoleResult = await worker.runUntil(async () => {
      await (
        await t.startOnboarding(taskQueue, {
          username: 'olga',
          email: 'olga@example.com',
          workspace: 'team-o',
          project: 'team-o-dev',
          projectRole: 'viewer',
        })
      ).result();
      await h.admin.updateWorkspaceMember('team-o', { username: 'olga', roleRef: 'team-o-admin' });
      const handle = await startRoleChange(t.client, taskQueue, {
        username: 'olga',
        scope: 'workspace',
        workspace: 'team-o',
        role: 'viewer',
      });
      return handle.result();
    });
    expect(result).toMatchObject({
      from: 'team-o-admin',
      to: 'team-o-viewer',
      direction: 'downgrade',
      target: 'team-o',
    });
    expect(await h.admin.workspaceRolesOf('team-o', 'olga')).toEqual(['team-o-viewer']);
  });

  it('an upgrade to an elevated role waits for approval, then is applied and reported', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const result: ChangeRoleResult = await worker.runUntil(async () => {
      await (
        await t.startOnboarding(taskQueue, {
          username: 'pia',
          email: 'pia@example.com',
          workspace: 'team-p',
          project: 'team-p-dev',
        })
      ).result();
      const handle = await startRoleChange(t.client, taskQueue, {
        username: 'pia',
        scope: 'project',
        project: 'team-p-dev',
        role: 'operator',
        policy: { approvalTimeout: '1h' },
      });
      await waitingFor(handle);
      expect(await h.admin.projectRolesOf({ namespace: 'team-p-dev' }, 'pia')).toEqual(['viewer']);
      await handle.executeUpdate(decideUpdate, { args: [{ approve: true, by: 'lead' }] });
      return handle.result();
    });
    expect(result).toMatchObject({ from: 'viewer', to: 'operator', direction: 'upgrade', target: 'host/team-p-dev' });
    expect(await h.admin.projectRolesOf({ namespace: 'team-p-dev' }, 'pia')).toEqual(['operator']);
  });

  it('a platform role change replaces the single global binding; a custom role is refused', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    await worker.runUntil(async () => {
      await (await t.startOnboarding(taskQueue, { username: 'quinn', email: 'quinn@example.com' })).result();
      const handle = await startRoleChange(t.client, taskQueue, {
        username: 'quinn',
        scope: 'platform',
        role: 'platform-self-provisioner',
        policy: { elevatedRoles: [] },
      });
      expect(await handle.result()).toMatchObject({
        from: 'platform-regular',
        to: 'platform-self-provisioner',
        direction: 'upgrade',
      });
      const custom = await startRoleChange(t.client, taskQueue, {
        username: 'quinn',
        scope: 'platform',
        role: 'cluster-admin',
      });
      const failure = await failureOf(custom);
      expect(failure.type).toBe('PolicyViolation');
      expect(failure.message).toContain('"cluster-admin" is not a built-in platform role');
    });
    const bindings = Object.values(h.emulator.snapshot().globalRoleBindings).filter((b) => b.user === 'quinn');
    expect(bindings.map((b) => b.role)).toEqual(['platform-self-provisioner']);
  });

  it('refuses a role change for someone who is not a member', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const failure = await worker.runUntil(async () => {
      await h.admin.createWorkspace({ name: 'team-r' });
      const handle = await startRoleChange(t.client, taskQueue, {
        username: 'nobody',
        scope: 'workspace',
        workspace: 'team-r',
        role: 'viewer',
      });
      return failureOf(handle);
    });
    expect(failure.type).toBe('NotAMember');
    expect(failure.message).toContain('nobody is not a member of workspace team-r');
  });

  it('never sent a DELETE or PATCH', () => {
    expect(h.emulator.requests.byMethod.DELETE ?? 0).toBe(0);
    expect(h.emulator.requests.byMethod.PATCH ?? 0).toBe(0);
  });
});
