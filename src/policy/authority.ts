import type { Grant } from './plan.js';
import { isElevated, type WorkerPolicy } from './worker-policy.js';

/**
 * What a person may grant by KubeSphere's own rules, as read by the worker's account: a platform-admin
 * may grant anything; a workspace's admin may place people in that workspace and its projects.
 */
export interface Authority {
  username: string;
  platformAdmin: boolean;
  /** workspaces whose `<ws>-admin` role this person holds */
  workspaceAdminOf: string[];
  /** an HR delivery: the worker's mapping lets it create users as platform-regular (nothing more on the platform) */
  createsRegularUsers?: boolean;
}

export function covers(authority: Authority, grant: Grant): boolean {
  if (authority.platformAdmin) return true;
  if (grant.scope === 'platform') return authority.createsRegularUsers === true && grant.role === 'platform-regular';
  return grant.workspace !== undefined && authority.workspaceAdminOf.includes(grant.workspace);
}

/** Why a grant waits for an approval; absent when the requester may make it themselves. */
export type ApprovalReason = 'elevated role' | 'beyond the requester' | 'changes an elevated role';

export interface PendingGrant extends Grant {
  why: ApprovalReason;
}

/**
 * The grants that wait for an approval: every elevated one (the worker's list, never below
 * platform-admin), and every one the requester could not make in KubeSphere themselves.
 */
export function grantsNeedingApproval(grants: Grant[], policy: WorkerPolicy, requester: Authority): PendingGrant[] {
  const pending: PendingGrant[] = [];
  for (const grant of grants) {
    if (isElevated(policy, grant.scope, grant.role)) pending.push({ ...grant, why: 'elevated role' });
    else if (!covers(requester, grant)) pending.push({ ...grant, why: 'beyond the requester' });
  }
  return pending;
}

/**
 * What an HR delivery may ask without an approval: the worker's own placement mapping says which workspaces HR
 * places people in (as least privilege); anything beyond them, and anything elevated, waits for an approver.
 */
export function hrAuthority(vendor: string, mappedWorkspaces: string[]): Authority {
  return {
    username: `hr:${vendor}`,
    platformAdmin: false,
    workspaceAdminOf: mappedWorkspaces,
    createsRegularUsers: true,
  };
}

/** The workspaces whose admin role matters for these grants (read once per request). */
export function workspacesOf(grants: Grant[]): string[] {
  return [...new Set(grants.flatMap((g) => (g.workspace ? [g.workspace] : [])))];
}

export function describeGrant(grant: Grant): string {
  return `${grant.scope}:${grant.role} on ${grant.target}`;
}
