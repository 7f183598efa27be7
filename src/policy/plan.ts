import {
  checkClusterName,
  checkEmail,
  checkProjectName,
  checkUsername,
  checkWorkspaceName,
  quote,
  type Problem,
} from './names.js';
import {
  DEFAULT_ROLES,
  parseGlobalRole,
  parseProjectRole,
  parseWorkspaceRole,
  rankOf,
  workspaceRoleName,
  type GlobalRole,
  type ProjectRole,
  type Scope,
  type WorkspaceRoleSuffix,
} from './roles.js';

import type { ChangeRoleInput, OnboardUserInput, Placement } from './requests.js';

export type { ChangeRoleInput, OnboardUserInput };

/** A request as proposed, before its source is attached (what the CLI checks before sealing a proof). */
export type OnboardRequest = Omit<OnboardUserInput, 'source'>;
export type RoleChangeRequest = Omit<ChangeRoleInput, 'source'>;

export interface Grant {
  scope: Scope;
  /** the role's key within its scope: `platform-admin`, `admin` (of a workspace or project), `viewer`… */
  role: string;
  /** what the role is on: the platform, a workspace, or cluster/project */
  target: string;
  /** the workspace a workspace or project grant belongs to (whose admin may make it) */
  workspace?: string;
}

export interface PlannedWorkspace {
  name: string;
  /** the full role name KubeSphere knows (`<ws>-regular`) */
  role: string;
  suffix: WorkspaceRoleSuffix;
  create: boolean;
}

export interface PlannedProject {
  name: string;
  cluster?: string;
  role: ProjectRole;
  create: boolean;
  /** the workspace it lives in */
  workspace: string;
}

export interface OnboardingPlan {
  username: string;
  email: string;
  sealedPassword?: string;
  globalRole: GlobalRole;
  /** each workspace once, in the order first asked */
  workspaces: PlannedWorkspace[];
  /** each project once, in the order first asked */
  projects: PlannedProject[];
  /** every grant the request makes; the worker's policy says which wait for an approval */
  grants: Grant[];
}

export type PlanResult<T> = { ok: true; plan: T } | { ok: false; problems: Problem[] };

/** How a project is named in grants, step reports and summaries: `<cluster>/<project>`, `host` by default. */
export function projectTarget(cluster: string | undefined, project: string): string {
  return `${cluster ?? 'host'}/${project}`;
}

type PlacementFields = Omit<Placement, 'workspace' | 'line'> & { workspace?: string };

/**
 * The placements a request asks for: its list, or the single-placement fields (what `onboard` sends), each
 * with the prefix its problems are reported under. Both at once is refused.
 */
function placementsOf(input: OnboardRequest, problems: Problem[]): Array<{ at: string; fields: PlacementFields }> {
  const single: PlacementFields = {
    workspace: input.workspace,
    workspaceRole: input.workspaceRole,
    createWorkspace: input.createWorkspace,
    project: input.project,
    projectRole: input.projectRole,
    createProject: input.createProject,
    cluster: input.cluster,
  };
  const singleGiven = Object.values(single).some((v) => v !== undefined && v !== '');
  if (input.placements === undefined) return singleGiven ? [{ at: '', fields: single }] : [];
  if (singleGiven)
    problems.push({ field: 'placements', message: 'give either placements or the single-placement fields, not both' });
  if (!Array.isArray(input.placements)) {
    problems.push({ field: 'placements', message: 'must be a list' });
    return [];
  }
  return input.placements.map((fields, i) => ({ at: `placements.${i}.`, fields }));
}

