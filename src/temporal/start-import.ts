import {
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { digestOf } from '../codec/proof.js';
import { randomBytes } from 'node:crypto';
import {
  batchProofFields,
  dryRunProofFields,
  MAX_PART_PEOPLE,
  type BatchPerson,
  type ImportBatchInput,
  type PartRef,
} from '../policy/batch.js';
import { joinUpdate, type BatchProgress } from '../workflows/batch-definitions.js';
import { WORKFLOW_ID } from '../workflows/definitions.js';
import type { importBatch } from '../workflows/import-batch.js';
import type { importPart } from '../workflows/import-part.js';
import type { DryRunResult, importDryRun } from '../workflows/import-dry-run.js';
import { RequestConflictError, requesterSource, type Requester } from './start.js';

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

/**
 * `import-<batchId>-part-<n>-<digest>`: the workflow holding the n-th part's rows (the first travels in the batch's
 * input). The digest keeps a part of an earlier import of the same file (other seals) from standing in the way.
 */
export function partWorkflowId(batchWorkflowId: string, part: number, digest: string): string {
  return `${batchWorkflowId}-part-${String(part).padStart(4, '0')}-${digest.slice(0, 8)}`;
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
  people: AsyncIterable<BatchPerson> | Iterable<BatchPerson>,
  requester: Requester,
  prefix = '',
): Promise<StartedBatch> {
  const workflowId = WORKFLOW_ID.importBatch(request.batchId, prefix);
  const joinArgs = {
    contentDigest: request.contentDigest,
    requestDigest: `${request.concurrency ?? ''}/${request.canary ?? ''}`,
  };
  // Already running: join it without handing over any rows (no parts are started for nothing).
  const running = await joinRunning(client, workflowId, joinArgs);
  if (running) return running;
  // Streamed: the first part is kept for the batch's own input, each later one is handed to its own workflow
  // as soon as it is full, so no more than two parts are ever held here.
  let first: BatchPerson[] | undefined;
  let current: BatchPerson[] = [];
  let total = 0;
  const parts: PartRef[] = [];
  const flush = async () => {
    if (!first) {
      first = current;
    } else if (current.length) {
      const part = parts.length + 2;
      const digest = digestOf(current);
      const partId = partWorkflowId(workflowId, part, digest);
      await client.workflow.start<typeof importPart>('importPart', {
        taskQueue,
        workflowId: partId,
        args: [{ batchId: request.batchId, part, people: current }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        staticSummary: `rows of batch ${request.batchId}, part ${part} (${current.length} people)`,
      });
      parts.push({ workflowId: partId, digest, people: current.length });
    }
    current = [];
  };
  for await (const person of people) {
    current.push(person);
    total += 1;
    if (current.length === MAX_PART_PEOPLE) await flush();
  }
  if (!first || current.length) await flush();
  const unsigned: Omit<ImportBatchInput, 'source'> = {
    batchId: request.batchId,
    contentDigest: request.contentDigest,
    ...(request.file ? { file: request.file } : {}),
    rows: request.rows,
    people: first ?? [],
    parts,
    ...(request.skipped?.length ? { skipped: request.skipped } : {}),
    ...(request.concurrency !== undefined ? { concurrency: request.concurrency } : {}),
    ...(request.canary !== undefined ? { canary: request.canary } : {}),
    ...(request.errorBudget ? { errorBudget: request.errorBudget } : {}),
    ...(request.continueAsNewAfter ? { continueAsNewAfter: request.continueAsNewAfter } : {}),
  };
  const input: ImportBatchInput = {
    ...unsigned,
    source: requesterSource(requester, workflowId, batchProofFields(unsigned)),
  };
  const start = new WithStartWorkflowOperation<typeof importBatch>('importBatch', {
    taskQueue,
    workflowId,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `import ${request.file ?? 'a CSV file'}: ${total} people (batch ${request.batchId})`,
  });
  try {
    const { joinOrder, ...progress } = await client.workflow.executeUpdateWithStart(joinUpdate, {
      args: [joinArgs],
      startWorkflowOperation: start,
    });
    // Not bound to a run: the batch continues as new, and queries must reach its latest run.
    await start.workflowHandle();
    const handle = client.workflow.getHandle<typeof importBatch>(workflowId);
    return { handle, progress, attached: joinOrder !== 1 };
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure)
      throw new RequestConflictError(error.cause.message);
    throw error;
  }
}

async function joinRunning(
  client: Client,
  workflowId: string,
  args: { contentDigest: string; requestDigest: string },
): Promise<StartedBatch | undefined> {
  const handle = client.workflow.getHandle<typeof importBatch>(workflowId);
  try {
    if ((await handle.describe()).status.name !== 'RUNNING') return undefined;
    const { joinOrder: _order, ...progress } = await handle.executeUpdate(joinUpdate, { args: [args] });
    return { handle, progress, attached: true };
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure)
      throw new RequestConflictError(error.cause.message);
    // Gone, or ended between the two calls (an update needs a running workflow): start it again.
    if (error instanceof WorkflowNotFoundError) return undefined;
    if ((await handle.describe().catch(() => undefined))?.status.name !== 'RUNNING') return undefined;
    throw error;
  }
}

/**
 * A dry run, part by part (each part a short read-only workflow): what the import would do, read from
 * KubeSphere by the worker (the CLI never holds the worker's credentials), proved to be asked by `requester`.
 */
export async function dryRunImport(
  client: Client,
  taskQueue: string,
  batchId: string,
  people: AsyncIterable<BatchPerson> | Iterable<BatchPerson>,
  requester: Requester,
  prefix = '',
): Promise<DryRunResult> {
  const nonce = randomBytes(6).toString('hex');
  const result: DryRunResult = { requestedBy: '', rows: [] };
  let part: Array<Omit<BatchPerson, 'sealedPassword'>> = [];
  let index = 0;
  const run = async () => {
    index += 1;
    const workflowId = `${prefix}import-${batchId}.dry-run-${index}-${nonce}`;
    const unsigned = { batchId, part: index, nonce, people: part };
    const answer = await client.workflow.execute<typeof importDryRun>('importDryRun', {
      taskQueue,
      workflowId,
      args: [{ ...unsigned, source: requesterSource(requester, workflowId, dryRunProofFields(unsigned)) }],
      staticSummary: `dry run of batch ${batchId}, part ${index} (${part.length} people): reads only`,
    });
    result.requestedBy = answer.requestedBy;
    result.rows.push(...answer.rows);
    part = [];
  };
  for await (const { sealedPassword: _sealed, ...person } of people) {
    part.push(person);
    if (part.length === MAX_PART_PEOPLE) await run();
  }
  if (part.length || index === 0) await run();
  return result;
}
