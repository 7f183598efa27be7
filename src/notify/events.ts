import { z } from 'zod';

/**
 * What a notification says, in two halves: what a workflow passes to the `notify` activity (plain JSON, the
 * fields it already holds: its state or a batch's progress may be passed whole, the schemas below keep only what
 * they name), and the Standard Webhooks body `{ type, timestamp, data }` built from those named fields alone.
 * So a password, a sealed value, a token or an email can only reach a receiver through a field written here,
 * and none is. Sandbox-safe (zod only): workflows may import it.
 */

export const NOTIFY_EVENT_TYPES = [
  'approval.awaiting',
  'approval.expiring',
  'onboarding.failed',
  'batch.paused',
  'batch.finished',
] as const;
export type NotifyEventType = (typeof NOTIFY_EVENT_TYPES)[number];

const MAX_MESSAGE = 1000;
const MAX_GRANTS = 50;

// Failure messages can quote an email (a mismatch names both) or, in a bug, a sealed value: never sent on.
const EMAIL = /[^\s@"'<>()[\],;:]+@[^\s@"'<>()[\],;:]+\.[A-Za-z]{2,}/g;
const SEALED = /ks-sealed:v\d+:[A-Za-z0-9+/=_:.-]*/g;

/** Free text bound for a receiver: emails and sealed values replaced, at most `max` characters. */
export function redact(text: string, max = MAX_MESSAGE): string {
  const clean = text.replace(SEALED, '<sealed>').replace(EMAIL, '<email>');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

// Inputs are lenient where strictness would lose a notice (long text is cut, not refused) and strict where a
// missing field means the caller passed the wrong thing.
const name = (max = 253) => z.string().min(1).max(max);
const freeText = z.string().transform((text) => redact(text));
const count = z.number().int().nonnegative().default(0);
/** what tells two notices of one type and run apart (default: the activity's id, stable across its retries) */
const key = z
  .string()
  .regex(/^[A-Za-z0-9._:/-]{1,128}$/, 'must be 1–128 letters, digits, ".", "_", ":", "/" or "-"')
  .optional();

const grantInput = z.object({
  scope: name(32),
  role: name(128),
  target: name(300),
  workspace: name().optional(),
  why: name(64).optional(),
});

const approvalInput = z.object({
  type: z.enum(['approval.awaiting', 'approval.expiring']),
  key,
  username: name(),
  lifecycle: name(32).default('awaiting-approval'),
  requestedBy: name().optional(),
  approval: z.object({
    grants: z.array(grantInput).min(1).max(MAX_GRANTS),
    deadline: z.iso.datetime({ offset: true }),
  }),
});

const failedInput = z.object({
  type: z.literal('onboarding.failed'),
  key,
  /** absent for a run that failed before it knew whom it was for (an HR delivery that names no one readable) */
  username: name().optional(),
  lifecycle: name(32).default('failed'),
  error: z.object({ type: name(128).catch('Error'), message: freeText }),
});

const batchInput = z.object({
  type: z.enum(['batch.paused', 'batch.finished']),
  key,
  batchId: name(64),
  lifecycle: name(32),
  reason: freeText.optional(),
  people: count,
  rows: count,
  started: count,
  running: count,
  awaitingApproval: count,
  done: count,
  failed: count,
  notStarted: count,
  skipped: count,
});

export const notifyInputSchema = z.discriminatedUnion('type', [approvalInput, failedInput, batchInput]);
/**
 * The `notify` activity's input. Spreading what the workflow holds is fine: `{ type: 'approval.awaiting',
 * ...state }` for an OnboardingState, `{ type: 'batch.paused', ...progress }` for a BatchProgress.
 */
export type NotifyInput = z.input<typeof notifyInputSchema>;

// The body: strict, so a field not written here fails the test suite instead of reaching a receiver.
const origin = {
  workflowId: z.string(),
  runId: z.string(),
  namespace: z.string(),
  /** the run in the Temporal Web UI, when the worker knows the UI's address */
  webUi: z.url().optional(),
};

const grant = z.strictObject({
  scope: z.string(),
  role: z.string(),
  target: z.string(),
  workspace: z.string().optional(),
  why: z.string().optional(),
});

export const approvalDataSchema = z.strictObject({
  ...origin,
  username: z.string(),
  lifecycle: z.string(),
  requestedBy: z.string().optional(),
  grants: z.array(grant),
  deadline: z.iso.datetime(),
  approveCommand: z.string(),
  rejectCommand: z.string(),
});

export const failedDataSchema = z.strictObject({
  ...origin,
  username: z.string().optional(),
  lifecycle: z.string(),
  error: z.strictObject({ type: z.string(), message: z.string() }),
});

export const batchCountsSchema = z.strictObject({
  people: z.number(),
  rows: z.number(),
  started: z.number(),
  running: z.number(),
  awaitingApproval: z.number(),
  done: z.number(),
  failed: z.number(),
  notStarted: z.number(),
  skipped: z.number(),
});

export const batchDataSchema = z.strictObject({
  ...origin,
  batchId: z.string(),
  lifecycle: z.string(),
  reason: z.string().optional(),
  counts: batchCountsSchema,
});

const envelope = <T extends z.ZodType, D extends z.ZodType>(type: T, data: D) =>
  z.strictObject({ type, timestamp: z.iso.datetime(), data });

export const notificationSchema = z.discriminatedUnion('type', [
  envelope(z.enum(['approval.awaiting', 'approval.expiring']), approvalDataSchema),
  envelope(z.literal('onboarding.failed'), failedDataSchema),
  envelope(z.enum(['batch.paused', 'batch.finished']), batchDataSchema),
]);
export type Notification = z.infer<typeof notificationSchema>;

/** Where the event happened, from the activity's own context (never from the workflow's input). */
export interface EventOrigin {
  workflowId: string;
  runId: string;
  namespace: string;
  /** when the event happened: the same for every retry, so a retried body is byte-identical */
  occurredAt: Date;
  webUiUrl?: string;
}

/** The body, built field by field from a checked input: nothing is copied wholesale. */
export function buildNotification(input: z.output<typeof notifyInputSchema>, at: EventOrigin): Notification {
  const base = {
    workflowId: at.workflowId,
    runId: at.runId,
    namespace: at.namespace,
    ...(at.webUiUrl ? { webUi: runLink(at.webUiUrl, at.namespace, at.workflowId, at.runId) } : {}),
  };
  const timestamp = at.occurredAt.toISOString();
  switch (input.type) {
    case 'approval.awaiting':
    case 'approval.expiring':
      return notificationSchema.parse({
        type: input.type,
        timestamp,
        data: {
          ...base,
          username: input.username,
          lifecycle: input.lifecycle,
          ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
          grants: input.approval.grants.map((g) => ({
            scope: g.scope,
            role: g.role,
            target: g.target,
            ...(g.workspace ? { workspace: g.workspace } : {}),
            ...(g.why ? { why: g.why } : {}),
          })),
          deadline: new Date(input.approval.deadline).toISOString(),
          approveCommand: `ks-onboard approve ${shellWord(at.workflowId)} --reason "…"`,
          rejectCommand: `ks-onboard reject ${shellWord(at.workflowId)} --reason "…"`,
        },
      });
    case 'onboarding.failed':
      return notificationSchema.parse({
        type: input.type,
        timestamp,
        data: {
          ...base,
          ...(input.username ? { username: input.username } : {}),
          lifecycle: input.lifecycle,
          error: { type: input.error.type, message: input.error.message },
        },
      });
    case 'batch.paused':
    case 'batch.finished':
      return notificationSchema.parse({
        type: input.type,
        timestamp,
        data: {
          ...base,
          batchId: input.batchId,
          lifecycle: input.lifecycle,
          ...(input.reason ? { reason: input.reason } : {}),
          counts: {
            people: input.people,
            rows: input.rows,
            started: input.started,
            running: input.running,
            awaitingApproval: input.awaitingApproval,
            done: input.done,
            failed: input.failed,
            notStarted: input.notStarted,
            skipped: input.skipped,
          },
        },
      });
  }
}

/** The run's page in the Temporal Web UI (the same path the UI itself links to). */
export function runLink(base: string, namespace: string, workflowId: string, runId: string): string {
  return `${base.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
}

// Workflow ids are ours and safe to paste; a deployment prefix could still hold something a shell reads.
function shellWord(word: string): string {
  return /^[A-Za-z0-9._/:@-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
