import { decodeFirst, failureMessage } from '../temporal/data-converter.js';
import {
  isGrpcCancelledError,
  isGrpcDeadlineError,
  QueryNotRegisteredError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import proto from '@temporalio/proto';
import { temporalConfig, type TemporalConfig } from '../config.js';
import { createTemporalClient } from '../temporal/client.js';
import { stateQuery, type OnboardingState } from '../workflows/definitions.js';
import { ExitError } from './options.js';

const { PendingActivityState, PendingWorkflowTaskState } = proto.temporal.api.enums.v1;

/** Runs a command body with a Temporal client, closing the connection afterwards. */
export async function withTemporal<T>(run: (client: Client, config: TemporalConfig) => Promise<T>): Promise<T> {
  const config = temporalConfig();
  let client: Client;
  try {
    client = await createTemporalClient(config);
  } catch (error) {
    throw new ExitError(
      `cannot reach Temporal at ${config.address} (namespace ${config.namespace}): ${(error as Error).message}`,
    );
  }
  try {
    return await run(client, config);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError)
      throw new ExitError(`no workflow ${error.workflowId ?? ''} in namespace ${config.namespace}`);
    throw error;
  } finally {
    await client.connection.close();
  }
}

export type Outcome =
  | { ok: true; state: OnboardingState }
  | { ok: false; state: OnboardingState | undefined; message: string; type: string };

/** Waits for a workflow's end and reads its steps from the result or from the failure's details. */
export async function outcomeOf(handle: WorkflowHandle): Promise<Outcome> {
  try {
    return { ok: true, state: (await handle.result()) as OnboardingState };
  } catch (error) {
    if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure) {
      const [state] = (error.cause.details ?? []) as [OnboardingState | undefined];
      return {
        ok: false,
        state: state && 'steps' in state ? state : undefined,
        message: error.cause.message,
        type: error.cause.type ?? 'Error',
      };
    }
    if (error instanceof WorkflowFailedError)
      return { ok: false, state: undefined, message: error.cause?.message ?? error.message, type: 'Error' };
    throw error;
  }
}

/** What the server alone knows of a running workflow, shown when no worker answers the state query. */
export interface ServerView {
  /** why the workflow's own state is missing, e.g. no worker answered the query */
  unanswered: string;
  workflowType: string;
  taskQueue: string;
  startedAt: string;
  /** from the input in the first history event */
  username?: string;
  /** a workflow task waits for a worker (or keeps failing on one) */
  workflowTask?: { state: string; attempt: number };
  activities: PendingActivity[];
}
export interface PendingActivity {
  activity: string;
  state: string;
  attempt: number;
  lastFailure?: string;
  nextAttemptAt?: string;
}

export interface WorkflowStatus {
  status: string;
  state: OnboardingState | undefined;
  failure?: string;
  /** set instead of `state` when a running workflow's query got no answer */
  server?: ServerView;
}

/** How long status waits for a worker to answer the state query before it falls back to the server's view. */
export const QUERY_TIMEOUT_MS = 5_000;

/**
 * The state of a running workflow (query) or the final one (result or failure details). A running
 * workflow whose query gets no answer in QUERY_TIMEOUT_MS (no worker polls its task queue, or the
 * worker fails it) is described from describe() and its first history event instead.
 */
export async function currentState(handle: WorkflowHandle): Promise<WorkflowStatus> {
  const description = await handle.describe();
  const status = description.status.name;
  if (status === 'RUNNING') {
    try {
      const state = await handle.client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(stateQuery));
      return { status, state };
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw error;
      return { status, state: undefined, server: await serverView(handle, description, whyUnanswered(error)) };
    }
  }
  if (status === 'COMPLETED' || status === 'FAILED') {
    const outcome = await outcomeOf(handle);
    return outcome.ok
      ? { status, state: outcome.state }
      : { status, state: outcome.state, failure: `${outcome.type}: ${outcome.message}` };
  }
  return { status, state: undefined };
}

function whyUnanswered(error: unknown): string {
  if (error instanceof QueryNotRegisteredError) return 'the workflow has no state query (started by another version?)';
  // past the deadline: DEADLINE_EXCEEDED, or CANCELLED when the server gave up at the same moment
  if (isGrpcDeadlineError(error) || isGrpcCancelledError(error))
    return `no worker answered the state query within ${QUERY_TIMEOUT_MS / 1000}s`;
  const detail = (error as { cause?: { details?: unknown } }).cause?.details;
  return `no worker answered the state query: ${typeof detail === 'string' && detail ? detail : (error as Error).message}`;
}

async function serverView(
  handle: WorkflowHandle,
  description: WorkflowExecutionDescription,
  unanswered: string,
): Promise<ServerView> {
  const { pendingActivities, pendingWorkflowTask } = description.raw;
  return {
    unanswered,
    workflowType: description.type,
    taskQueue: description.taskQueue,
    startedAt: description.startTime.toISOString(),
    username: await inputUsername(handle, description.runId),
    workflowTask: pendingWorkflowTask
      ? {
          state: enumName(PendingWorkflowTaskState, pendingWorkflowTask.state),
          attempt: pendingWorkflowTask.attempt ?? 1,
        }
      : undefined,
    activities: await Promise.all(
      (pendingActivities ?? []).map(async (a) => ({
        activity: a.activityType?.name ?? 'unknown',
        state: enumName(PendingActivityState, a.state),
        attempt: a.attempt ?? 1,
        lastFailure: a.lastFailure
          ? await failureMessage(handle.client.options.loadedDataConverter, a.lastFailure)
          : undefined,
        nextAttemptAt: isoTime(a.nextAttemptScheduleTime),
      })),
    ),
  };
}

/** `username` of the workflow's input, read from its first history event; undefined when unreadable. */
async function inputUsername(handle: WorkflowHandle, runId: string): Promise<string | undefined> {
  try {
    const { history } = await handle.client.workflowService.getWorkflowExecutionHistory({
      namespace: handle.client.options.namespace,
      execution: { workflowId: handle.workflowId, runId },
      maximumPageSize: 1,
    });
    const payloads = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
    if (!payloads?.length) return undefined;
    // Through the codec: the input is encrypted in history.
    const input = await decodeFirst<unknown>(handle.client.options.loadedDataConverter, payloads);
    const username = (input as { username?: unknown } | null)?.username;
    return typeof username === 'string' ? username : undefined;
  } catch {
    return undefined;
  }
}

/** `PENDING_ACTIVITY_STATE_SCHEDULED` → `scheduled` */
function enumName(values: Record<number, string>, value: number | null | undefined): string {
  const name = value == null ? undefined : values[value];
  return name
    ? name
        .replace(/^PENDING_(ACTIVITY|WORKFLOW_TASK)_STATE_/, '')
        .toLowerCase()
        .replace(/_/g, ' ')
    : 'unknown';
}

function isoTime(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): string | undefined {
  if (!ts) return undefined;
  return new Date(Number(String(ts.seconds ?? 0)) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}
