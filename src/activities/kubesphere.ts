import { Context } from '@temporalio/activity';
import type { KubeSphereClient } from '../kubesphere/client.js';
import { isKubeSphereError } from '../kubesphere/errors.js';
import { KEYS } from '../kubesphere/schemas.js';
import { SealError, type Unsealer } from '../codec/seal.js';
import { checkPassword, formatProblems } from '../policy/names.js';
import { FailureType, type FieldDifference } from '../failures.js';
import { failure, mapFailures, mismatch } from './to-failure.js';

export type StepOutcome = 'created' | 'existed' | 'kept-existing-role' | 'updated' | 'unchanged';

export interface StepResult {
  outcome: StepOutcome;
  /** what was there before, when it differs from what was asked */
  existingRole?: string;
  requestedRole?: string;
}

export interface EnsureUserInput {
  username: string;
  email: string;
  sealedPassword?: string;
  globalRole: string;
}
export interface EnsureWorkspaceInput {
  name: string;
  /** the cluster a project will be placed on; the workspace must be placed there too */
  cluster?: string;
  create: boolean;
}
export interface EnsureProjectInput {
  workspace: string;
  name: string;
  cluster?: string;
  create: boolean;
}
export interface WorkspaceMemberInput {
  workspace: string;
  username: string;
  role: string;
  /** created by this request just now: it cannot be a member anywhere yet, so nothing is read first */
  newUser?: boolean;
}
export interface ProjectMemberInput {
  cluster?: string;
  project: string;
  username: string;
  role: string;
  newUser?: boolean;
}

export interface RoleChangeResult {
  outcome: 'updated' | 'unchanged';
  from: string;
  to: string;
}

export interface KubeSphereActivityDeps {
  client: KubeSphereClient;
  /** opens sealed passwords; without it, a request carrying a password fails */
  unsealer?: Unsealer;
  /** the account the worker acts as: recorded as kubesphere.io/creator (as the console does); never changed */
  creator?: string;
}

export interface ReadRoleInput {
  scope: 'platform' | 'workspace' | 'project';
  username: string;
  workspace?: string;
  project?: string;
  cluster?: string;
}

/**
 * Marks what ks-onboard creates with the request that made it (`<workflowId>/<runId>`): provenance on
 * every object, and a lost answer followed by "already exists" is still reported as `created` by this run.
 */
export const REQUEST_ANNOTATION = 'ks-onboard.io/request';

function thisRequest(): string {
  const execution = Context.current().info.workflowExecution;
  return execution ? `${execution.workflowId}/${execution.runId}` : 'standalone';
}

/** The client bound to this attempt: when Temporal gives up on the attempt, its requests stop too. */
function attemptClient(client: KubeSphereClient): KubeSphereClient {
  return client.withSignal(Context.current().cancellationSignal);
}

/**
 * One remote change per activity, idempotent: "already exists" is read back and compared, so any
 * retry is harmless and a difference is a clear, non-retryable ResourceMismatch.
 */
