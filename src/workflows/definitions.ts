import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { StepOutcome } from '../activities/kubesphere.js';
import type { Grant } from '../policy/plan.js';

/** Keyword search attributes; the dev server and the worker register them (src/temporal/search-attributes.ts). */
export const SA = {
  username: defineSearchAttributeKey('OnboardingUsername', SearchAttributeType.KEYWORD),
  workspace: defineSearchAttributeKey('OnboardingWorkspace', SearchAttributeType.KEYWORD),
  batchId: defineSearchAttributeKey('OnboardingBatchId', SearchAttributeType.KEYWORD),
  state: defineSearchAttributeKey('OnboardingState', SearchAttributeType.KEYWORD),
};
export const SEARCH_ATTRIBUTE_KEYS = Object.values(SA);

export type Lifecycle = 'validating' | 'awaiting-approval' | 'running' | 'done' | 'failed';
export type StepName = 'user' | 'workspace' | 'project' | 'workspace-member' | 'project-member' | 'role';

export interface StepReport {
  step: StepName;
  target: string;
  outcome: StepOutcome | 'pending' | 'skipped' | 'failed';
  existingRole?: string;
  requestedRole?: string;
  error?: { type: string; message: string };
}

export interface DecisionInput {
  approve: boolean;
  /** who decided: required, recorded in history */
  by: string;
  reason?: string;
}
export interface Decision extends DecisionInput {
  at: string;
}

export interface ApprovalState {
  grants: Grant[];
  requestedBy?: string;
  deadline: string;
  decision?: Decision;
}

export interface OnboardingState {
  lifecycle: Lifecycle;
  username: string;
  steps: StepReport[];
  approval?: ApprovalState;
  error?: { type: string; message: string };
}

export interface ChangeRoleResult {
  username: string;
  scope: string;
  target: string;
  from: string;
  to: string;
  direction: 'grant' | 'upgrade' | 'downgrade' | 'unchanged';
  approval?: ApprovalState;
}

/** Approve or reject a pending elevated grant; the validator refuses it when nothing is pending. */
export const decideUpdate = defineUpdate<ApprovalState, [DecisionInput]>('decide');
/** The same decision, fire-and-forget (for tools that can only signal). */
export const decideSignal = defineSignal<[DecisionInput]>('decide');
export const stateQuery = defineQuery<OnboardingState>('state');

export const WORKFLOW_ID = {
  onboard: (username: string) => `onboard-${username}`,
  changeRole: (username: string, scope: string, target: string) =>
    `change-role-${username}-${scope}-${target.replace(/\//g, '.')}`,
};
