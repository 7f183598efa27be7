import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import type { Unsealer } from '../codec/seal.js';
import { WORKFLOW_ID } from '../workflows/definitions.js';
import {
  UNPAUSED,
  WRITE_SWITCH_MEMO,
  WRITE_SWITCH_TYPE,
  WRITES_PAUSED,
  type SignedSwitchState,
  type WriteSwitchState,
} from '../workflows/switch-definitions.js';
import { carryText } from './trust.js';

/** The activities that change KubeSphere: each is held while writes are paused. Reads never are. */
export const WRITE_ACTIVITIES = [
  'ensureUser',
  'ensureWorkspace',
  'ensureProject',
  'ensureWorkspaceMember',
  'ensureProjectMember',
  'setGlobalRole',
  'setWorkspaceRole',
  'setProjectRole',
] as const;

/** How long a worker trusts what it read of the switch: a pause reaches every worker within this. */
const FRESH_MS = 2_000;
/** A switch run this young may not have signed its state yet: writes wait for it rather than being held. */
const STARTING_MS = 60_000;

export interface SwitchDeps {
  client: Client;
  /** the deployment's workflow id prefix: the switch is `<prefix>ks-onboard-write-switch` */
  prefix: string;
  /** the switch runs on the workers' own task queue; one elsewhere is not ours */
  taskQueue: string;
  /** the workers' key: it signs the switch's state, so nothing but a worker can say what it is */
  unsealer?: Unsealer;
}

/** The state in a switch run's memo, when a worker signed it for this switch; undefined otherwise. */
function signedState(deps: SwitchDeps, memo: Record<string, unknown> | undefined): WriteSwitchState | undefined {
  const signed = memo?.[WRITE_SWITCH_MEMO] as Partial<SignedSwitchState> | undefined;
  if (!signed?.state || typeof signed.mac !== 'string' || !deps.unsealer) return undefined;
  const workflowId = WORKFLOW_ID.writeSwitch(deps.prefix);
  return deps.unsealer.checkMac(carryText({ workflowId, carry: signed.state }), signed.mac) ? signed.state : undefined;
}

/** A switch that cannot be trusted holds every write: failing closed, said plainly, ended by `ks-onboard resume`. */
function untrusted(deps: SwitchDeps, why: string): WriteSwitchState {
  return {
    paused: true,
    version: -1,
    by: 'nobody: the switch cannot be trusted',
    since: new Date().toISOString(),
    reason: `the pause switch ${WORKFLOW_ID.writeSwitch(deps.prefix)} ${why}; writes are held until a platform-admin runs ks-onboard resume`,
  };
}

function stateOfRun(deps: SwitchDeps, description: WorkflowExecutionDescription): WriteSwitchState {
  if (description.type !== WRITE_SWITCH_TYPE || description.taskQueue !== deps.taskQueue)
    return untrusted(deps, `is held by a workflow of type ${description.type} on task queue ${description.taskQueue}`);
  const state = signedState(deps, description.memo);
  if (state) return state;
  if (description.status.name === 'RUNNING' && Date.now() - description.startTime.getTime() < STARTING_MS)
    throw ApplicationFailure.create({
      type: 'WriteSwitchUnknown',
      message: 'the pause switch is starting: its state is not signed yet',
      nonRetryable: false,
    });
  return untrusted(deps, 'has a state no worker signed');
}

/**
 * The switch as the workers trust it: its latest run, which must be our switch on our task queue with a state a
 * worker signed (whatever that run's status: a switch terminated while paused still holds writes). No switch
 * ever: writes allowed. Not knowing is never "allowed": a read that fails is retried like any transient failure.
 */
export async function trustedSwitchState(deps: SwitchDeps): Promise<WriteSwitchState> {
  let description: WorkflowExecutionDescription;
  try {
    description = await deps.client.workflow.getHandle(WORKFLOW_ID.writeSwitch(deps.prefix)).describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return UNPAUSED;
    throw ApplicationFailure.create({
      type: 'WriteSwitchUnknown',
      message: `cannot read the pause switch ${WORKFLOW_ID.writeSwitch(deps.prefix)}: ${(error as Error).message}`,
      nonRetryable: false,
    });
  }
  return stateOfRun(deps, description);
}

/**
 * What a new switch run starts from: the signed state of the run before it (the one it continued from, or the
 * newest earlier run of ours), so that terminating a paused switch and starting it afresh does not end a pause.
 */
export async function previousSwitchState(
  deps: SwitchDeps,
  run: { runId: string; continuedFrom?: string },
): Promise<WriteSwitchState> {
  const workflowId = WORKFLOW_ID.writeSwitch(deps.prefix);
  const stateOf = async (runId: string) =>
    stateOfRun(deps, await deps.client.workflow.getHandle(workflowId, runId).describe());
  if (run.continuedFrom) return stateOf(run.continuedFrom);
  const earlier: { runId: string; startedAt: number }[] = [];
  for await (const execution of deps.client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
    if (execution.runId !== run.runId && execution.type === WRITE_SWITCH_TYPE)
      earlier.push({ runId: execution.runId, startedAt: execution.startTime.getTime() });
  const newest = earlier.sort((a, b) => b.startedAt - a.startedAt)[0];
  return newest ? stateOf(newest.runId) : UNPAUSED;
}

/** Reads for the switch workflow and for a held write's workflow (local activities: no client completes them). */
export function createSwitchActivities(deps: SwitchDeps) {
  return {
    async readWriteSwitch(): Promise<WriteSwitchState> {
      return trustedSwitchState(deps);
    },
    async previousSwitchState(run: { runId: string; continuedFrom?: string }): Promise<WriteSwitchState> {
      return previousSwitchState(deps, run);
    },
  };
}
export type SwitchActivities = ReturnType<typeof createSwitchActivities>;

/** The switch, read at most every 2 s per worker (one read in flight at a time). */
export function cachedSwitchReader(deps: SwitchDeps, now = Date.now) {
  let cached: { at: number; state: WriteSwitchState } | undefined;
  let reading: Promise<WriteSwitchState> | undefined;
  return async (): Promise<WriteSwitchState> => {
    if (cached && now() - cached.at < FRESH_MS) return cached.state;
    reading ??= trustedSwitchState(deps).finally(() => (reading = undefined));
    const state = await reading;
    cached = { at: now(), state };
    return state;
  };
}

/** Every write activity asks the switch first; while paused it fails `WritesPaused` (not retried: its workflow waits). */
export function holdWrites<T extends Record<string, (...args: never[]) => Promise<unknown>>>(
  activities: T,
  readSwitch: () => Promise<WriteSwitchState>,
): T {
  const held: Record<string, unknown> = { ...activities };
  for (const name of WRITE_ACTIVITIES) {
    const fn = activities[name];
    if (!fn) continue;
    held[name] = async (...args: never[]) => {
      const state = await readSwitch();
      if (state.paused)
        throw ApplicationFailure.create({
          type: WRITES_PAUSED,
          message: `KubeSphere writes are paused since ${state.since} by ${state.by}: ${state.reason}`,
          nonRetryable: true,
        });
      return fn(...args);
    };
  }
  return held as T;
}