export function createKubeSphereActivities({ client: shared, unsealer, creator }: KubeSphereActivityDeps) {
  const creatorAnnotation: Record<string, string> = creator ? { [KEYS.creator]: creator } : {};
  const provenance = () => ({ ...creatorAnnotation, [REQUEST_ANNOTATION]: thisRequest() });
  const madeByThisRun = (annotations: Record<string, string> | undefined) =>
    annotations?.[REQUEST_ANNOTATION] === thisRequest();

  function openPassword(sealed: string | undefined): string | undefined {
    if (!sealed) return undefined;
    if (!unsealer) throw failure(FailureType.SealError, 'this worker has no key to open sealed passwords', true);
    let password: string;
    try {
      password = unsealer.open(sealed);
    } catch (error) {
      throw failure(
        FailureType.SealError,
        error instanceof SealError ? error.message : 'could not open the sealed password',
        true,
      );
    }
    const problems = checkPassword(password);
    if (problems.length) throw failure(FailureType.PolicyViolation, formatProblems(problems), true);
    return password;
  }

  async function readBack<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      // Just answered "exists", now "not found": the informer cache lags behind writes (§1.6). Retry.
      if (isKubeSphereError(error, 'KS_NOT_FOUND'))
        throw failure(FailureType.RoleNotReady, `read-after-write lag: ${error.message}`, false);
      throw error;
    }
  }

  return mapFailures({
    async ensureUser(input: EnsureUserInput): Promise<StepResult> {
      const client = attemptClient(shared);
      const password = openPassword(input.sealedPassword);
      try {
        await client.createUser({
          name: input.username,
          email: input.email,
          password,
          globalRole: input.globalRole,
          annotations: { ...provenance(), ...(password ? { [KEYS.uninitialized]: 'true' } : {}) },
        });
        return { outcome: 'created' };
      } catch (error) {
        if (!isKubeSphereError(error, 'KS_ALREADY_EXISTS')) throw error;
      }
      const user = await readBack(() => client.getUser(input.username));
      if (madeByThisRun(user.metadata.annotations)) return { outcome: 'created' };
      const existingEmail = user.spec?.email ?? '';
      if (existingEmail.toLowerCase() !== input.email.toLowerCase()) {
        throw mismatch(`user ${input.username}`, [{ field: 'email', existing: existingEmail, requested: input.email }]);
      }
      const role = user.metadata.annotations?.[KEYS.globalRole];
      if (!role) {
        // Nothing to replace: grant what was asked.
        await client.setUserGlobalRole(input.username, input.globalRole);
        return { outcome: 'updated', requestedRole: input.globalRole };
      }
      if (role !== input.globalRole)
        return { outcome: 'kept-existing-role', existingRole: role, requestedRole: input.globalRole };
      return { outcome: 'existed' };
    },

    async ensureWorkspace(input: EnsureWorkspaceInput): Promise<StepResult> {
      const client = attemptClient(shared);
      const cluster = input.cluster ?? 'host';
      if (input.create) {
        try {
          await client.createWorkspace({ name: input.name, clusters: [cluster], annotations: provenance() });
          return { outcome: 'created' };
        } catch (error) {
          if (!isKubeSphereError(error, 'KS_ALREADY_EXISTS')) throw error;
        }
      }
      let workspace;
      try {
        workspace = await (input.create
          ? readBack(() => client.getWorkspace(input.name))
          : client.getWorkspace(input.name));
      } catch (error) {
        if (isKubeSphereError(error, 'KS_NOT_FOUND'))
          throw failure(
            FailureType.Missing,
            `workspace ${input.name} does not exist and creating it was not asked for`,
            true,
          );
        throw error;
      }
      const placement = workspace.spec?.placement;
      const placed =
        placement?.clusterSelector !== undefined || (placement?.clusters ?? []).some((c) => c.name === cluster);
      if (!placed) {
        const existing = (placement?.clusters ?? []).map((c) => c.name).join(',') || '(none)';
        throw mismatch(`workspace ${input.name}`, [
          { field: 'placement.clusters', existing, requested: `includes ${cluster}` },
        ]);
      }
      return { outcome: madeByThisRun(workspace.metadata.annotations) ? 'created' : 'existed' };
    },

    async ensureProject(input: EnsureProjectInput): Promise<StepResult> {
      const client = attemptClient(shared);
      const ref = { workspace: input.workspace, name: input.name, cluster: input.cluster };
      if (input.create) {
        try {
          await client.createProject({ ...ref, creator, annotations: { [REQUEST_ANNOTATION]: thisRequest() } });
          return { outcome: 'created' };
        } catch (error) {
          if (!isKubeSphereError(error, 'KS_ALREADY_EXISTS')) throw error;
        }
      }
      let project;
      try {
        project = await client.getProject(ref);
      } catch (error) {
        if (!isKubeSphereError(error, 'KS_NOT_FOUND')) throw error;
        if (error.reason === 'in-another-workspace') {
          throw mismatch(`project ${input.name}`, [
            { field: 'workspace', existing: '(another workspace)', requested: input.workspace },
          ]);
        }
        if (!input.create)
          throw failure(
            FailureType.Missing,
            `project ${input.name} does not exist and creating it was not asked for`,
            true,
          );
        throw failure(FailureType.RoleNotReady, `read-after-write lag: ${error.message}`, false);
      }
      const differences: FieldDifference[] = [];
      const managed = project.metadata.labels?.[KEYS.managedLabel];
      if (managed !== 'true')
        differences.push({ field: `labels.${KEYS.managedLabel}`, existing: managed ?? '(unset)', requested: 'true' });
      if (differences.length) throw mismatch(`project ${input.name}`, differences);
      return { outcome: madeByThisRun(project.metadata.annotations) ? 'created' : 'existed' };
    },

    async ensureWorkspaceMember(input: WorkspaceMemberInput): Promise<StepResult> {
      const client = attemptClient(shared);
      const member = { username: input.username, roleRef: input.role };
      const current = input.newUser ? [] : await client.workspaceRolesOf(input.workspace, input.username);
      return ensureMember(current, input.role, () => client.addWorkspaceMembers(input.workspace, [member]));
    },

    async ensureProjectMember(input: ProjectMemberInput): Promise<StepResult> {
      const client = attemptClient(shared);
      const ref = { namespace: input.project, cluster: input.cluster };
      const member = { username: input.username, roleRef: input.role };
      const current = input.newUser ? [] : await client.projectRolesOf(ref, input.username);
      return ensureMember(current, input.role, () => client.addProjectMembers(ref, [member]));
    },

    /**
     * Never the worker's own account, never the last platform-admin: the caller runs platform-admin
     * demotions one at a time, so two cannot each count the other and both succeed.
     */
    async setGlobalRole(input: { username: string; role: string }): Promise<RoleChangeResult> {
      const client = attemptClient(shared);
      if (creator && input.username === creator)
        throw failure(FailureType.ProtectedAccount, `${creator} is the worker's own account: never changed`, true);
      const user = await client.getUser(input.username);
      const from = user.metadata.annotations?.[KEYS.globalRole] ?? '';
      if (from === input.role) return { outcome: 'unchanged', from, to: input.role };
      if (from === 'platform-admin') {
        // Other people who are platform-admins now: the list (by role binding) may lag behind a demotion just
        // made, so each is read again; the worker's own account does not count (it never approves).
        const listed = await client.usersWithGlobalRole('platform-admin');
        const others: string[] = [];
        for (const name of listed.filter((u) => u !== input.username && u !== creator)) {
          const other = await client.getUser(name);
          if (other.metadata.annotations?.[KEYS.globalRole] === 'platform-admin') others.push(name);
        }
        if (others.length === 0)
          throw failure(
            FailureType.ProtectedAccount,
            `${input.username} is the last platform-admin: never demoted`,
            true,
          );
      }
      await client.setUserGlobalRole(input.username, input.role);
      return { outcome: 'updated', from, to: input.role };
    },

    async setWorkspaceRole(input: WorkspaceMemberInput): Promise<RoleChangeResult> {
      const client = attemptClient(shared);
      const member = { username: input.username, roleRef: input.role };
      const roles = await client.workspaceRolesOf(input.workspace, input.username);
      return setMemberRole(roles, member, `workspace ${input.workspace}`, () =>
        client.updateWorkspaceMember(input.workspace, member),
      );
    },

    async setProjectRole(input: ProjectMemberInput): Promise<RoleChangeResult> {
      const client = attemptClient(shared);
      const ref = { namespace: input.project, cluster: input.cluster };
      const member = { username: input.username, roleRef: input.role };
      const roles = await client.projectRolesOf(ref, input.username);
      return setMemberRole(roles, member, `project ${input.project}`, () => client.updateProjectMember(ref, member));
    },

    /** A member's current role at one scope (none: not a member), read before a change is planned. */
    async readRole(input: ReadRoleInput): Promise<{ role?: string }> {
      const client = attemptClient(shared);
      switch (input.scope) {
        case 'platform': {
          let user;
          try {
            user = await client.getUser(input.username);
          } catch (error) {
            if (isKubeSphereError(error, 'KS_NOT_FOUND'))
              throw failure(FailureType.NotAMember, `there is no user ${input.username}`, true);
            throw error;
          }
          const role = user.metadata.annotations?.[KEYS.globalRole];
          return role ? { role } : {};
        }
        case 'workspace':
          return { role: (await client.workspaceRolesOf(input.workspace!, input.username))[0] };
        case 'project': {
          // A project is changed under the workspace named in the request: check that it really is there.
          try {
            await client.getProject({ workspace: input.workspace!, name: input.project!, cluster: input.cluster });
          } catch (error) {
            if (isKubeSphereError(error, 'KS_NOT_FOUND'))
              throw failure(
                FailureType.NotAMember,
                `project ${input.project} is not in workspace ${input.workspace}${error.reason === 'in-another-workspace' ? ' (it belongs to another)' : ''}`,
                true,
              );
            throw error;
          }
          const ref = { namespace: input.project!, cluster: input.cluster };
          return { role: (await client.projectRolesOf(ref, input.username))[0] };
        }
      }
    },
  });
}

