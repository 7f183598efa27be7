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
import { stateQuery, type OnboardingState, type StepName, type StepRetry } from '../workflows/definitions.js';
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
  /** the run described: the latest unless a run id was asked for */
  runId: string;
  workflowType: string;
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
 * Without a run id, describe() answers for the latest run of the id; everything else is then asked of
 * that same run, so a run started meanwhile cannot mix into the answer.
 */
export async function currentState(
  handle: WorkflowHandle,
  described?: WorkflowExecutionDescription,
): Promise<WorkflowStatus> {
  const description = described ?? (await handle.describe());
  const run = handle.client.getHandle(handle.workflowId, description.runId);
  const status = description.status.name;
  const base = { status, runId: description.runId, workflowType: description.type };
  if (status === 'RUNNING') {
    let state: OnboardingState;
    try {
      state = await run.client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => run.query(stateQuery));
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw error;
      return { ...base, state: undefined, server: await serverView(run, description, whyUnanswered(error)) };
    }
    return { ...base, state: await withPendingRetry(run, description, state) };
  }
  if (status === 'COMPLETED' || status === 'FAILED') {
    const outcome = await outcomeOf(run);
    return outcome.ok
      ? { ...base, state: outcome.state }
      : { ...base, state: outcome.state, failure: `${outcome.type}: ${outcome.message}` };
  }
  return { ...base, state: undefined };
}

/** The step each activity type carries out; change-role's activities all set its one `role` step. */
const STEP_OF_ACTIVITY: Record<string, StepName> = {
  ensureUser: 'user',
  ensureWorkspace: 'workspace',
  ensureProject: 'project',
  ensureWorkspaceMember: 'workspace-member',
  ensureProjectMember: 'project-member',
  setWorkspaceRole: 'role',
  setProjectRole: 'role',
  setGlobalRole: 'role',
};

type RawPendingActivity = NonNullable<WorkflowExecutionDescription['raw']['pendingActivities']>[number];

/**
 * The running step (steps run one at a time: the first still pending) with its retries as the server
 * knows them, when a normal activity of that step is failing. The workflow fills `retry` itself for the
 * steps it retries in-process (local activities never show as pending activities): that one is kept.
 */
async function withPendingRetry(
  run: WorkflowHandle,
  description: WorkflowExecutionDescription,
  state: OnboardingState,
): Promise<OnboardingState> {
  const index = state.steps.findIndex((s) => s.outcome === 'pending');
  const step = state.steps[index];
  if (!step || step.retry) return state;
  for (const activity of await pendingActivities(run, description)) {
    if (STEP_OF_ACTIVITY[activity.activityType?.name ?? ''] !== step.step) continue;
    const retry = await retryOf(run, activity);
    if (!retry) continue;
    const steps = [...state.steps];
    steps[index] = { ...step, retry };
    return { ...state, steps };
  }
  return state;
}

/**
 * The run's pending activities, and those of a child it waits on: a platform role is set by the child
 * that holds the one-at-a-time lock (`setPlatformRole`), so its retries are the child's.
 */
async function pendingActivities(
  run: WorkflowHandle,
  description: WorkflowExecutionDescription,
): Promise<RawPendingActivity[]> {
  const own = description.raw.pendingActivities ?? [];
  const children = description.raw.pendingChildren ?? [];
  const ofChildren = await Promise.all(
    children.map(async (child) => {
      if (!child.workflowId) return [];
      try {
        const handle = run.client.getHandle(child.workflowId, child.runId ?? undefined);
        return (await handle.describe()).raw.pendingActivities ?? [];
      } catch {
        return []; // ended meanwhile: nothing pending there
      }
    }),
  );
  return [...own, ...ofChildren.flat()];
}

/**
 * A pending activity's retries, once an attempt has failed. It gives up at the server's expiration time: the
 * first schedule plus the schedule-to-close timeout (the pending activity's `scheduledTime` is the current
 * attempt's, so it cannot be used for this). An activity without one retries without limit and is left out.
 */
async function retryOf(run: WorkflowHandle, activity: RawPendingActivity): Promise<StepRetry | undefined> {
  const givesUpAt = isoTime(activity.expirationTime);
  if (!activity.lastFailure || !givesUpAt) return undefined;
  const nextAttemptAt = isoTime(activity.nextAttemptScheduleTime);
  return {
    attempts: activity.attempt ?? 1,
    lastError: await failureText(run, activity.lastFailure),
    ...(nextAttemptAt ? { nextAttemptAt } : {}),
    givesUpAt,
  };
}

/** `KS_UNAVAILABLE: HTTP 500 …`: the failure's type and its message, decrypted (failure messages are encoded). */
async function failureText(
  run: WorkflowHandle,
  failure: NonNullable<RawPendingActivity['lastFailure']>,
): Promise<string> {
  const message = await failureMessage(run.client.options.loadedDataConverter, failure);
  const type = failure.applicationFailureInfo?.type;
  return type ? `${type}: ${message}` : message;
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
  // unset timestamps may arrive as zero
  if (!ts || (Number(String(ts.seconds ?? 0)) === 0 && !ts.nanos)) return undefined;
  return new Date(Number(String(ts.seconds ?? 0)) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}
