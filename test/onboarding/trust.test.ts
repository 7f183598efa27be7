import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { decisionInput, RequestConflictError } from '../../src/temporal/start.js';
import {
  SA,
  decideUpdate,
  stateQuery,
  type ChangeRoleResult,
  type OnboardingState,
} from '../../src/workflows/definitions.js';
import { eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { decodedHistory, failureOf, OPS, temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

let t: TemporalHarness;
let h: EmulatorHarness;
/** a third platform-admin: neither the worker (admin) nor the usual requester (ops-admin) */
const BOSS = { username: 'boss', password: 'B0ss-P@ssw0rd' };
/** admin of workspace team-w only */
const WSADMIN = { username: 'wanda', password: 'W@nda-Passw0rd' };
/** a platform-regular user with no workspace */
const REGULAR = { username: 'rita', password: 'R1ta-Passw0rd' };

beforeAll(async () => {
  t = await temporalHarness();
  h = await startEmulator();
  await Promise.all([h.person(BOSS, 'platform-admin'), h.person(WSADMIN), h.person(REGULAR)]);
  await h.admin.createWorkspace({ name: 'team-w', clusters: ['host'] });
  await eventually(() =>
    h.admin.addWorkspaceMembers('team-w', [{ username: WSADMIN.username, roleRef: 'team-w-admin' }]),
  );
});
afterAll(async () => {
  await h.close();
  await t.close();
});

const person = (username: string, extra: Record<string, string> = {}) => ({
  username,
  email: `${username}@example.com`,
  ...extra,
});

let lastTaskQueue = '';
async function session<T>(run: (taskQueue: string) => Promise<T>, policy = {}): Promise<T> {
  const taskQueue = (lastTaskQueue = t.taskQueue());
  const worker = await t.worker(taskQueue, h.emulator.url, policy);
  return worker.runUntil(run(taskQueue));
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
  return (error as WorkflowUpdateFailedError).cause?.message ?? '';
}

describe('the worker owns the policy', () => {
  it('a policy, timeout or approver in the input is refused, and nothing is created', async () => {
    const before = h.emulator.requests.total;
    const state = await session(async (taskQueue) => {
      const handle = await t.startRaw(taskQueue, 'onboardUser', {
        ...person('mallory', { globalRole: 'platform-admin' }),
        source: { kind: 'requester', proof: 'ks-sealed:v2:x' },
        policy: { elevatedRoles: [], approvalTimeout: '99999999999d' },
      });
      const failure = await failureOf(handle);
      expect(failure.type).toBe('PolicyViolation');
      expect(failure.message).toMatch(/unknown field\(s\) policy: refused/);
      return (await handle.describe()).typedSearchAttributes.get(SA.state);
    });
    expect(state).toBe('failed');
    expect(h.emulator.requests.total).toBe(before);
    expect(h.emulator.snapshot().users.mallory).toBeUndefined();
  });

  it('a non-string role in a raw change-role start fails cleanly as PolicyViolation', async () => {
    const failure = await session(async (taskQueue) =>
      failureOf(
        await t.startRaw(taskQueue, 'changeRole', {
          username: 'x',
          scope: 'platform',
          role: 5,
          source: { kind: 'requester', proof: 'ks-sealed:v2:x' },
        }),
      ),
    );
    expect(failure.type).toBe('PolicyViolation');
    expect(failure.message).toContain('role: must be text');
  });

  it("platform-admin waits for an approval whatever the worker's list says, and the CLI's notice is the worker's answer", async () => {
    await session(
      async (taskQueue) => {
        const { handle, answer } = await t.propose(taskQueue, person('mal', { globalRole: 'platform-admin' }));
        expect(answer.lifecycle).toBe('awaiting-approval');
        expect(answer.approvals).toEqual([
          { scope: 'platform', role: 'platform-admin', target: 'platform', why: 'elevated role' },
        ]);
        expect(answer.requestedBy).toBe(OPS.username);
        await handle.terminate('test done');
      },
      { elevatedRoles: ['platform:platform-admin'] },
    );
    expect(h.emulator.snapshot().users.mal).toBeUndefined();
  });

  it('a request runs only under its own workflow id, so there is one at a time per person', async () => {
    const failure = await session(async (taskQueue) => {
      const { handle } = await t.propose(taskQueue, person('nick'));
      await handle.result();
      // the same request and proof, started under another id by a raw client
      const elsewhere = await t.startRaw(taskQueue, 'onboardUser', {
        ...person('nick'),
        source: await inputSource(handle),
      });
      return failureOf(elsewhere);
    });
    expect(failure.type).toBe('PolicyViolation');
    expect(failure.message).toMatch(/workflowId: this request runs only as workflow "test-[0-9a-f]+\.onboard-nick"/);
  });

  it("a requester's proof does not work for another request", async () => {
    const failure = await session(async (taskQueue) => {
      const { handle } = await t.propose(taskQueue, person('olga'));
      await handle.result();
      // the proof made for olga, on a request for olga with a workspace added, under the right id
      const other = await t.client.workflow.start('onboardUser', {
        taskQueue,
        workflowId: handle.workflowId,
        args: [{ ...person('olga', { workspace: 'team-w' }), source: await inputSource(handle) }],
      });
      return failureOf(other);
    });
    expect(failure.type).toBe('RequesterRefused');
    expect(failure.message).toMatch(/the proof was made for a different request/);
  });
});

/** The source (sealed proof) a run was started with. */
async function inputSource(handle: { fetchHistory(): Promise<unknown> }) {
  const history = await decodedHistory(await handle.fetchHistory());
  const proof = /"proof":"(ks-sealed:v2:[^"]+)"/.exec(history)?.[1];
  return { kind: 'requester', proof };
}

