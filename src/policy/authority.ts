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
  /**
   * An HR delivery: exactly these grants (`scope:role:target`), what the worker's own mapping gives the hire's
   * department and team; anything else waits for an approver.
   */
  allowedGrants?: string[];
}

export function covers(authority: Authority, grant: Grant): boolean {
  if (authority.platformAdmin) return true;
  if (authority.allowedGrants) return authority.allowedGrants.includes(grantKey(grant));
  if (grant.scope === 'platform') return false;
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
 * What an HR delivery may ask without an approval: what the worker's own placement mapping gives that hire's
 * department and team (as least privilege as the mapping says). Anything else — an explicit workspace or role the
 * mapping does not give, anything elevated — waits for an approver.
 */
export function hrAuthority(vendor: string, mappedGrants: Grant[]): Authority {
  return {
    username: `hr:${vendor}`,
    platformAdmin: false,
    workspaceAdminOf: [],
    allowedGrants: mappedGrants.map(grantKey),
  };
}

export function grantKey(grant: Grant): string {
  return `${grant.scope}:${grant.role}:${grant.target}`;
}

/** The workspaces whose admin role matters for these grants (read once per request). */
export function workspacesOf(grants: Grant[]): string[] {
  return [...new Set(grants.flatMap((g) => (g.workspace ? [g.workspace] : [])))];
}

export function describeGrant(grant: Grant): string {
  return `${grant.scope}:${grant.role} on ${grant.target}`;
}
