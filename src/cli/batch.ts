import { decodeFirst } from '../temporal/data-converter.js';
import {
  isGrpcCancelledError,
  isGrpcDeadlineError,
  QueryNotRegisteredError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
  type WorkflowHandle,
} from '@temporalio/client';
import type { QueryDefinition, UpdateDefinition } from '@temporalio/common';
import { digestOf } from '../codec/proof.js';
import { temporalUiUrl, type TemporalConfig } from '../config.js';
import { batchPersonSchema, type BatchPerson, type PartRef } from '../policy/batch.js';
import { quote } from '../policy/names.js';
import { notStartedQuery, progressQuery, type BatchProgress, type RowFailure } from '../workflows/batch-definitions.js';
import { SA, stateQuery, WORKFLOW_ID, type OnboardingState } from '../workflows/definitions.js';
import { ExitError } from './options.js';
import { outcomeOf, QUERY_TIMEOUT_MS } from './temporal-context.js';

/**
 * Reading and steering a bulk import (`import-<batchId>`) from the CLI: its progress, the rows it started
 * (children found by the OnboardingBatchId search attribute), the people it was given (its first run's input
 * and its parts' inputs), and its resume/cancel updates.
 */

/**
 * Exit code of a request that does not fit the batch (resume when it is not paused, cancel when it has ended,
 * a batch command on another workflow): a bad request, like bad input.
 */
export const REFUSED = 2;

/** How long resume and cancel wait for a worker to take the update. */
const UPDATE_TIMEOUT_MS = 30_000;
/** Children read at once (each one or two calls to Temporal). */
const READ_IN_PARALLEL = 16;

/** Values put into a visibility query: nothing that could end the quoted string or start another clause. */
const VISIBILITY_SAFE = /^[A-Za-z0-9._:@/+-]{1,256}$/;

/** Whether `value` may be put in a visibility query as it is. */
export function isSearchable(value: string): boolean {
  return VISIBILITY_SAFE.test(value);
}

/** `'value'` for a visibility query; refuses (exit 2) any character that could break out of the quotes. */
export function visibilityValue(value: string, what: string): string {
  if (!VISIBILITY_SAFE.test(value))
    throw new ExitError(
      `${what} ${quote(value)}: a search takes only letters, digits and . _ : @ / + - (at most 256)`,
      REFUSED,
    );
  return `'${value}'`;
}

/** The batch a row belongs to, as the Web UI's search box takes it. */
export function batchFilter(batchId: string): string {
  return `OnboardingBatchId="${batchId}"`;
}

/** A link to the Web UI's workflow list with `query` as its filter; undefined when the UI's address is unknown. */
export function webUiLink(namespace: string, query: string): string | undefined {
  const base = temporalUiUrl();
  return base
    ? `${base}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(query)}`
    : undefined;
}

/** A link to one run's page in the Web UI (its history); undefined when the UI's address is unknown. */
export function webUiRunLink(namespace: string, workflowId: string, runId: string): string | undefined {
  const base = temporalUiUrl();
  return base
    ? `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`
    : undefined;
}

/** The runs of one workflow id before its latest one, as `status` mentions them. */
export interface EarlierRuns {
  count: number;
  failed: number;
  /** the last of them that failed: `status <id> --run <runId>` shows it */
  lastFailed?: { runId: string; closedAt?: string };
}

/**
 * The other runs of `workflowId` than `latestRunId` (visibility: a run that has just closed may be missing for a
 * moment); undefined when the id cannot be searched for.
 */
export async function earlierRuns(
  client: Client,
  workflowId: string,
  latestRunId: string,
): Promise<EarlierRuns | undefined> {
  if (!isSearchable(workflowId)) return undefined;
  const runs = (await collect(client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))).filter(
    (run) => run.runId !== latestRunId,
  );
  const failed = runs
    .filter((run) => run.status.name === 'FAILED')
    .sort((a, b) => b.startTime.getTime() - a.startTime.getTime());
  const last = failed[0];
  return {
    count: runs.length,
    failed: failed.length,
    ...(last
      ? { lastFailed: { runId: last.runId, ...(last.closeTime ? { closedAt: last.closeTime.toISOString() } : {}) } }
      : {}),
  };
}

/** A batch, by its latest run: queries and updates go to it. */
export interface BatchRef {
  workflowId: string;
  batchId: string;
  description: WorkflowExecutionDescription;
  /** bound to the latest run */
  handle: WorkflowHandle;
  client: Client;
}