/** Validates a request and turns it into the exact grants to make. Pure: safe inside a workflow. */
export function planOnboarding(input: OnboardRequest): PlanResult<OnboardingPlan> {
  const problems: Problem[] = [];
  const text = (value: unknown, field: string, required: boolean): string | undefined => {
    if (value === undefined || value === null || (value === '' && !required)) return undefined;
    if (typeof value !== 'string') {
      problems.push({ field, message: `must be text, got ${typeof value}` });
      return undefined;
    }
    return value.trim() === value
      ? value
      : (problems.push({ field, message: 'must not start or end with white space' }), undefined);
  };

  const username = text(input.username, 'username', true) ?? '';
  const email = text(input.email, 'email', true) ?? '';
  problems.push(...checkUsername(username), ...checkEmail(email));

  const globalRoleText = text(input.globalRole, 'globalRole', false) ?? DEFAULT_ROLES.platform;
  const globalRole = parseGlobalRole(globalRoleText);
  if (!globalRole.ok) problems.push({ field: 'globalRole', message: globalRole.reason });

  const workspaces: PlannedWorkspace[] = [];
  const projects: PlannedProject[] = [];
  for (const { at, fields } of placementsOf(input, problems)) {
    const workspaceName = text(fields.workspace, `${at}workspace`, false);
    const projectName = text(fields.project, `${at}project`, false);
    const cluster = text(fields.cluster, `${at}cluster`, false);
    if (cluster !== undefined) problems.push(...checkClusterName(cluster, `${at}cluster`));

    let workspace: PlannedWorkspace | undefined;
    if (workspaceName !== undefined) {
      const nameProblems = checkWorkspaceName(workspaceName, `${at}workspace`);
      problems.push(...nameProblems);
      const roleText = text(fields.workspaceRole, `${at}workspaceRole`, false) ?? DEFAULT_ROLES.workspace;
      const role = parseWorkspaceRole(workspaceName, roleText);
      if (!role.ok) problems.push({ field: `${at}workspaceRole`, message: role.reason });
      else if (nameProblems.length === 0) {
        workspace = {
          name: workspaceName,
          role: workspaceRoleName(workspaceName, role.role),
          suffix: role.role,
          create: fields.createWorkspace !== false,
        };
      }
    } else if (fields.workspaceRole !== undefined && fields.workspaceRole !== '') {
      problems.push({ field: `${at}workspaceRole`, message: 'needs a workspace' });
    }

    let project: PlannedProject | undefined;
    if (projectName !== undefined) {
      const nameProblems = checkProjectName(projectName, `${at}project`);
      problems.push(...nameProblems);
      if (workspaceName === undefined)
        problems.push({ field: `${at}project`, message: 'needs a workspace: a project lives in one' });
      const role = parseProjectRole(text(fields.projectRole, `${at}projectRole`, false) ?? DEFAULT_ROLES.project);
      if (!role.ok) problems.push({ field: `${at}projectRole`, message: role.reason });
      else if (nameProblems.length === 0 && workspace)
        project = {
          name: projectName,
          cluster,
          role: role.role,
          create: fields.createProject !== false,
          workspace: workspace.name,
        };
    } else if (fields.projectRole !== undefined && fields.projectRole !== '') {
      problems.push({ field: `${at}projectRole`, message: 'needs a project' });
    }

    if (workspace) {
      const same = workspaces.find((w) => w.name === workspace.name);
      if (!same) workspaces.push(workspace);
      else if (same.role !== workspace.role)
        problems.push({
          field: `${at}workspaceRole`,
          message: `${quote(workspace.name)} is asked with two roles: ${same.role} and ${workspace.role}`,
        });
      else same.create ||= workspace.create;
    }
    if (project) {
      const target = projectTarget(project.cluster, project.name);
      const same = projects.find((p) => projectTarget(p.cluster, p.name) === target);
      if (!same) projects.push(project);
      else if (same.workspace !== project.workspace)
        problems.push({
          field: `${at}project`,
          message: `${quote(target)} is placed in two workspaces: ${same.workspace} and ${project.workspace}`,
        });
      else if (same.role !== project.role)
        problems.push({
          field: `${at}projectRole`,
          message: `${quote(target)} is asked with two roles: ${same.role} and ${project.role}`,
        });
      else same.create ||= project.create;
    }
  }

  if (problems.length > 0 || !globalRole.ok) return { ok: false, problems };

  const grants: Grant[] = [{ scope: 'platform', role: globalRole.role, target: 'platform' }];
  for (const workspace of workspaces)
    grants.push({ scope: 'workspace', role: workspace.suffix, target: workspace.name, workspace: workspace.name });
  for (const project of projects)
    grants.push({
      scope: 'project',
      role: project.role,
      target: projectTarget(project.cluster, project.name),
      workspace: project.workspace,
    });

  return {
    ok: true,
    plan: {
      username,
      email,
      ...(input.sealedPassword ? { sealedPassword: input.sealedPassword } : {}),
      globalRole: globalRole.role,
      workspaces,
      projects,
      grants,
    },
  };
}

// ---- explicit role changes -----------------------------------------------------------------------

export interface RoleChangePlan {
  username: string;
  scope: Scope;
  /** the full role name KubeSphere knows (e.g. `ws1-admin`) */
  role: string;
  /** the role's rank key within its scope (e.g. `admin`) */
  roleKey: string;
  /** what the role is on: `platform`, the workspace, or `<cluster>/<project>` */
  target: string;
  workspace?: string;
  project?: string;
  cluster?: string;
  /** the grant the change makes */
  grant: Grant;
}

/** The target of a role change: `platform`, the workspace, or `<cluster>/<project>`. */
export function roleChangeTarget(
  input: Pick<RoleChangeRequest, 'scope' | 'workspace' | 'project' | 'cluster'>,
): string {
  if (input.scope === 'platform') return 'platform';
  if (input.scope === 'workspace') return input.workspace ?? '';
  return projectTarget(input.cluster, input.project ?? '');
}

