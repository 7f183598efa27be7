import { eventIdForWorkflowId } from '../intake/hire-event.js';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { StepOutcome } from '../activities/kubesphere.js';
import type { PendingGrant } from '../policy/authority.js';

/**
 * Our search attributes; the dev server and the worker register them (src/temporal/search-attributes.ts).
 * A person may be placed in several workspaces, so `OnboardingWorkspace` is a KeywordList (an attribute's type
 * cannot change once registered: see the README on a dev server's data from before).
 */
export const SA = {
  username: defineSearchAttributeKey('OnboardingUsername', SearchAttributeType.KEYWORD),
  workspace: defineSearchAttributeKey('OnboardingWorkspace', SearchAttributeType.KEYWORD_LIST),
  batchId: defineSearchAttributeKey('OnboardingBatchId', SearchAttributeType.KEYWORD),
  state: defineSearchAttributeKey('OnboardingState', SearchAttributeType.KEYWORD),
  /** who proposed it: `cli`, `batch`, `hr:<vendor>` */
  source: defineSearchAttributeKey('OnboardingSource', SearchAttributeType.KEYWORD),
  /** an HR delivery's `<vendor>:<event id>`: a delivery seen before starts nothing, even after its run closed */
  eventId: defineSearchAttributeKey('OnboardingEventId', SearchAttributeType.KEYWORD),
};
export const SEARCH_ATTRIBUTE_KEYS = Object.values(SA);

export type Lifecycle =
  | 'validating'
  /** waits for the hire's start date (less the lead time) before any change */
  | 'scheduled'
  | 'awaiting-approval'
  | 'running'
  | 'done'
  | 'failed'
  /** cancelled while it waited (`ks-onboard cancel`): nothing was changed after that */
  | 'cancelled';
export type StepName = 'user' | 'workspace' | 'project' | 'workspace-member' | 'project-member' | 'role';

export interface StepReport {
  step: StepName;
  target: string;
  outcome: StepOutcome | 'pending' | 'skipped' | 'failed';
  existingRole?: string;
  requestedRole?: string;
  error?: { type: string; message: string };
  /**
   * While a step the workflow retries itself (a local activity, which never shows as a pending activity) is
   * failing: its attempts so far, the last error, when it tries again and when it gives up.
   */
  retry?: StepRetry;
}

export interface StepRetry {
  attempts: number;
  lastError: string;
  nextAttemptAt?: string;
  givesUpAt: string;
}

/** An approver's decision, as sent: the approver's identity is in the sealed proof, never a free-text name. */
export interface DecisionInput {
  approve: boolean;
  reason?: string;
  /** sealed for the workers (src/codec/proof.ts): the approver's KubeSphere login bound to this decision */
  proof: string;
}

export interface Decision {
  approve: boolean;
  /** the approver, as KubeSphere identified the proof's holder */
  by: string;
  reason?: string;
  at: string;
}

export interface ApprovalState {
  grants: PendingGrant[];
  deadline: string;
  decision?: Decision;
  /** the deadline passed without a decision */
  expired?: boolean;
}

export interface OnboardingState {
  lifecycle: Lifecycle;
  username: string;
  /** the requester, as KubeSphere identified them */
  requestedBy?: string;
  steps: StepReport[];
  approval?: ApprovalState;
  /** an HR hire: when the person is provisioned (the start date less the lead time) */
  scheduledFor?: string;
  error?: { type: string; message: string };
}

/** The final state (steps, approval, who asked) and what changed, so `status` reads it like an onboarding's. */
export interface ChangeRoleResult extends OnboardingState {
  scope: string;
  target: string;
  from: string;
  to: string;
  direction: 'grant' | 'upgrade' | 'downgrade' | 'unchanged';
}

/** What the worker made of a proposed request: its plan, or why it refused. */
export interface RequestAnswer {
  /** the run that answered: the new one, or the one already running the same request */
  runId: string;
  lifecycle: Lifecycle;
  requestedBy?: string;
  /** the grants that wait for an approval, with why */
  approvals: PendingGrant[];
  deadline?: string;
  /** for an HR delivery: the receipt whose delivery started this run (a duplicate's differs) */
  receiptId?: string;
  scheduledFor?: string;
  error?: { type: string; message: string };
}

/**
 * Sent with the start (update-with-start) and to a running workflow with the same id: the same request
 * is answered with the worker's plan; a different one is refused, naming the difference.
 */
export const proposeUpdate = defineUpdate<RequestAnswer, [unknown]>('propose');
/** Approve or reject the pending grants, with a sealed proof of who decides (verified by the worker). */
export const decideUpdate = defineUpdate<ApprovalState, [DecisionInput]>('decide');
export const stateQuery = defineQuery<OnboardingState>('state');
/** The request a workflow runs, as its fields compare (`onboardingFields`); undefined when it is invalid. */
export const requestQuery = defineQuery<Record<string, string> | undefined>('request');

/** Where a person's request stands, sent to its watchers (its batch) when it waits for an approval and when it ends. */
export interface RowUpdate {
  workflowId: string;
  runId: string;
  username: string;
  lifecycle: Lifecycle;
  error?: { type: string; message: string };
}
export const rowUpdateSignal = defineSignal<[RowUpdate]>('rowUpdate');
/** Asks a running request to tell this workflow (a batch that found the person already in flight) how it ends. */
export const watchSignal = defineSignal<[string]>('watch');

/** The one workflow id every platform-admin demotion runs under: they run one at a time. */
export const PLATFORM_ADMIN_DEMOTION_ID = 'platform-admin-demotion';

/**
 * Workflow ids are business ids: one request per person (and per role target) at a time. A worker runs a
 * request only under its own id, with the deployment's prefix (KS_ONBOARD_WORKFLOW_ID_PREFIX).
 */
export const WORKFLOW_ID = {
  onboard: (username: string, prefix = '') => `${prefix}onboard-${username}`,
  importBatch: (batchId: string, prefix = '') => `${prefix}import-${batchId}`,
  /**
   * an HR delivery that names the hire only by ids: it finds the person, then proposes `onboard-<username>`;
   * `eventKey` is `<vendor>:<event id>`, the event id escaped so two events never share an id
   */
  hireEvent: (vendor: string, eventKey: string, prefix = '') =>
    `${prefix}hr-${vendor}-${eventIdForWorkflowId(eventKey.slice(vendor.length + 1))}`,
  /** the deployment's one switch that holds every KubeSphere write (`ks-onboard pause` / `resume`) */
  writeSwitch: (prefix = '') => `${prefix}ks-onboard-write-switch`,
  changeRole: (username: string, scope: string, target: string, prefix = '') =>
    `${prefix}change-role-${username}-${scope}-${target.replace(/\//g, '.')}`,
};
