import { z } from 'zod';
import { HR_VENDORS } from './hr-vendors.js';
import type { Problem } from './names.js';
import { MAX_ELEVATED_ROLES, MAX_PROTECTED_WORKSPACES } from './worker-policy.js';

/**
 * The inputs of the workflows, checked with one schema each at the start of the workflow (and by the
 * CLI before it starts one). Strict: an unknown field is refused, so nothing a starter adds (a timeout,
 * an approver) is ever taken into account; a batch row's `policy` is its batch's, applied only as that batch's
 * child (src/workflows/session.ts). Pure: runs inside workflows.
 */
/** A sealed value (password ~0.5 KB, proof ~1–2 KB) is never near this; anything larger only fills history. */
export const MAX_SEALED_LENGTH = 16_384;
const sealed = z
  .string({ error: 'must be a sealed value (ks-sealed:…)' })
  .startsWith('ks-sealed:', 'must be a sealed value (ks-sealed:…)')
  .max(MAX_SEALED_LENGTH, 'is too long');
/** A person's placements in one request; a batch row never needs more. */
export const MAX_PLACEMENTS = 50;
const text = (max = 253) => z.string({ error: 'must be text' }).max(max, `must be at most ${max} characters`);

/**
 * Who proposes a request. A requester proves who they are with their own KubeSphere login, sealed for
 * the workers and bound to the request; the worker reads what KubeSphere lets them do.
 */
export const requestSourceSchema = z.strictObject({
  kind: z.literal('requester', { error: 'must be "requester"' }),
  proof: sealed,
});

/**
 * A row of a bulk import, started by its batch (`import-<batchId>`) as a child: the batch verified the
 * requester with KubeSphere at `verifiedAt` and already ensured the shared workspaces and projects. Taken
 * only from the batch itself: the row checks that its parent is that batch (Temporal records the parent).
 */
export const batchSourceSchema = z
  .strictObject({
    kind: z.literal('batch'),
    requester: z.strictObject({
      username: text(),
      platformAdmin: z.boolean(),
      workspaceAdminOf: z.array(text()).max(MAX_PLACEMENTS),
    }),
    verifiedAt: text(40),
    /** what the batch ensured, by `workspace:<name>` / `project:<cluster>/<name>`: those steps are not repeated */
    ensured: z.record(text(), z.enum(['created', 'existed'])).optional(),
    /**
     * How the row runs, set by the batch that starts it (only its batch may start a batch row): 2 runs its KubeSphere
     * steps as local activities and tells its batch of its end only after an approval wait (the batch reads the end
     * from the child's own close otherwise). 3 also applies the worker's policy its batch read (`policy`) and, when it
     * waits for no approval, writes one audit event, at its end. Absent: rows of batches started before these.
     */
    protocol: z.union([z.literal(2), z.literal(3)]).optional(),
    /**
     * The worker's policy as the batch read it (protocol 3; read again every 5 minutes): the row applies it only as
     * its batch's child and within 45 minutes of `verifiedAt`, and reads the policy itself otherwise.
     */
    policy: z
      .strictObject({
        elevatedRoles: z.array(text(100)).max(MAX_ELEVATED_ROLES + 1), // the floor added
        approvalTimeoutMs: z.number(),
        protectedWorkspaces: z.array(text()).max(MAX_PROTECTED_WORKSPACES),
        workerAccount: text().optional(),
        workflowIdPrefix: text(100).optional(),
        notify: z.strictObject({ events: z.array(text(100)).max(50), expiryWarningMs: z.number() }).optional(),
        audit: z.boolean().optional(),
      })
      .optional(),
  })
  .refine((source) => !source.policy || source.protocol === 3, {
    message: 'comes only with protocol 3',
    path: ['policy'],
  });
export type BatchSource = z.infer<typeof batchSourceSchema>;

/** A signed HR delivery's size limit, as the intake accepts it (src/intake/server.ts). */
export const MAX_DELIVERY_BODY = 64 * 1024;

/**
 * A new hire from an HR system: the delivery exactly as received. The worker verifies its signature with its
 * own secrets, reads it (fetching the vendor's record where the webhook names only ids) and places the person
 * with its own mapping: the request must be what the delivery says, nothing else.
 */
export const hrSourceSchema = z.strictObject({
  kind: z.literal('hr'),
  vendor: z.enum(HR_VENDORS, { error: `must be one of ${HR_VENDORS.join(', ')}` }),
  /** `<vendor>:<event id>` as the intake read it; the worker reads it again from the delivery */
  eventId: text(200),
  delivery: z.strictObject({
    headers: z.record(text(64), text(4096)).refine((h) => Object.keys(h).length <= 8, 'at most 8 headers'),
    body: z.string().max(MAX_DELIVERY_BODY, 'is too long'),
  }),
  /** the intake's id of this receipt: tells the delivery that started a run from its duplicates; never compared */
  receiptId: text(64),
});
export type HrSource = z.infer<typeof hrSourceSchema>;

const onboardingSourceSchema = z.discriminatedUnion('kind', [requestSourceSchema, batchSourceSchema, hrSourceSchema], {
  error: 'must be a requester, a batch or an HR delivery',
});
export type OnboardingSource = z.infer<typeof onboardingSourceSchema>;

/**
 * Where a person is placed: a workspace with a role, optionally one of its projects with a role. A person in
 * two projects (the common migration case) has two placements. `line` is the CSV line it came from, if any:
 * a label for reports, never part of what is compared.
 */
/** What places a person, beside the workspace's name (shared by a placement and the single-placement fields). */
const placementFields = {
  workspaceRole: text().optional(),
  /** false: the workspace must already exist (default true: create it when missing) */
  createWorkspace: z.boolean({ error: 'must be true or false' }).optional(),
  project: text().optional(),
  projectRole: text().optional(),
  createProject: z.boolean({ error: 'must be true or false' }).optional(),
  /** cluster of the project; absent means the host cluster without a /clusters prefix */
  cluster: text().optional(),
};

export const placementSchema = z.strictObject({
  workspace: text(),
  ...placementFields,
  line: z.number().int().positive().optional(),
});
export type Placement = z.infer<typeof placementSchema>;

export const onboardUserInputSchema = z.strictObject({
  username: text(),
  email: text(254),
  /** the password sealed for the workers (src/codec/seal.ts); absent for users of an identity provider */
  sealedPassword: sealed.optional(),
  globalRole: text().optional(),
  /** one placement (what `onboard` sends) */
  workspace: text().optional(),
  ...placementFields,
  /** several placements; the single-placement fields above and this list are not used together */
  placements: z.array(placementSchema).max(MAX_PLACEMENTS, `at most ${MAX_PLACEMENTS} placements`).optional(),
  batchId: text(128).optional(),
  source: onboardingSourceSchema,
});
export type OnboardUserInput = z.infer<typeof onboardUserInputSchema>;

export const changeRoleInputSchema = z.strictObject({
  username: text(),
  scope: z.enum(['platform', 'workspace', 'project'], { error: 'must be platform, workspace or project' }),
  /** the new role: a platform role, a workspace role (suffix or full name) or a project role */
  role: text(),
  workspace: text().optional(),
  project: text().optional(),
  cluster: text().optional(),
  source: requestSourceSchema,
});
export type ChangeRoleInput = z.infer<typeof changeRoleInputSchema>;

export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

/** Parses a workflow input; every problem names its field. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown): Parsed<T> {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    problems: result.error.issues.map((issue) => ({
      field: issue.path.length ? issue.path.join('.') : 'input',
      message:
        issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}: refused` : issue.message,
    })),
  };
}
