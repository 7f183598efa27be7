import {
  isGrpcDeadlineError,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import { WORKFLOW_ID } from '../workflows/definitions.js';
import {
  pauseWritesUpdate,
  resumeWritesUpdate,
  switchRequest,
  UNPAUSED,
  WRITE_SWITCH_MEMO,
  WRITE_SWITCH_TYPE,
  type SignedSwitchState,
  type WriteSwitchState,
} from '../workflows/switch-definitions.js';
import type { writeSwitch } from '../workflows/write-switch.js';
import { requesterSource, type Requester } from './start.js';

/** The worker refused the change (not a platform-admin, a bad proof, no reason), or it cannot be made: why. */
export class SwitchRefusedError extends Error {
  /** the switch was not running: this command started it */
  startedIt = false;
}

/** How long pause/resume wait for a worker to take the change. */
const ANSWER_WITHIN_MS = 30_000;

async function describeSwitch(client: Client, prefix: string): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await client.workflow.getHandle(WORKFLOW_ID.writeSwitch(prefix)).describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}

function memoState(description: WorkflowExecutionDescription | undefined): WriteSwitchState | undefined {
  const signed = description?.memo?.[WRITE_SWITCH_MEMO] as Partial<SignedSwitchState> | undefined;
  return signed?.state;
}

/**
 * Pauses or resumes every KubeSphere write of the deployment, as `requester` (a proof the worker verifies with
 * KubeSphere: only a platform-admin may), bound to the switch's current version so it cannot be replayed.
 * Starts the switch if it is not running (update-with-start).
 */
export async function flipWriteSwitch(
  client: Client,
  options: { taskQueue: string; prefix: string },
  action: 'pause' | 'resume',
  requester: Requester,
  reason?: string,
): Promise<WriteSwitchState> {
  try {
    return await flipOnce(client, options, action, requester, reason);
  } catch (error) {
    // A switch started by this command takes over the state of its newest earlier run, whose version the CLI
    // could not know: once it runs, its version is known, and the change is asked once more.
    if (error instanceof SwitchRefusedError && error.startedIt && /is at version \d+/.test(error.message))
      return flipOnce(client, options, action, requester, reason);
    throw error;
  }
}

async function flipOnce(
  client: Client,
  options: { taskQueue: string; prefix: string },
  action: 'pause' | 'resume',
  requester: Requester,
  reason?: string,
): Promise<WriteSwitchState> {
  const workflowId = WORKFLOW_ID.writeSwitch(options.prefix);
  const current = await describeSwitch(client, options.prefix);
  if (
    current?.status.name === 'RUNNING' &&
    (current.type !== WRITE_SWITCH_TYPE || current.taskQueue !== options.taskQueue)
  )
    throw new SwitchRefusedError(
      `${workflowId} is held by a workflow of type ${current.type} on task queue ${current.taskQueue}, not ks-onboard's switch ` +
        `(writes are held meanwhile): terminate it (temporal workflow terminate --workflow-id ${workflowId}), then run this again`,
    );
  // The version as the latest run of ours says; the worker checks it against the state it signed.
  const version = current?.type === WRITE_SWITCH_TYPE ? (memoState(current)?.version ?? 0) : 0;
  const { proof } = requesterSource(requester, workflowId, switchRequest(action, version, reason));
  const startWorkflowOperation = new WithStartWorkflowOperation<typeof writeSwitch>(WRITE_SWITCH_TYPE, {
    workflowId,
    taskQueue: options.taskQueue,
    args: [],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: 'the pause switch of every KubeSphere write (ks-onboard pause / resume)',
  });
  try {
    return await client.withDeadline(Date.now() + ANSWER_WITHIN_MS, () =>
      client.workflow.executeUpdateWithStart(action === 'pause' ? pauseWritesUpdate : resumeWritesUpdate, {
        args: [{ ...(reason !== undefined ? { reason } : {}), version, proof }],
        startWorkflowOperation,
      }),
    );
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      const refused = new SwitchRefusedError(error.cause?.message ?? error.message, { cause: error });
      refused.startedIt = current?.status.name !== 'RUNNING';
      throw refused;
    }
    if (isGrpcDeadlineError(error))
      throw new SwitchRefusedError(
        `no worker took the ${action} within ${ANSWER_WITHIN_MS / 1000}s: is a worker running on task queue ${options.taskQueue}?`,
        { cause: error },
      );
    throw error;
  }
}

/**
 * The switch as its memo says (for display: the workers check its signature, the CLI cannot). Undefined state
 * and a `heldBy` when the switch's id is held by another workflow.
 */
export async function readWriteSwitch(client: Client, prefix: string): Promise<WriteSwitchState & { heldBy?: string }> {
  const description = await describeSwitch(client, prefix);
  if (!description) return UNPAUSED;
  if (description.type !== WRITE_SWITCH_TYPE)
    return {
      paused: true,
      version: -1,
      heldBy: `${description.type} (not ks-onboard's switch: writes are held until it is terminated and a platform-admin resumes)`,
    };
  return memoState(description) ?? UNPAUSED;
}
