import {
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { WORKFLOW_ID } from '../workflows/definitions.js';
import {
  pauseWritesUpdate,
  resumeWritesUpdate,
  switchRequest,
  WRITE_SWITCH_MEMO,
  type WriteSwitchState,
} from '../workflows/switch-definitions.js';
import type { writeSwitch } from '../workflows/write-switch.js';
import { requesterSource, type Requester } from './start.js';

/** The worker refused the change (not a platform-admin, a bad proof, no reason): why, as it said. */
export class SwitchRefusedError extends Error {}

/**
 * Pauses or resumes every KubeSphere write of the deployment, as `requester` (a proof the worker verifies with
 * KubeSphere: only a platform-admin may). Starts the switch if it is not running (update-with-start).
 */
export async function flipWriteSwitch(
  client: Client,
  options: { taskQueue: string; prefix: string },
  action: 'pause' | 'resume',
  requester: Requester,
  reason?: string,
): Promise<WriteSwitchState> {
  const workflowId = WORKFLOW_ID.writeSwitch(options.prefix);
  const { proof } = requesterSource(requester, workflowId, switchRequest(action, reason));
  const startWorkflowOperation = new WithStartWorkflowOperation<typeof writeSwitch>('writeSwitch', {
    workflowId,
    taskQueue: options.taskQueue,
    args: [],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: 'the pause switch of every KubeSphere write (ks-onboard pause / resume)',
  });
  try {
    return await client.workflow.executeUpdateWithStart(action === 'pause' ? pauseWritesUpdate : resumeWritesUpdate, {
      args: [{ ...(reason !== undefined ? { reason } : {}), proof }],
      startWorkflowOperation,
    });
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError)
      throw new SwitchRefusedError(error.cause?.message ?? error.message, { cause: error });
    throw error;
  }
}

/** The switch as the workers read it (the latest run's memo); unpaused when there is none. */
export async function readWriteSwitch(client: Client, prefix: string): Promise<WriteSwitchState> {
  try {
    const description = await client.workflow.getHandle(WORKFLOW_ID.writeSwitch(prefix)).describe();
    const memo = description.memo?.[WRITE_SWITCH_MEMO] as WriteSwitchState | undefined;
    return memo?.paused === true ? memo : { paused: false, ...(memo?.by ? { by: memo.by, since: memo.since } : {}) };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return { paused: false };
    throw error;
  }
}
