import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnboardRequest } from '../../src/policy/plan.js';
import type { OnboardingState } from '../../src/workflows/definitions.js';
import { eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import {
  decodedHistory,
  failureOf,
  rawHistoryText,
  temporalHarness,
  type TemporalHarness,
} from '../helpers/temporal.js';

let t: TemporalHarness;
let h: EmulatorHarness;

beforeAll(async () => {
  t = await temporalHarness();
  h = await startEmulator({ clusters: ['host', 'member1'] });
});
afterAll(async () => {
  await h.close();
  await t.close();
});

/** Runs one onboarding on a fresh task queue with its own worker, returns the handle after it ends. */
async function onboard(request: OnboardRequest, emulator = h) {
  const taskQueue = t.taskQueue();
  const worker = await t.worker(taskQueue, emulator.emulator.url);
  return worker.runUntil(async () => {
    const { handle } = await t.propose(taskQueue, request);
    await handle.result().catch(() => undefined);
    return handle;
  });
}

/** A start as any Temporal client could send it, past our own helpers' checks. */
async function onboardRaw(input: unknown) {
  const taskQueue = t.taskQueue();
  const worker = await t.worker(taskQueue, h.emulator.url);
  return worker.runUntil(async () => {
    const handle = await t.startRaw(taskQueue, 'onboardUser', input);
    await handle.result().catch(() => undefined);
    return handle;
  });
}

/** The emulator's objects, minus the admin's last login time (each new worker logs in). */
const stateWithoutLogins = (emulator: EmulatorHarness) => {
  const snapshot = emulator.emulator.snapshot();
  delete snapshot.users.admin?.status.lastLoginTime;
  return JSON.stringify(snapshot);
};

/** Writes to KubeSphere's objects (logins are POSTs too, but change nothing there). */
const writes = (emulator: EmulatorHarness) => {
  const { POST = 0, PUT = 0, DELETE = 0, PATCH = 0 } = emulator.emulator.requests.byMethod;
  const logins = emulator.emulator.requests.byRoute['POST /oauth/token'] ?? 0;
  return { POST: POST - logins, PUT, DELETE, PATCH };
};

describe('onboardUser', () => {
  it('creates exactly the user, workspace, project and bindings asked for, with least privilege', async () => {
    const handle = await onboard({
      username: 'alice',
      email: 'alice@example.com',
      sealedPassword: t.sealPassword('Passw0rd1'),
      workspace: 'team-a',
      project: 'team-a-dev',
    });
    const result: OnboardingState = await handle.result();
    expect(result.lifecycle).toBe('done');
    expect(result.steps.map((s) => [s.step, s.target, s.outcome])).toEqual([
      ['user', 'alice', 'created'],
      ['workspace', 'team-a', 'created'],
      ['project', 'host/team-a-dev', 'created'],
      ['workspace-member', 'team-a', 'created'],
      ['project-member', 'host/team-a-dev', 'created'],
    ]);
    const snap = h.emulator.snapshot();
    expect(snap.users.alice).toMatchObject({ spec: { email: 'alice@example.com' }, hasPassword: true });
    expect(
      Object.values(snap.globalRoleBindings)
        .filter((b) => b.user === 'alice')
        .map((b) => b.role),
    ).toEqual(['platform-regular']);
    expect(snap.workspaces['team-a']?.spec.placement).toEqual({ clusters: [{ name: 'host' }] });
    expect(snap.namespaces.host?.['team-a-dev']?.metadata.labels).toEqual({
      'kubesphere.io/workspace': 'team-a',
      'kubesphere.io/managed': 'true',
    });
    expect(
      Object.values(snap.workspaceRoleBindings)
        .filter((b) => b.user === 'alice')
        .map((b) => [b.name, b.role]),
    ).toEqual([['alice-team-a-regular', 'team-a-regular']]);
    expect(
      Object.values(snap.roleBindings.host?.['team-a-dev'] ?? {})
        .filter((b) => b.user === 'alice')
        .map((b) => b.role),
    ).toEqual(['viewer']);
    // The user can log in with the password that travelled sealed.
    await eventually(async () => expect(await h.token('alice', 'Passw0rd1')).toBeTruthy());
  });

  it('keeps the password out of history in plaintext, and labels the run for the Web UI', async () => {
    const handle = await onboard({
      username: 'carol',
      email: 'carol@example.com',
      sealedPassword: t.sealPassword('Secr3tPassw0rd'),
      workspace: 'team-c',
    });
    // Without the key, history holds neither the password nor the email, nor even the sealed value.
    const raw = rawHistoryText(await handle.fetchHistory());
    for (const secret of ['Secr3tPassw0rd', 'carol@example.com', 'ks-sealed:']) expect(raw).not.toContain(secret);
    // With it (the codec server), the input reads back, and the password is still sealed for the workers only.
    const history = await decodedHistory(await handle.fetchHistory());
    expect(history).toContain('ks-sealed:v1:');
    expect(history).toContain('carol@example.com');
    expect(history).not.toContain('Secr3tPassw0rd');
    const description = await handle.describe();
    expect(description.typedSearchAttributes.get({ name: 'OnboardingUsername', type: 'KEYWORD' } as never)).toBe(
      'carol',
    );
    expect(await description.staticSummary()).toBe('onboard carol into team-c');
  });

  it('run again, it creates nothing new and sends no write that changes state', async () => {
    const input = { username: 'dave', email: 'dave@example.com', workspace: 'team-d', project: 'team-d-dev' };
    await (await onboard(input)).result();
    const before = { writes: writes(h), snapshot: stateWithoutLogins(h) };
    const again: OnboardingState = await (await onboard(input)).result();
    expect(again.steps.map((s) => s.outcome)).toEqual(['existed', 'existed', 'existed', 'existed', 'existed']);
    const after = writes(h);
    // Creates are answered "already exists"; no member POST and no PUT is sent at all.
    expect(after.PUT - before.writes.PUT).toBe(0);
    expect(stateWithoutLogins(h)).toBe(before.snapshot);
  });

  it('keeps an existing workspace admin as admin when invited with the default role', async () => {
    await (await onboard({ username: 'erin', email: 'erin@example.com', workspace: 'team-e' })).result();
    await h.admin.updateWorkspaceMember('team-e', { username: 'erin', roleRef: 'team-e-admin' });
    const result: OnboardingState = await (
      await onboard({ username: 'erin', email: 'erin@example.com', workspace: 'team-e' })
    ).result();
    expect(result.steps.find((s) => s.step === 'workspace-member')).toMatchObject({
      outcome: 'kept-existing-role',
      existingRole: 'team-e-admin',
      requestedRole: 'team-e-regular',
    });
    expect(await h.admin.workspaceRolesOf('team-e', 'erin')).toEqual(['team-e-admin']);
  });

  it('fails with ResourceMismatch naming the field for a user with another email', async () => {
    await h.admin.createUser({ name: 'frank', email: 'frank@old.example.com' });
    const failure = await failureOf(await onboard({ username: 'frank', email: 'frank@example.com' }));
    // The step's failure is kept as the cause (the user step is a local activity: its ApplicationFailure itself).
    expect(failure.cause).toMatchObject({ type: 'ResourceMismatch', nonRetryable: true });
    expect(failure.type).toBe('ResourceMismatch');
    expect(failure.message).toContain(
      'user frank already exists but differs: email is "frank@old.example.com", requested "frank@example.com"',
    );
    expect(failure.nonRetryable).toBe(true);
  });

  it('fails with ResourceMismatch for a project that exists in another workspace', async () => {
    await h.admin.createProject({ workspace: 'elsewhere', name: 'shared-dev' });
    const failure = await failureOf(
      await onboard({ username: 'gina', email: 'gina@example.com', workspace: 'team-g', project: 'shared-dev' }),
    );
    expect(failure.type).toBe('ResourceMismatch');
    expect(failure.message).toMatch(
      /project shared-dev already exists but differs: workspace is "\(another workspace\)", requested "team-g"/,
    );
    const [state] = failure.details as [OnboardingState];
    expect(state.steps.map((s) => s.outcome)).toEqual(['created', 'created', 'failed', 'skipped', 'skipped']);
    expect(h.emulator.snapshot().workspaceRoleBindings['gina-team-g-regular']).toBeUndefined();
  });

  it.each([
    [
      'an invalid username',
      { username: 'Bad_Name', email: 'x@example.com' },
      /username: "Bad_Name" must be lower-case/,
    ],
    [
      'a custom global role',
      { username: 'hank', email: 'h@example.com', globalRole: 'cluster-admin' },
      /globalRole: "cluster-admin" is not a built-in platform role/,
    ],
    [
      'an unknown workspace role',
      { username: 'hank', email: 'h@example.com', workspace: 'ws', workspaceRole: 'ws-owner' },
      /workspaceRole: "ws-owner" is not a built-in role/,
    ],
    [
      'a custom project role',
      { username: 'hank', email: 'h@example.com', workspace: 'ws', project: 'p', projectRole: 'deployer' },
      /projectRole: "deployer" is not a built-in project role/,
    ],
  ])('refuses %s before any API call', async (_label, input, message) => {
    const before = h.emulator.requests.total;
    const source = { kind: 'requester', proof: 'ks-sealed:v2:never-opened' };
    const failure = await failureOf(await onboardRaw({ ...input, source }));
    expect(failure.type).toBe('PolicyViolation');
    expect(failure.message).toMatch(message);
    expect(h.emulator.requests.total).toBe(before);
  });

  it('refuses a weak password with a clear error, never echoing it', async () => {
    const before = writes(h).POST;
    const failure = await failureOf(
      await onboard({ username: 'ivan', email: 'ivan@example.com', sealedPassword: t.sealPassword('weakpassword') }),
    );
    expect(failure.type).toBe('PolicyViolation');
    expect(failure.message).toContain('password: must contain an upper-case letter, a digit');
    expect(failure.message).not.toContain('weakpassword');
    expect(writes(h).POST).toBe(before);
  });

  it('onboards onto a member cluster: the workspace is placed there, the project lives there', async () => {
    const result: OnboardingState = await (
      await onboard({
        username: 'jane',
        email: 'jane@example.com',
        workspace: 'team-j',
        project: 'team-j-dev',
        cluster: 'member1',
      })
    ).result();
    expect(result.steps.every((s) => s.outcome === 'created')).toBe(true);
    const snap = h.emulator.snapshot();
    expect(snap.workspaces['team-j']?.spec.placement).toEqual({ clusters: [{ name: 'member1' }] });
    expect(snap.namespaces.member1?.['team-j-dev']).toBeTruthy();
    expect(snap.namespaces.host?.['team-j-dev']).toBeUndefined();
  });

  it('only invites to an existing project when creation is not asked for, and says what is missing', async () => {
    await (
      await onboard({ username: 'kai', email: 'kai@example.com', workspace: 'team-x', project: 'team-x-dev' })
    ).result();
    const result: OnboardingState = await (
      await onboard({
        username: 'lou',
        email: 'lou@example.com',
        workspace: 'team-x',
        project: 'team-x-dev',
        createWorkspace: false,
        createProject: false,
      })
    ).result();
    expect(result.steps.map((s) => s.outcome)).toEqual(['created', 'existed', 'existed', 'created', 'created']);
    const failure = await failureOf(
      await onboard({
        username: 'lou',
        email: 'lou@example.com',
        workspace: 'team-x',
        project: 'nope-dev',
        createWorkspace: false,
        createProject: false,
      }),
    );
    expect(failure.type).toBe('Missing');
    expect(failure.message).toContain('project nope-dev does not exist and creating it was not asked for');
    expect(h.emulator.snapshot().namespaces.host?.['nope-dev']).toBeUndefined();
  });
});