/**
 * Joins a workspace or project unless already a member. KubeSphere's member POST would replace an
 * existing role, so a member with another role keeps it and that is reported.
 */
async function ensureMember(current: string[], role: string, add: () => Promise<unknown>): Promise<StepResult> {
  if (current.includes(role)) return { outcome: 'existed' };
  if (current.length > 0) return { outcome: 'kept-existing-role', existingRole: current[0], requestedRole: role };
  await addMember(add, role);
  return { outcome: 'created' };
}

/** The explicit change of a member's role; someone who is not a member is refused, not invited. */
async function setMemberRole(
  current: string[],
  member: { username: string; roleRef: string },
  where: string,
  update: () => Promise<unknown>,
): Promise<RoleChangeResult> {
  const role = member.roleRef;
  if (current.length === 0)
    throw failure(FailureType.NotAMember, `${member.username} is not a member of ${where}`, true);
  if (current.length === 1 && current[0] === role) return { outcome: 'unchanged', from: role, to: role };
  await addMember(update, role);
  return { outcome: 'updated', from: current[0]!, to: role };
}

/** A built-in role 404s until KubeSphere's controller has made it: retryable, bounded by the step's timeout. */
async function addMember(call: () => Promise<unknown>, role: string): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (isKubeSphereError(error, 'KS_NOT_FOUND'))
      throw failure(FailureType.RoleNotReady, `role ${role} is not there (yet): ${error.message}`, false);
    throw error;
  }
}

export type KubeSphereActivities = ReturnType<typeof createKubeSphereActivities>;
