import { z } from 'zod';
import { redact } from '../notify/events.js';

/**
 * The audit trail's events (docs/observability.md, "Audit trail"), in two halves like a notification: what a
 * workflow passes to the worker's `audit` local activity (the fields it already holds: its steps, its grants, its
 * approval state, parsed leniently here, keeping only what is named), and the versioned line the worker writes,
 * built from those named fields alone and from the activity's own context (workflow id, run id, type). So a
 * password, a sealed value, a proof or a token can reach the trail only through a field written here, and none is;
 * emails are not written either (the username is; free text is redacted).
 *
 * The schema is stable: a field may be added in `ks-onboard.audit/v1`, never renamed, retyped or removed; that
 * needs `v2`.
 */
export const AUDIT_SCHEMA = 'ks-onboard.audit/v1';

export const AUDIT_EVENT_TYPES = [
  /** the requester was verified and the worker's policy applied: what is asked, and what waits for an approval */
  'request.accepted',
  /** refused before any change (invalid, protected, a proof that does not hold, an HR delivery that does not) */
  'request.refused',
  'approval.approved',
  'approval.rejected',
  /** the deadline passed without a decision */
  'approval.expired',
  /** every step done: each grant made or kept, each resource created or found */
  'request.completed',
  /** stopped by a failure after it was accepted (or before, when KubeSphere could not be asked): what was done */
  'request.failed',
  /** cancelled while it waited or between steps: what was done before */
  'request.cancelled',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

const MAX_ITEMS = 100;
const name = (max = 253) => z.string().max(max);
const optionalText = (max: number) =>
  z
    .string()
    .optional()
    .transform((text) => (text === undefined ? undefined : redact(text, max)));
const time = z.string().max(40);

const grantInput = z.object({
  scope: name(32),
  role: name(),
  target: name(300),
  /** why it waits for an approval (PendingGrant.why) */
  why: name(64).optional(),
});

const stepInput = z.object({
  step: name(32),
  target: name(300),
  outcome: name(32),
  requestedRole: name().optional(),
  existingRole: name().optional(),
});

const approvalInput = z.object({
  grants: z.array(grantInput).max(MAX_ITEMS).default([]),
  deadline: time.optional(),
  /** when the request began to wait (workflow time) */
  requestedAt: time.optional(),
  decision: z.object({ approve: z.boolean(), by: name(), reason: optionalText(1000), at: time }).optional(),
  expired: z.boolean().optional(),
});

/** What a workflow passes to `audit`: lenient (extra fields are dropped), strict where a field means something. */
export const auditInputSchema = z.object({
  /** the event's number within its run (1, 2, …): with the run's ids, the event's stable id */
  seq: z.number().int().positive(),
  /** workflow time of the event */
  time,
  type: z.enum(AUDIT_EVENT_TYPES),
  /** the person the request is for, as the input names them (free text when the input is invalid: redacted) */
  subject: z.string().transform((text) => redact(text, 253)),
  /** the requester as the worker verified them (`hr:<vendor>` for an HR delivery) */
  requestedBy: name().optional(),
  source: z
    .object({
      kind: z.enum(['requester', 'batch', 'hr']),
      vendor: name(20).optional(),
      eventId: name(200).optional(),
    })
    .optional(),
  batchId: name(100).optional(),
  /** what the request asks (Grant[]), with `why` on those that wait for an approval */
  grants: z.array(grantInput).max(MAX_ITEMS).optional(),
  /** the steps as the workflow reports them: outcomes of grants and resources */
  steps: z.array(stepInput).max(MAX_ITEMS).optional(),
  approval: approvalInput.optional(),
  error: z.object({ type: name(100), message: optionalText(1000) }).optional(),
});
export type AuditInput = z.input<typeof auditInputSchema>;

/** One grant in an event: a role binding asked, made or kept. */
export interface AuditGrant {
  scope: string;
  /** what the role is on: `platform`, a workspace, or `<cluster>/<project>` */
  target: string;
  /** the role's key within its scope (`platform-regular`, `admin`, `viewer`…) */
  role: string;
  /** why it waits for an approval (request.accepted only) */
  approval?: string;
  /** closing events: created | existed | kept-existing-role | updated | unchanged | skipped | failed */
  outcome?: string;
  /** closing events: the role as KubeSphere names it (`team-a-regular`) */
  kubesphereRole?: string;
  /** closing events: the role found there (KubeSphere's name), when it differs from the role asked: kept, or replaced */
  previousRole?: string;
}

export interface AuditResource {
  kind: 'user' | 'workspace' | 'project';
  name: string;
  outcome: string;
}

/** A line of the audit trail, `ks-onboard.audit/v1`. */
export interface AuditEvent {
  schema: typeof AUDIT_SCHEMA;
  /** `<workflowId>/<runId>/<seq>`: the same for every write of one event (a retried write may repeat a line) */
  id: string;
  type: AuditEventType;
  /** accepted | refused | approved | rejected | expired | completed | failed | cancelled */
  decision: string;
  /** when it happened, workflow time (ISO 8601, UTC) */
  time: string;
  /** when the worker wrote it */
  recordedAt: string;
  workflow: { id: string; runId: string; type: string; namespace: string; taskQueue: string };
  request: 'onboarding' | 'role-change' | 'other';
  /** the person the request is for */
  subject: string;
  /** who did what this event records: the requester (request.*), the approver (approval.*); null when unknown */
  who: string | null;
  /** the requester as the worker verified them, once known */
  requestedBy?: string;
  /** `cli`, `batch`, `hr:<vendor>` */
  source?: string;
  batchId?: string;
  /** an HR delivery's `<vendor>:<event id>` */
  hrEvent?: string;
  grants?: AuditGrant[];
  resources?: AuditResource[];
  approval?: {
    grants: AuditGrant[];
    requestedAt?: string;
    deadline?: string;
    decidedBy?: string;
    decidedAt?: string;
    reason?: string;
    /** from the request to the decision (or the deadline) */
    waitedSeconds?: number;
  };
  error?: { type: string; message?: string };
}

export interface AuditContext {
  workflowId: string;
  runId: string;
  workflowType: string;
  namespace: string;
  taskQueue: string;
}

const REQUEST_KIND: Record<string, AuditEvent['request']> = { onboardUser: 'onboarding', changeRole: 'role-change' };

const RESOURCE_STEPS: Record<string, AuditResource['kind']> = {
  user: 'user',
  workspace: 'workspace',
  project: 'project',
};
/** The step that makes a grant of each scope (an onboarding's platform role is set with its user). */
const GRANT_STEP: Record<string, string> = {
  platform: 'user',
  workspace: 'workspace-member',
  project: 'project-member',
};

type ParsedInput = z.output<typeof auditInputSchema>;

/** The line for an event, from the workflow's input (already parsed) and the activity's own context. */
export function auditEventOf(input: ParsedInput, context: AuditContext, recordedAt: Date): AuditEvent {
  const decision = input.type.slice(input.type.indexOf('.') + 1);
  const steps = input.steps ?? [];
  const closing = ['request.completed', 'request.failed', 'request.cancelled'].includes(input.type);
  const source = sourceOf(input.source);
  const who = input.type.startsWith('approval.')
    ? (input.approval?.decision?.by ?? null)
    : input.type === 'request.cancelled'
      ? null
      : (input.requestedBy ?? null);
  const event: AuditEvent = {
    schema: AUDIT_SCHEMA,
    id: `${context.workflowId}/${context.runId}/${input.seq}`,
    type: input.type,
    decision,
    time: input.time,
    recordedAt: recordedAt.toISOString(),
    workflow: {
      id: context.workflowId,
      runId: context.runId,
      type: context.workflowType,
      namespace: context.namespace,
      taskQueue: context.taskQueue,
    },
    request: REQUEST_KIND[context.workflowType] ?? 'other',
    subject: input.subject,
    who,
    ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
    ...(source ? { source } : {}),
    ...(input.batchId ? { batchId: input.batchId } : {}),
    ...(input.source?.kind === 'hr' && input.source.eventId ? { hrEvent: input.source.eventId } : {}),
  };
  if (input.grants)
    event.grants = input.grants.map((grant) => (closing ? grantOutcome(grant, steps) : requestedGrant(grant)));
  if (closing) {
    const resources = steps.flatMap((step): AuditResource[] => {
      const kind = RESOURCE_STEPS[step.step];
      return kind && step.target !== '-' ? [{ kind, name: step.target, outcome: stepOutcome(step.outcome) }] : [];
    });
    if (resources.length) event.resources = resources;
  }
  if (input.approval && (input.type.startsWith('approval.') || input.type === 'request.accepted' || closing)) {
    const { approval } = input;
    const end = approval.decision?.at ?? (approval.expired ? (approval.deadline ?? input.time) : undefined);
    const waited = end && approval.requestedAt ? (Date.parse(end) - Date.parse(approval.requestedAt)) / 1000 : NaN;
    event.approval = {
      grants: approval.grants.map(requestedGrant),
      ...(approval.requestedAt ? { requestedAt: approval.requestedAt } : {}),
      ...(approval.deadline ? { deadline: approval.deadline } : {}),
      ...(approval.decision ? { decidedBy: approval.decision.by, decidedAt: approval.decision.at } : {}),
      ...(approval.decision?.reason ? { reason: approval.decision.reason } : {}),
      ...(Number.isFinite(waited) && waited >= 0 ? { waitedSeconds: Math.round(waited) } : {}),
    };
  }
  if (input.error)
    event.error = { type: input.error.type, ...(input.error.message ? { message: input.error.message } : {}) };
  return event;
}

function sourceOf(source: ParsedInput['source']): string | undefined {
  if (!source) return undefined;
  if (source.kind === 'requester') return 'cli';
  if (source.kind === 'batch') return 'batch';
  return source.vendor && /^[a-z]{1,20}$/.test(source.vendor) ? `hr:${source.vendor}` : 'hr';
}

function requestedGrant(grant: z.output<typeof grantInput>): AuditGrant {
  return {
    scope: grant.scope,
    target: grant.target,
    role: grant.role,
    ...(grant.why ? { approval: grant.why } : {}),
  };
}

/** A step still pending when the request ended was never run. */
function stepOutcome(outcome: string): string {
  return outcome === 'pending' ? 'skipped' : outcome;
}

/** A grant with what its step did: the role change's one step, or the step of its scope and target. */
function grantOutcome(grant: z.output<typeof grantInput>, steps: z.output<typeof stepInput>[]): AuditGrant {
  const step =
    steps.find((s) => s.step === 'role') ??
    steps.find((s) => s.step === GRANT_STEP[grant.scope] && (grant.scope === 'platform' || s.target === grant.target));
  return {
    scope: grant.scope,
    target: grant.target,
    role: grant.role,
    outcome: step ? stepOutcome(step.outcome) : 'skipped',
    ...(step?.requestedRole ? { kubesphereRole: step.requestedRole } : {}),
    ...(step?.existingRole && step.existingRole !== step.requestedRole ? { previousRole: step.existingRole } : {}),
  };
}