/** `import-<batchId>` with the deployment's prefix, whether or not the argument carries it. */
export function batchWorkflowId(argument: string, config: Pick<TemporalConfig, 'workflowIdPrefix'>): string {
  const prefix = config.workflowIdPrefix;
  return prefix && !argument.startsWith(prefix) ? `${prefix}${argument}` : argument;
}

/** The batch under `workflowId` (its latest run); any other workflow type is refused with exit 2. */
export async function openBatch(
  client: Client,
  config: Pick<TemporalConfig, 'workflowIdPrefix'>,
  workflowId: string,
  description?: WorkflowExecutionDescription,
): Promise<BatchRef> {
  const described = description ?? (await client.workflow.getHandle(workflowId).describe());
  if (described.type !== 'importBatch')
    throw new ExitError(
      `${workflowId} is a ${described.type} workflow, not a batch (import-<batchId>, as printed by ks-onboard import)`,
      REFUSED,
    );
  const prefix = `${WORKFLOW_ID.importBatch('', config.workflowIdPrefix)}`;
  const fromId = workflowId.startsWith(prefix)
    ? workflowId.slice(prefix.length)
    : workflowId.slice(workflowId.indexOf('import-') + 'import-'.length);
  const batchId = described.typedSearchAttributes.get(SA.batchId) ?? fromId;
  return {
    workflowId,
    batchId,
    description: described,
    handle: client.workflow.getHandle(workflowId, described.runId),
    client,
  };
}

export type Answer<T> = { ok: true; value: T } | { ok: false; why: string };

/** A query answered within QUERY_TIMEOUT_MS, or why not (no worker, an older version without the query). */
export async function askWithin<T>(handle: WorkflowHandle, query: QueryDefinition<T, []>): Promise<Answer<T>> {
  try {
    return {
      ok: true,
      value: await handle.client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(query)),
    };
  } catch (error) {
    if (error instanceof QueryNotRegisteredError)
      return { ok: false, why: `the workflow has no ${query.name} query (started by another version?)` };
    if (isGrpcDeadlineError(error) || isGrpcCancelledError(error))
      return { ok: false, why: `no worker answered the ${query.name} query within ${QUERY_TIMEOUT_MS / 1000}s` };
    return { ok: false, why: `the ${query.name} query failed: ${(error as Error).message}` };
  }
}

/** Where a batch stands: its progress (query while it runs, result once done), or why it is not known. */
export interface BatchView {
  workflowId: string;
  batchId: string;
  /** Temporal's status of the latest run: RUNNING, COMPLETED, FAILED, TERMINATED… */
  status: string;
  progress?: BatchProgress;
  /** how a run that did not complete ended */
  failure?: string;
  /** why the progress is missing */
  unanswered?: string;
}

export async function batchView(ref: BatchRef): Promise<BatchView> {
  const status = ref.description.status.name;
  const view: BatchView = { workflowId: ref.workflowId, batchId: ref.batchId, status };
  if (status === 'COMPLETED') {
    view.progress = (await ref.handle.result()) as BatchProgress;
    return view;
  }
  if (status !== 'RUNNING') {
    const outcome = await outcomeOf(ref.handle).catch((error: Error) => ({
      ok: false as const,
      type: 'Error',
      message: error.message,
    }));
    if (!outcome.ok) view.failure = `${outcome.type}: ${outcome.message}`;
  }
  // A closed batch answers too when a worker replays it: its counts at the end.
  const answer = await askWithin(ref.handle, progressQuery);
  if (answer.ok) view.progress = answer.value;
  else view.unanswered = answer.why;
  return view;
}

/** Sends resume or cancel; a batch that has ended, or whose validator refuses, is a bad request (exit 2). */
export async function updateBatch(
  ref: BatchRef,
  update: UpdateDefinition<BatchProgress, []>,
  verb: string,
): Promise<BatchProgress> {
  const status = ref.description.status.name;
  if (status !== 'RUNNING') {
    const view = await batchView(ref);
    const lifecycle = view.progress?.lifecycle ?? status.toLowerCase();
    throw new ExitError(`${ref.workflowId} has ended (${lifecycle}): nothing to ${verb}`, REFUSED);
  }
  try {
    return await ref.handle.client.withDeadline(Date.now() + UPDATE_TIMEOUT_MS, () => ref.handle.executeUpdate(update));
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError)
      throw new ExitError(`cannot ${verb} ${ref.workflowId}: ${error.cause?.message ?? error.message}`, REFUSED);
    if (isGrpcDeadlineError(error) || isGrpcCancelledError(error))
      throw new ExitError(
        `${ref.workflowId}: no worker took the ${verb} within ${UPDATE_TIMEOUT_MS / 1000}s; is a worker running on its task queue (${ref.description.taskQueue})?`,
      );
    throw error;
  }
}

