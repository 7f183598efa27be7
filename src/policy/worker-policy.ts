import { quote } from './names.js';
import type { Scope } from './roles.js';

/**
 * What the worker decides, whoever starts a workflow: which grants need an approval, for how long one
 * may wait, which workspaces nobody is placed in, and which account the worker itself acts as. A workflow
 * obtains it from its worker at start (a local activity, so it is recorded and replays); nothing in a
 * workflow's input can change it.
 */
export interface WorkerPolicy {
  /** `<scope>:<role>` entries; always contains the floor */
  elevatedRoles: string[];
  approvalTimeoutMs: number;
  protectedWorkspaces: string[];
  /** the KubeSphere account the worker acts as: never changed, never an approver */
  workerAccount?: string;
  /** every workflow id of this deployment starts with it (KS_ONBOARD_WORKFLOW_ID_PREFIX) */
  workflowIdPrefix?: string;
  /** outbound notifications (src/notify): absent when off, so a workflow schedules no notice at all */
  notify?: { events: string[]; expiryWarningMs: number };
  /**
   * workflows record their lifecycle events with the worker's `audit` local activity (the audit trail and the
   * request metrics, src/audit): absent when off, so a workflow records no marker at all
   */
  audit?: boolean;
}

/** A grant that needs an explicit approval, written `<scope>:<role>` (e.g. `workspace:admin`). */
export type ElevatedRole = `${Scope}:${string}`;

/** Limits of a configured policy: it travels in every batch row's input (src/policy/requests.ts). */
export const MAX_ELEVATED_ROLES = 100;
export const MAX_PROTECTED_WORKSPACES = 1000;

/** No configuration can remove this: making someone a platform-admin always waits for an approval. */
export const ELEVATED_FLOOR: readonly ElevatedRole[] = ['platform:platform-admin'];

export const DEFAULT_ELEVATED_ROLES: readonly ElevatedRole[] = [
  'platform:platform-admin',
  'platform:platform-self-provisioner',
  'workspace:admin',
  'workspace:self-provisioner',
  'project:admin',
  'project:operator',
];

/** KubeSphere's own workspace for system components; nobody is onboarded into it. */
export const ALWAYS_PROTECTED_WORKSPACES: readonly string[] = ['system-workspace'];

const ENTRY = /^(platform|workspace|project):[a-z-]+$/;

/** Checks a configured list and adds the floor; an empty list is an error, never "nothing is elevated". */
export function elevatedRolesFrom(
  entries: readonly string[],
): { ok: true; roles: string[] } | { ok: false; reason: string } {
  if (entries.length === 0)
    return { ok: false, reason: 'must list at least one <scope>:<role> (platform:platform-admin is always included)' };
  if (entries.length > MAX_ELEVATED_ROLES)
    return { ok: false, reason: `must list at most ${MAX_ELEVATED_ROLES} roles` };
  const bad = entries.filter((entry) => !ENTRY.test(entry));
  if (bad.length)
    return {
      ok: false,
      reason: `${bad.map(quote).join(', ')} must look like <platform|workspace|project>:<role>`,
    };
  return { ok: true, roles: [...new Set([...ELEVATED_FLOOR, ...entries])] };
}

export function isElevated(policy: Pick<WorkerPolicy, 'elevatedRoles'>, scope: Scope, roleKey: string): boolean {
  return policy.elevatedRoles.includes(`${scope}:${roleKey}`) || ELEVATED_FLOOR.includes(`${scope}:${roleKey}`);
}

export function isProtectedWorkspace(policy: Pick<WorkerPolicy, 'protectedWorkspaces'>, workspace: string): boolean {
  return ALWAYS_PROTECTED_WORKSPACES.includes(workspace) || policy.protectedWorkspaces.includes(workspace);
}
