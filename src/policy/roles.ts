import { quote } from './names.js';
/**
 * KubeSphere's built-in roles (kubesphere-api.md §10) as data. Nothing outside this catalogue is ever
 * bound: custom roles are refused before any call.
 */

export type Scope = 'platform' | 'workspace' | 'project';

export const GLOBAL_ROLES = ['platform-regular', 'platform-self-provisioner', 'platform-admin'] as const;
export const WORKSPACE_ROLES = ['viewer', 'regular', 'self-provisioner', 'admin'] as const;
export const PROJECT_ROLES = ['viewer', 'operator', 'admin'] as const;

export type GlobalRole = (typeof GLOBAL_ROLES)[number];
export type WorkspaceRoleSuffix = (typeof WORKSPACE_ROLES)[number];
export type ProjectRole = (typeof PROJECT_ROLES)[number];

export const DEFAULT_ROLES = { platform: 'platform-regular', workspace: 'regular', project: 'viewer' } as const;

/**
 * Privilege order within a scope, lowest first, used to call a change an upgrade or a downgrade.
 * platform-self-provisioner sits between regular and admin: it may create workspaces.
 */
const RANK: Record<Scope, readonly string[]> = {
  platform: GLOBAL_ROLES,
  workspace: WORKSPACE_ROLES,
  project: PROJECT_ROLES,
};

export function rankOf(scope: Scope, role: string): number {
  return RANK[scope].indexOf(role);
}

/** `<ws>-<suffix>`: the workspace role's full name as KubeSphere names it. */
export function workspaceRoleName(workspace: string, suffix: WorkspaceRoleSuffix): string {
  return `${workspace}-${suffix}`;
}

export type RoleResult<T extends string> = { ok: true; role: T } | { ok: false; reason: string };

export function parseGlobalRole(role: string): RoleResult<GlobalRole> {
  if ((GLOBAL_ROLES as readonly string[]).includes(role)) return { ok: true, role: role as GlobalRole };
  return { ok: false, reason: `${quote(role)} is not a built-in platform role (allowed: ${GLOBAL_ROLES.join(', ')})` };
}

/** Accepts `regular` or the full `<ws>-regular`; anything else (another workspace's role, a custom role) is refused. */
export function parseWorkspaceRole(workspace: string, role: string): RoleResult<WorkspaceRoleSuffix> {
  const suffix = role.startsWith(`${workspace}-`) ? role.slice(workspace.length + 1) : role;
  if ((WORKSPACE_ROLES as readonly string[]).includes(suffix)) return { ok: true, role: suffix as WorkspaceRoleSuffix };
  return {
    ok: false,
    reason: `${quote(role)} is not a built-in role of workspace ${workspace} (allowed: ${WORKSPACE_ROLES.map((r) => `${workspace}-${r}`).join(', ')})`,
  };
}

export function parseProjectRole(role: string): RoleResult<ProjectRole> {
  if ((PROJECT_ROLES as readonly string[]).includes(role)) return { ok: true, role: role as ProjectRole };
  return { ok: false, reason: `${quote(role)} is not a built-in project role (allowed: ${PROJECT_ROLES.join(', ')})` };
}