/** The batch's result if it ends within `ms` (a cancelled batch ends at once; its started rows go on alone). */
export async function resultWithin(ref: BatchRef, ms: number): Promise<BatchProgress | undefined> {
  const handle = ref.client.workflow.getHandle(ref.workflowId);
  try {
    return (await handle.client.withDeadline(Date.now() + ms, () => handle.result())) as BatchProgress;
  } catch {
    return undefined;
  }
}

/** Each workflow id once: its run that started last. */
export function latestRuns(runs: Iterable<WorkflowExecutionInfo>): WorkflowExecutionInfo[] {
  const latest = new Map<string, WorkflowExecutionInfo>();
  for (const run of runs) {
    const seen = latest.get(run.workflowId);
    if (!seen || run.startTime.getTime() > seen.startTime.getTime()) latest.set(run.workflowId, run);
  }
  return [...latest.values()];
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/**
 * The rows a batch started: `onboardUser` runs with its OnboardingBatchId whose parent is the batch (a run
 * merely labelled with the batch id is not one of them), started since `since`, the latest run per id.
 * Visibility lags behind by a moment: a row started just now may be missing.
 */
export async function batchChildren(
  ref: BatchRef,
  options: { since?: Date; extra?: string } = {},
): Promise<WorkflowExecutionInfo[]> {
  const query =
    `WorkflowType = 'onboardUser' AND OnboardingBatchId = ${visibilityValue(ref.batchId, 'batch id')}` +
    (options.extra ? ` AND ${options.extra}` : '');
  const runs = await collect(ref.client.workflow.list({ query }));
  const since = options.since?.getTime() ?? -Infinity;
  return latestRuns(
    runs.filter((run) => run.parentExecution?.workflowId === ref.workflowId && run.startTime.getTime() >= since),
  );
}

/** The username a row's run is for: its OnboardingUsername, else what its id says. */
export function usernameOf(run: WorkflowExecutionInfo, prefix: string): string {
  const label = run.typedSearchAttributes.get(SA.username);
  if (label) return label;
  const idPrefix = WORKFLOW_ID.onboard('', prefix);
  return run.workflowId.startsWith(idPrefix) ? run.workflowId.slice(idPrefix.length) : run.workflowId;
}

/** How a row stands in a report. `queued`: the batch is still going and has not reached it yet. */
export type RowStatus = 'done' | 'failed' | 'awaiting-approval' | 'running' | 'not-started' | 'skipped' | 'queued';

export interface RowOutcome {
  status: RowStatus;
  workflowId: string;
  state?: OnboardingState;
  error?: { type: string; message: string };
}

/** A started row's outcome: its state query while it runs, its result or its failure's details once ended. */
export async function rowOutcome(client: Client, run: WorkflowExecutionInfo): Promise<RowOutcome> {
  const handle = client.workflow.getHandle(run.workflowId, run.runId);
  const base = { workflowId: run.workflowId };
  if (run.status.name === 'RUNNING') {
    const answer = await askWithin(handle, stateQuery);
    if (!answer.ok) return { ...base, status: 'running', error: { type: 'Unanswered', message: answer.why } };
    const state = answer.value;
    const status: RowStatus =
      state.lifecycle === 'awaiting-approval'
        ? 'awaiting-approval'
        : state.lifecycle === 'done' || state.lifecycle === 'failed'
          ? state.lifecycle
          : 'running';
    return { ...base, status, state, ...(state.error ? { error: state.error } : {}) };
  }
  const outcome = await outcomeOf(handle);
  if (outcome.ok) return { ...base, status: 'done', state: outcome.state };
  const error = outcome.state?.error ?? { type: outcome.type, message: outcome.message };
  return { ...base, status: 'failed', ...(outcome.state ? { state: outcome.state } : {}), error };
}

/** `fn` over `items`, at most `limit` at once, results in the items' order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** Outcomes of the started rows, by username. */
export async function rowOutcomes(
  client: Client,
  runs: WorkflowExecutionInfo[],
  prefix: string,
): Promise<Map<string, RowOutcome>> {
  const outcomes = await mapLimit(runs, READ_IN_PARALLEL, (run) => rowOutcome(client, run));
  return new Map(runs.map((run, i) => [usernameOf(run, prefix), outcomes[i]!]));
}

/** What the batch was given: the people of its first run's input and of its parts, and the lines left out. */
export interface BatchInputs {
  people: BatchPerson[];
  /** invalid lines left out with --skip-invalid */
  skipped: Array<{ line: number; message: string }>;
  /** when the batch's first run started: its rows cannot be older */
  startedAt?: Date;
  /** what could not be read (a part gone, or holding other rows) */
  problems: string[];
}

export interface FirstEvent {
  input: unknown;
  time?: Date;
}

/** A run's input, from the first event of its history (decrypted; a sealed password in it stays sealed). */
export async function firstEvent(client: Client, workflowId: string, runId?: string): Promise<FirstEvent> {
  const { history } = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId, ...(runId ? { runId } : {}) },
    maximumPageSize: 1,
  });
  const event = history?.events?.[0];
  const payloads = event?.workflowExecutionStartedEventAttributes?.input?.payloads;
  // Through the codec: the input is encrypted in history.
  const input = payloads?.length ? await decodeFirst<unknown>(client.options.loadedDataConverter, payloads) : undefined;
  const seconds = event?.eventTime?.seconds;
  const time = seconds == null ? undefined : new Date(Number(String(seconds)) * 1000);
  return { input, ...(time ? { time } : {}) };
}

