import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { KubeSphereClient } from '../kubesphere/client.js';
import { KubeSphereError } from '../kubesphere/errors.js';
import { createKubeSphereActivities, REQUEST_ANNOTATION } from './kubesphere.js';

/** Just the client calls an activity makes; anything else fails the test loudly. */
function fakeClient(calls: Partial<Record<keyof KubeSphereClient, (...args: never[]) => unknown>>): KubeSphereClient {
  const client = {
    withSignal: () => client,
    ...calls,
  } as unknown as KubeSphereClient;
  return new Proxy(client, {
    get(target, name: string) {
      const value = (target as unknown as Record<string, unknown>)[name];
      if (value === undefined) throw new Error(`unexpected client call ${name}`);
      return value;
    },
  });
}

const env = () => new MockActivityEnvironment({ workflowExecution: { workflowId: 'onboard-ann', runId: 'run-1' } });
const exists = () => new KubeSphereError('KS_ALREADY_EXISTS', 'users.iam.kubesphere.io "ann" already exists');

async function failureFrom(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

describe('ensureUser', () => {
  const user = (annotations: Record<string, string>) => ({
    metadata: { name: 'ann', annotations },
    spec: { email: 'ann@example.com' },
  });
  const input = { username: 'ann', email: 'ann@example.com', globalRole: 'platform-regular' };

  it('marks what it creates with the request, and says created when a lost answer is followed by "already exists"', async () => {
    const created: unknown[] = [];
    const activities = createKubeSphereActivities({
      client: fakeClient({
        createUser: (async (body: unknown) => {
          created.push(body);
          throw exists();
        }) as never,
        getUser: (async () =>
          user({
            [REQUEST_ANNOTATION]: 'onboard-ann/run-1',
            'iam.kubesphere.io/globalrole': 'platform-regular',
          })) as never,
      }),
    });
    await expect(env().run(activities.ensureUser, input)).resolves.toEqual({ outcome: 'created' });
    expect(created[0]).toMatchObject({ annotations: { [REQUEST_ANNOTATION]: 'onboard-ann/run-1' } });
  });

  it('says existed for a user another run or person made', async () => {
    const activities = createKubeSphereActivities({
      client: fakeClient({
        createUser: (async () => {
          throw exists();
        }) as never,
        getUser: (async () =>
          user({
            [REQUEST_ANNOTATION]: 'onboard-ann/run-0',
            'iam.kubesphere.io/globalrole': 'platform-regular',
          })) as never,
      }),
    });
    await expect(env().run(activities.ensureUser, input)).resolves.toEqual({ outcome: 'existed' });
  });
});

describe('ensureProject', () => {
  it('a project of another workspace is a ResourceMismatch, recognised by its coded reason', async () => {
    const activities = createKubeSphereActivities({
      client: fakeClient({
        createProject: (async () => {
          throw new KubeSphereError('KS_ALREADY_EXISTS', 'namespaces "p1" already exists');
        }) as never,
        getProject: (async () => {
          throw new KubeSphereError('KS_NOT_FOUND', 'anything at all', { reason: 'in-another-workspace' });
        }) as never,
      }),
    });
    const failure = await failureFrom(
      env().run(activities.ensureProject, { workspace: 'ws', name: 'p1', create: true }),
    );
    expect(failure.type).toBe('ResourceMismatch');
    expect(failure.nonRetryable).toBe(true);
  });
});

describe('setGlobalRole', () => {
  const admins = (names: string[]) =>
    fakeClient({
      getUser: (async (name: string) => ({
        metadata: { name, annotations: { 'iam.kubesphere.io/globalrole': 'platform-admin' } },
      })) as never,
      usersWithGlobalRole: (async () => names) as never,
      setUserGlobalRole: (async () => {
        throw new Error('must not write');
      }) as never,
    });

  it('never demotes the last platform-admin besides the worker', async () => {
    const activities = createKubeSphereActivities({ client: admins(['solo', 'worker']), creator: 'worker' });
    const failure = await failureFrom(
      env().run(activities.setGlobalRole, { username: 'solo', role: 'platform-regular' }),
    );
    expect(failure.type).toBe('ProtectedAccount');
    expect(failure.message).toBe('solo is the last platform-admin: never demoted');
  });

  it("never changes the worker's own account", async () => {
    const activities = createKubeSphereActivities({ client: admins(['worker', 'other']), creator: 'worker' });
    const failure = await failureFrom(
      env().run(activities.setGlobalRole, { username: 'worker', role: 'platform-regular' }),
    );
    expect(failure.type).toBe('ProtectedAccount');
  });
});

describe('cancellation', () => {
  it("binds every call of an attempt to the attempt's cancellation signal", async () => {
    const signals: AbortSignal[] = [];
    const inner = fakeClient({ workspaceRolesOf: (async () => ['ws-regular']) as never });
    const client = fakeClient({
      withSignal: ((signal: AbortSignal) => {
        signals.push(signal);
        return inner;
      }) as never,
    });
    const activities = createKubeSphereActivities({ client });
    const mock = env();
    await mock.run(activities.ensureWorkspaceMember, { workspace: 'ws', username: 'ann', role: 'ws-regular' });
    expect(signals).toEqual([mock.context.cancellationSignal]);
  });
});
