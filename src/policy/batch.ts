import { z } from 'zod';
import { canonicalJson } from './canonical.js';
import { MAX_PLACEMENTS, MAX_SEALED_LENGTH, placementSchema, requestSourceSchema } from './requests.js';

/**
 * The inputs of a bulk import, checked by the same rules on the CLI and in the workflow. Rows travel
 * inside Temporal: a sealed password is ~540 characters and does not compress, so no input carries more
 * than MAX_PART_PEOPLE people (Temporal warns at 512 KB per payload and refuses 2 MB); a larger file is
 * several parts, each held by its own workflow until the batch takes it.
 */
export const MAX_PART_PEOPLE = 500;
/** Parts of one batch: 500 people each, so up to 500,000 people in one batch. */
export const MAX_PARTS = 1000;

const text = (max = 253) => z.string({ error: 'must be text' }).max(max, `must be at most ${max} characters`);
const line = z.number().int().positive();

/** A batch id: what its workflow id `import-<batchId>` and the OnboardingBatchId search attribute carry. */
export const BATCH_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const batchIdSchema = z
  .string({ error: 'must be text' })
  .regex(BATCH_ID, 'must be 1–64 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit');

/** One person of a batch: their rows merged (one placement a row), with the CSV lines they came from. */
export const batchPersonSchema = z.strictObject({
  username: text(),
  email: text(254),
  sealedPassword: z.string().startsWith('ks-sealed:').max(MAX_SEALED_LENGTH).optional(),
  globalRole: text().optional(),
  placements: z.array(placementSchema).max(MAX_PLACEMENTS),
  lines: z.array(line).min(1).max(MAX_PLACEMENTS),
});
export type BatchPerson = z.infer<typeof batchPersonSchema>;

/** Pauses a batch whose rows fail too often: more than `share` of the finished rows, and at least `minRows`. */
export const errorBudgetSchema = z.strictObject({
  share: z.number().min(0).max(1),
  minRows: z.number().int().min(1),
});
export type ErrorBudget = z.infer<typeof errorBudgetSchema>;
export const DEFAULT_ERROR_BUDGET: ErrorBudget = { share: 0.1, minRows: 5 };
export const DEFAULT_CONCURRENCY = 20;
export const MAX_CONCURRENCY = 200;

export const partRefSchema = z.strictObject({
  workflowId: text(300),
  /** digestOf(people) of the part: the batch takes only the rows its requester's proof covers */
  digest: text(128),
  people: z.number().int().min(1).max(MAX_PART_PEOPLE),
});
export type PartRef = z.infer<typeof partRefSchema>;

export const importBatchInputSchema = z.strictObject({
  batchId: batchIdSchema,
  /** the file's digest without its passwords (the default batch id derives from it) */
  contentDigest: text(128),
  /** the file's name, for people reading the Web UI */
  file: text(500).optional(),
  /** data rows in the file, valid or not */
  rows: z.number().int().nonnegative(),
  /** the first part's people */
  people: z.array(batchPersonSchema).max(MAX_PART_PEOPLE),
  /** the other parts, held by their own workflows */
  parts: z.array(partRefSchema).max(MAX_PARTS),
  /** invalid lines left out with --skip-invalid: reported, never started */
  skipped: z
    .array(z.strictObject({ line, message: text(1000) }))
    .max(MAX_PART_PEOPLE)
    .optional(),
  concurrency: z.number().int().min(1).max(MAX_CONCURRENCY).optional(),
  /** run the first n people alone, then wait for `resume` */
  canary: z.number().int().min(1).optional(),
  errorBudget: errorBudgetSchema.optional(),
  /** continue as new past this many history events (tests force a small one); never above 9,000 */
  continueAsNewAfter: z.number().int().min(100).max(9000).optional(),
  source: requestSourceSchema,
});
export type ImportBatchInput = z.infer<typeof importBatchInputSchema>;

/** What the requester's proof for a batch is bound to: everything the batch will do, parts included. */
export function batchProofFields(input: Omit<ImportBatchInput, 'source'>): Record<string, string> {
  return {
    batchId: input.batchId,
    contentDigest: input.contentDigest,
    rows: String(input.rows),
    // Canonical: the worker sees the rows after its schema has parsed them, which may reorder their keys.
    people: canonicalJson(input.people),
    parts: canonicalJson(input.parts),
    skipped: canonicalJson(input.skipped ?? []),
    concurrency: String(input.concurrency ?? ''),
    canary: String(input.canary ?? ''),
    errorBudget: canonicalJson(input.errorBudget ?? null),
    continueAsNewAfter: String(input.continueAsNewAfter ?? ''),
  };
}

/** The part workflows' input: rows held until their batch takes them. */
export const importPartInputSchema = z.strictObject({
  batchId: batchIdSchema,
  part: z.number().int().min(2),
  people: z.array(batchPersonSchema).min(1).max(MAX_PART_PEOPLE),
});
export type ImportPartInput = z.infer<typeof importPartInputSchema>;

/** A dry run of one part: the people (passwords left out: nothing is created), read-only. */
export const importDryRunInputSchema = z.strictObject({
  batchId: batchIdSchema,
  part: z.number().int().min(1),
  /** makes each dry run's workflow id unique: dry runs change nothing and may run side by side */
  nonce: z.string().regex(/^[a-z0-9]{1,32}$/, 'must be 1–32 characters of a-z or 0-9'),
  people: z.array(batchPersonSchema.omit({ sealedPassword: true })).max(MAX_PART_PEOPLE),
  source: requestSourceSchema,
});
export type ImportDryRunInput = z.infer<typeof importDryRunInputSchema>;

export function dryRunProofFields(input: Omit<ImportDryRunInput, 'source'>): Record<string, string> {
  return {
    dryRun: 'true',
    batchId: input.batchId,
    part: String(input.part),
    nonce: input.nonce,
    people: canonicalJson(input.people),
  };
}

/**
 * What a batch ensured, as it tells its rows: `workspace:<name>`, `project:<workspace>/<cluster>/<name>`. A
 * project's key names its workspace, so a row placing it elsewhere still has its own step check where it is.
 */
export const ensuredKey = {
  workspace: (name: string) => `workspace:${name}`,
  project: (workspace: string, cluster: string | undefined, name: string) =>
    `project:${workspace}/${cluster ?? 'host'}/${name}`,
};