/** The first run of the batch's chain (continue-as-new keeps it): the only one whose input lists the first people. */
async function firstRunId(ref: BatchRef): Promise<string | undefined> {
  const known = ref.description.raw.workflowExecutionInfo?.firstRunId;
  if (known) return known;
  const runs = await collect(
    ref.client.workflow.list({ query: `WorkflowId = ${visibilityValue(ref.workflowId, 'workflow id')}` }),
  );
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  return runs[0]?.runId;
}

function validPeople(value: unknown): BatchPerson[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((person) => {
    const parsed = batchPersonSchema.safeParse(person);
    return parsed.success ? [parsed.data] : [];
  });
}

/**
 * The people a batch was given. Later runs carry no people in their input (continue-as-new), so the first
 * run's input has the first part, and each part workflow's input the rest, checked against the digest the
 * batch's requester signed.
 */
export async function batchInputs(ref: BatchRef): Promise<BatchInputs> {
  const client = ref.client;
  const first = await firstEvent(client, ref.workflowId, await firstRunId(ref));
  const input = (first.input ?? {}) as { people?: unknown; parts?: unknown; skipped?: unknown };
  const result: BatchInputs = {
    people: validPeople(input.people),
    skipped: Array.isArray(input.skipped)
      ? (input.skipped as Array<{ line: number; message: string }>).filter(
          (s) => typeof s?.line === 'number' && typeof s.message === 'string',
        )
      : [],
    problems: [],
    ...(first.time ? { startedAt: first.time } : {}),
  };
  const parts = Array.isArray(input.parts) ? (input.parts as PartRef[]) : [];
  const read = await mapLimit(parts, READ_IN_PARALLEL, async (part): Promise<BatchPerson[] | string> => {
    try {
      const event = await firstEvent(client, part.workflowId);
      const people = validPeople((event.input as { people?: unknown } | undefined)?.people);
      if (digestOf(people) !== part.digest)
        return `${part.workflowId} holds other rows than the batch was given: its ${part.people} people are left out`;
      return people;
    } catch (error) {
      return `${part.workflowId} cannot be read (${(error as Error).message}): its ${part.people} people are left out`;
    }
  });
  for (const part of read) {
    if (typeof part === 'string') result.problems.push(part);
    else result.people.push(...part);
  }
  return result;
}

/** The rows the batch did not start, with why (a worker answers for a closed batch too); undefined without an answer. */
export async function notStartedRows(ref: BatchRef): Promise<Answer<RowFailure[]>> {
  return askWithin(ref.handle, notStartedQuery);
}