describe('who may request what (2b)', () => {
  it('what KubeSphere would not let the requester do waits for an approval; a protected workspace is refused', async () => {
    await session(async (taskQueue) => {
      const { handle, answer } = await t.propose(taskQueue, person('sam', { workspace: 'team-w' }), REGULAR);
      expect(answer.approvals.map((g) => `${g.scope}:${g.role}:${g.why}`)).toEqual([
        'platform:platform-regular:beyond the requester',
        'workspace:regular:beyond the requester',
      ]);
      await handle.terminate('test done');

      // the workspace's own admin may place people in it, but not create users without a platform-admin
      const byAdmin = await t.propose(taskQueue, person('sam2', { workspace: 'team-w' }), WSADMIN);
      expect(byAdmin.answer.approvals.map((g) => `${g.scope}:${g.role}`)).toEqual(['platform:platform-regular']);
      await byAdmin.handle.terminate('test done');

      const system = await t.propose(taskQueue, person('sam3', { workspace: 'system-workspace' }));
      expect(system.answer.lifecycle).toBe('failed');
      expect(system.answer.error?.message).toMatch(/"system-workspace" is protected/);
    });
    expect(h.emulator.snapshot().users.sam).toBeUndefined();
  });
});

describe('authenticated approvals', () => {
  it('an approval by a platform-admin who is neither requester, person nor worker completes it, recorded by name', async () => {
    const state = await session(async (taskQueue) => {
      const { handle } = await t.propose(taskQueue, person('kim', { workspace: 'team-k', workspaceRole: 'admin' }));
      const refusals = [
        await refusal(t.decide(taskQueue, handle, true, OPS)),
        await refusal(t.decide(taskQueue, handle, true, { username: 'admin', password: 'P@88w0rd' })),
        await refusal(t.decide(taskQueue, handle, true, REGULAR)),
      ];
      expect(refusals[0]).toMatch(/ops-admin may not decide: they requested it/);
      expect(refusals[1]).toMatch(/admin may not decide: it is the worker's own account/);
      expect(refusals[2]).toMatch(/rita may not decide: their KubeSphere roles do not cover workspace:admin on team-k/);
      const approved = await t.decide(taskQueue, handle, true, BOSS, 'team lead');
      expect(approved.decision).toMatchObject({ approve: true, by: 'boss', reason: 'team lead' });
      // A second decision is refused: by the request, or by Temporal when the request has already finished.
      const again = await t.decide(taskQueue, handle, false, BOSS).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (again instanceof WorkflowUpdateFailedError)
        expect(again.cause?.message).toMatch(/nothing here waits|already approved by boss/);
      else expect(again).toBeInstanceOf(WorkflowNotFoundError);
      return (await handle.result()) as OnboardingState;
    });
    expect(state.lifecycle).toBe('done');
    expect(state.requestedBy).toBe('ops-admin');
    expect(h.emulator.snapshot().workspaceRoleBindings['kim-team-k-admin']).toBeDefined();
  });

  it("the person onboarded cannot approve their own grant, and a workspace's admin can approve for that workspace", async () => {
    await session(async (taskQueue) => {
      const { handle } = await t.propose(taskQueue, {
        username: REGULAR.username,
        email: 'rita@people.example',
        workspace: 'team-w',
        workspaceRole: 'self-provisioner',
      });
      expect(await refusal(t.decide(taskQueue, handle, true, REGULAR))).toMatch(
        /rita may not decide: the grants are for them/,
      );
      const approved = await t.decide(taskQueue, handle, true, WSADMIN);
      expect(approved.decision?.by).toBe('wanda');
      await handle.result();
    });
    expect(h.emulator.snapshot().workspaceRoleBindings['rita-team-w-self-provisioner']).toBeDefined();
  });

  it('of two decisions in flight at once, the first verified wins and the other is refused', async () => {
    await session(async (taskQueue) => {
      const { handle } = await t.propose(taskQueue, person('dee', { workspace: 'team-w', workspaceRole: 'admin' }));
      const results = await Promise.allSettled([
        t.decide(taskQueue, handle, true, BOSS),
        t.decide(taskQueue, handle, false, WSADMIN, 'not now'),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
      // the loser was refused ("already … by …") or came after the end; either way the winner's decision stands
      const final = await handle.result().then(
        (s) => s as OnboardingState,
        (e: unknown) => (e as { cause?: { details?: unknown[] } }).cause?.details?.[0] as OnboardingState,
      );
      expect(final.approval?.decision?.by).toBe(won[0]!.value.decision?.by);
    });
  });

  it('a rejection fails the workflow with the verified rejecter and the reason; nothing is created', async () => {
    const failure = await session(async (taskQueue) => {
      const { handle } = await t.propose(taskQueue, person('lee', { globalRole: 'platform-self-provisioner' }));
      await t.decide(taskQueue, handle, false, BOSS, 'not needed');
      return failureOf(handle);
    });
    expect(failure.type).toBe('ApprovalRejected');
    expect(failure.message).toMatch(/platform:platform-self-provisioner on platform rejected by boss: not needed/);
    expect(h.emulator.snapshot().users.lee).toBeUndefined();
  });

  it('a proof cannot be replayed on another workflow, and history never holds the token', async () => {
    await session(async (taskQueue) => {
      const first = await t.propose(taskQueue, person('pat', { globalRole: 'platform-admin' }));
      const second = await t.propose(taskQueue, person('quinn', { globalRole: 'platform-admin' }));
      const { runId } = await first.handle.describe();
      const grants = (await first.handle.query(stateQuery)).approval!.grants;
      const token = await t.tokenOf(h.emulator.url, BOSS);
      const publicKey = readFileSync(t.keys.public, 'utf8');
      const forFirst = decisionInput(
        { workflowId: first.handle.workflowId, runId, grants },
        { token, publicKey },
        true,
      );
      const replayed = t.client.workflow
        .getHandle(second.handle.workflowId)
        .executeUpdate(decideUpdate, { args: [forFirst] });
      expect(await refusal(replayed)).toMatch(/the proof was made for test-[0-9a-f]+\.onboard-pat, not this workflow/);
      const history = await decodedHistory(await first.handle.fetchHistory());
      expect(history).not.toContain(token);
      await first.handle.terminate('test done');
      await second.handle.terminate('test done');
    });
  });
});

describe('one request per person at a time', () => {
  it('the identical request attaches to the running one; a different one is refused naming the difference', async () => {
    await session(async (taskQueue) => {
      const request = person('una', { workspace: 'team-u', workspaceRole: 'admin' });
      const first = await t.propose(taskQueue, request);
      const again = await t.propose(taskQueue, request);
      expect(again.answer.runId).toBe(first.answer.runId);
      const other = await t.propose(taskQueue, { ...request, workspace: 'team-v' }).catch((e: unknown) => e);
      expect(other).toBeInstanceOf(RequestConflictError);
      expect((other as Error).message).toMatch(
        /onboard-una is already running a different request: workspace "team-u" \(running\) vs "team-v" \(asked\)/,
      );
      // the same request by someone else is not merged into it either: its password is not theirs
      const byBoss = await t.propose(taskQueue, request, BOSS).catch((e: unknown) => e);
      expect(byBoss).toBeInstanceOf(RequestConflictError);
      expect((byBoss as Error).message).toMatch(
        /onboard-una is already requested by ops-admin; a request by boss is not merged/,
      );
      await first.handle.terminate('test done');
    });
  });

  it('a role change for another role does not attach to a pending one', async () => {
    await session(async (taskQueue) => {
      const pending = await t.proposeRoleChange(taskQueue, {
        username: WSADMIN.username,
        scope: 'workspace',
        workspace: 'team-w',
        role: 'viewer',
      });
      const other = await t
        .proposeRoleChange(taskQueue, {
          username: WSADMIN.username,
          scope: 'workspace',
          workspace: 'team-w',
          role: 'regular',
        })
        .catch((e: unknown) => e);
      expect(other).toBeInstanceOf(RequestConflictError);
      expect((other as Error).message).toMatch(/role "team-w-viewer" \(running\) vs "team-w-regular" \(asked\)/);
      await pending.handle.terminate('test done');
    });
  });
});

describe('role changes', () => {
  it("the worker's own account is never changed; a change from an elevated role waits for an approval", async () => {
    await session(async (taskQueue) => {
      const own = await t.proposeRoleChange(taskQueue, {
        username: 'admin',
        scope: 'platform',
        role: 'platform-regular',
      });
      expect(own.answer.lifecycle).toBe('failed');
      expect(own.answer.error).toMatchObject({
        type: 'ProtectedAccount',
        message: expect.stringMatching(/admin is the worker's own account/),
      });
      const joined = await t.propose(taskQueue, {
        username: 'admin',
        email: 'admin@kubesphere.io',
        workspace: 'team-w',
      });
      expect(joined.answer.error).toMatchObject({ type: 'ProtectedAccount' });

      const demote = await t.proposeRoleChange(taskQueue, {
        username: 'boss',
        scope: 'platform',
        role: 'platform-regular',
      });
      expect(demote.answer.approvals).toEqual([
        { scope: 'platform', role: 'platform-regular', target: 'platform', why: 'changes an elevated role' },
      ]);
      await demote.handle.terminate('test done');

      const toViewer = await t.proposeRoleChange(taskQueue, {
        username: WSADMIN.username,
        scope: 'workspace',
        workspace: 'team-w',
        role: 'viewer',
      });
      expect(toViewer.answer.approvals.map((g) => g.why)).toEqual(['changes an elevated role']);
      await toViewer.handle.terminate('test done');
    });
    expect(h.emulator.snapshot().users.admin?.metadata.annotations?.['iam.kubesphere.io/globalrole']).toBe(
      'platform-admin',
    );
  });

  it('the platform-role step cannot be started from outside a change-role', async () => {
    const failure = await session(async (taskQueue) => {
      const handle = await t.client.workflow.start('setPlatformRole', {
        taskQueue,
        workflowId: `raw-set-platform-role-${Date.now()}`,
        args: [{ username: REGULAR.username, role: 'platform-admin' }],
      });
      return failureOf(handle);
    });
    expect(failure.type).toBe('PolicyViolation');
    expect(h.emulator.snapshot().users[REGULAR.username]?.metadata.annotations?.['iam.kubesphere.io/globalrole']).toBe(
      'platform-regular',
    );
  });

  it('a platform-admin demotion, once approved, runs under the one demotion id', async () => {
    await h.admin.createUser({ name: 'temp-admin', email: 'temp@example.com', globalRole: 'platform-admin' });
    const result = await session(async (taskQueue) => {
      const { handle } = await t.proposeRoleChange(taskQueue, {
        username: 'temp-admin',
        scope: 'platform',
        role: 'platform-regular',
      });
      await t.decide(taskQueue, handle, true, BOSS);
      return (await handle.result()) as ChangeRoleResult;
    });
    expect(result).toMatchObject({ from: 'platform-admin', to: 'platform-regular', direction: 'downgrade' });
    const child = await t.client.workflow.getHandle(`${t.prefixOf(lastTaskQueue)}platform-admin-demotion`).describe();
    expect(child.status.name).toBe('COMPLETED');
  });
});

describe("the worker's own login", () => {
  it('20 onboardings with a wrong worker password cost exactly one failed login, and say why', async () => {
    const emulator = await startEmulator();
    try {
      const taskQueue = t.taskQueue();
      const worker = await t.worker(
        taskQueue,
        emulator.emulator.url,
        {},
        { username: 'admin', password: 'wrong-Passw0rd' },
      );
      const failures = await worker.runUntil(
        Promise.all(
          Array.from({ length: 20 }, async (_, i) => {
            const { handle } = await t.propose(taskQueue, person(`w${i}`));
            return failureOf(handle);
          }),
        ),
      );
      expect(failures.every((f) => f.type === 'KS_CREDENTIALS_REJECTED' || f.type === 'KS_LOGIN_FAILED')).toBe(true);
      expect(failures.some((f) => /will not try|not try/i.test(f.message))).toBe(true);
      // one login by the requester (ops-admin), one by the worker: never more
      expect(emulator.emulator.requests.byRoute['POST /oauth/token']).toBe(2);
      expect(emulator.emulator.snapshot().users.admin?.status.state).toBe('Active');
    } finally {
      await emulator.close();
    }
  });
});
