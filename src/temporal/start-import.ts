import {
  WithStartWorkflowOperation,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { digestOf, requestDigest, sealProof } from '../codec/proof.js';
import {
  batchProofFields,
  MAX_PART_PEOPLE,
  type BatchPerson,
  type ImportBatchInput,
  type PartRef,
} from '../policy/batch.js';
import { joinUpdate, type BatchProgress } from '../workflows/batch-definitions.js';
import { WORKFLOW_ID } from '../workflows/definitions.js';
import type { importBatch } from '../workflows/import-batch.js';
import type { importPart } from '../workflows/import-part.js';
import { RequestConflictError, type Requester } from './start.js';

export interface BatchRequest {
  batchId: string;
  contentDigest: string;
  file?: string;
  rows: number;
  skipped?: Array<{ line: number; message: string }>;
  concurrency?: number;
  canary?: number;
  errorBudget?: ImportBatchInput['errorBudget'];
  continueAsNewAfter?: number;
}

export interface StartedBatch {
  handle: WorkflowHandle<typeof importBatch>;
  progress: BatchProgress;
  /** the batch was already running this file: attached to it */
  attached: boolean;
}

/** `import-<batchId>-part-<n>`: the workflow holding the n-th part's rows (the first travels in the batch's input). */
export function partWorkflowId(batchWorkflowId: string, part: number): string {
  return `${batchWorkflowId}-part-${String(part).padStart(4, '0')}`;
}

/** People in parts of at most MAX_PART_PEOPLE, in file order. */
export function partsOf(people: BatchPerson[], size = MAX_PART_PEOPLE): BatchPerson[][] {
  const parts: BatchPerson[][] = [];
  for (let i = 0; i < people.length; i += size) parts.push(people.slice(i, i + size));
  return parts.length ? parts : [[]];
}

/**
 * Starts a batch, or attaches to the one running the same file. The parts after the first are started
 * first, each holding its rows; the batch's input lists them by digest, and the requester's proof covers
 * all of it (rows, sealed passwords, options), so no one can swap rows in later.
 */
export async function startImport(
  client: Client,
  taskQueue: string,
  request: BatchRequest,
  people: BatchPerson[],
  requester: Requester,
  prefix = '',
): Promise<StartedBatch> {
  const workflowId = WORKFLOW_ID.importBatch(request.batchId, prefix);
  const [first, ...rest] = partsOf(people);
  const parts: PartRef[] = [];
  for (const [i, part] of rest.entries()) {
    const partId = partWorkflowId(workflowId, i + 2);
    await client.workflow.start<typeof importPart>('importPart', {
      taskQueue,
      workflowId: partId,
      args: [{ batchId: request.batchId, part: i + 2, people: part }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `rows of batch ${request.batchId}, part ${i + 2} of ${rest.length + 1} (${part.length} people)`,
    });
    parts.push({ workflowId: partId, digest: digestOf(part), people: part.length });
  }
  const unsigned: Omit<ImportBatchInput, 'source'> = {
    batchId: request.batchId,
    contentDigest: request.contentDigest,
    ...(request.file ? { file: request.file } : {}),
    rows: request.rows,
    people: first!,
    parts,
    ...(request.skipped?.length ? { skipped: request.skipped } : {}),
    ...(request.concurrency !== undefined ? { concurrency: request.concurrency } : {}),
    ...(request.canary !== undefined ? { canary: request.canary } : {}),
    ...(request.errorBudget ? { errorBudget: request.errorBudget } : {}),
    ...(request.continueAsNewAfter ? { continueAsNewAfter: request.continueAsNewAfter } : {}),
  };
  const digest = requestDigest(batchProofFields(unsigned));
  const proof = sealProof({ purpose: 'request', token: requester.token, workflowId, digest }, requester.publicKey);
  const input: ImportBatchInput = { ...unsigned, source: { kind: 'requester', proof } };
  const start = new WithStartWorkflowOperation<typeof importBatch>('importBatch', {
    taskQueue,
    workflowId,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `import ${request.file ?? 'a CSV file'}: ${people.length} people (batch ${request.batchId})`,
  });
  try {
    const progress = await client.workflow.executeUpdateWithStart(joinUpdate, {
      args: [
        { contentDigest: request.contentDigest, requestDigest: `${request.concurrency ?? ''}/${request.canary ?? ''}` },
      ],
      startWorkflowOperation: start,
    });
    // A new batch answers from its first task, before it has verified anything.
    return { handle: await start.workflowHandle(), progress, attached: progress.lifecycle !== 'validating' };
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure)
      throw new RequestConflictError(error.cause.message);
    throw error;
  }
}