export function planRoleChange(input: RoleChangeRequest): PlanResult<RoleChangePlan> {
  const problems: Problem[] = [...checkUsername(typeof input.username === 'string' ? input.username : '')];
  if (input.cluster !== undefined) problems.push(...checkClusterName(input.cluster));
  let role = '';
  let roleKey = '';
  switch (input.scope) {
    case 'platform': {
      const parsed = parseGlobalRole(input.role);
      if (parsed.ok) role = roleKey = parsed.role;
      else problems.push({ field: 'role', message: parsed.reason });
      break;
    }
    case 'workspace': {
      if (!input.workspace) {
        problems.push({ field: 'workspace', message: 'is required for a workspace role' });
        break;
      }
      problems.push(...checkWorkspaceName(input.workspace));
      const parsed = parseWorkspaceRole(input.workspace, input.role);
      if (parsed.ok) {
        role = workspaceRoleName(input.workspace, parsed.role);
        roleKey = parsed.role;
      } else problems.push({ field: 'role', message: parsed.reason });
      break;
    }
    case 'project': {
      if (!input.project) {
        problems.push({ field: 'project', message: 'is required for a project role' });
        break;
      }
      problems.push(...checkProjectName(input.project));
      const parsed = parseProjectRole(input.role);
      if (parsed.ok) role = roleKey = parsed.role;
      else problems.push({ field: 'role', message: parsed.reason });
      break;
    }
    default:
      problems.push({
        field: 'scope',
        message: `${quote(String(input.scope))} must be platform, workspace or project`,
      });
  }
  if (input.scope === 'project' && !input.workspace)
    problems.push({ field: 'workspace', message: 'is required for a project role: its admins decide who joins' });
  if (problems.length > 0) return { ok: false, problems };
  const target = roleChangeTarget(input);
  const grant: Grant = {
    scope: input.scope,
    role: roleKey,
    target,
    ...(input.workspace ? { workspace: input.workspace } : {}),
  };
  return {
    ok: true,
    plan: {
      username: input.username,
      scope: input.scope,
      role,
      roleKey,
      target,
      workspace: input.workspace,
      project: input.project,
      cluster: input.cluster,
      grant,
    },
  };
}

/** upgrade, downgrade or lateral, by the built-in privilege order of the scope. */
export function changeDirection(
  scope: Scope,
  fromKey: string | undefined,
  toKey: string,
): 'grant' | 'upgrade' | 'downgrade' | 'unchanged' {
  if (fromKey === undefined) return 'grant';
  if (fromKey === toKey) return 'unchanged';
  return rankOf(scope, toKey) > rankOf(scope, fromKey) ? 'upgrade' : 'downgrade';
}

// ---- comparing two requests for the same person -------------------------------------------------

/**
 * What a request asks, field by field, after defaults: two requests are the same when these agree.
 * Sealed values differ on every seal, so only whether a password is set counts; the source does not.
 */
export function onboardingFields(plan: OnboardingPlan): Record<string, string> {
  const list = (values: string[]) => values.join(', ');
  const workspaces = [...plan.workspaces].sort((a, b) => a.name.localeCompare(b.name));
  const projects = [...plan.projects].sort((a, b) =>
    projectTarget(a.cluster, a.name).localeCompare(projectTarget(b.cluster, b.name)),
  );
  return {
    username: plan.username,
    email: plan.email.toLowerCase(),
    password: plan.sealedPassword ? 'set' : 'none',
    globalRole: plan.globalRole,
    workspace: list(workspaces.map((w) => w.name)),
    workspaceRole: list(workspaces.map((w) => w.role)),
    createWorkspace: list(workspaces.map((w) => String(w.create))),
    project: list(projects.map((p) => p.name)),
    projectRole: list(projects.map((p) => p.role)),
    createProject: list(projects.map((p) => String(p.create))),
    cluster: list(projects.map((p) => p.cluster ?? '')),
    ...(projects.length > 1 ? { projectWorkspace: list(projects.map((p) => p.workspace)) } : {}),
  };
}

/**
 * What a requester's proof is bound to: the request's fields and, exactly, the sealed password and the batch,
 * so that a proof copied from history cannot carry someone else's password or label.
 */
export function onboardingProofFields(plan: OnboardingPlan, batchId: string | undefined): Record<string, string> {
  return { ...onboardingFields(plan), sealedPassword: plan.sealedPassword ?? '', batchId: batchId ?? '' };
}

export function roleChangeFields(plan: RoleChangePlan): Record<string, string> {
  return {
    username: plan.username,
    scope: plan.scope,
    role: plan.role,
    workspace: plan.workspace ?? '',
    project: plan.project ?? '',
    cluster: plan.cluster ?? '',
  };
}

export interface RequestDifference {
  field: string;
  running: string;
  asked: string;
}

export function requestDifferences(
  running: Record<string, string>,
  asked: Record<string, string>,
): RequestDifference[] {
  return Object.keys({ ...running, ...asked })
    .filter((field) => (running[field] ?? '') !== (asked[field] ?? ''))
    .map((field) => ({ field, running: running[field] || '(none)', asked: asked[field] || '(none)' }));
}
