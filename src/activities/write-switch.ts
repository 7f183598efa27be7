import { ApplicationFailure } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { readWriteSwitch } from '../temporal/write-switch.js';
import { WORKFLOW_ID } from '../workflows/definitions.js';
import { WRITES_PAUSED, type WriteSwitchState } from '../workflows/switch-definitions.js';

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

/**
 * The switch as the workers read it: the memo of its latest run, whatever that run's status (a switch run that
 * was terminated while paused still holds writes, until a pause or resume starts a new one). No switch: allowed.
 */
export function createSwitchReader(client: Client, prefix: string, now = Date.now) {
  let cached: { at: number; state: WriteSwitchState } | undefined;
  let reading: Promise<WriteSwitchState> | undefined;
  const read = async (): Promise<WriteSwitchState> => {
    try {
      return await readWriteSwitch(client, prefix);
    } catch (error) {
      // Not knowing is not "allowed": the write waits for the activity's retry like any transient failure.
      throw ApplicationFailure.create({
        type: 'WriteSwitchUnknown',
        message: `cannot read the pause switch ${WORKFLOW_ID.writeSwitch(prefix)}: ${(error as Error).message}`,
        nonRetryable: false,
      });
    }
  };
  return async (): Promise<WriteSwitchState> => {
    if (cached && now() - cached.at < FRESH_MS) return cached.state;
    reading ??= read().finally(() => (reading = undefined));
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
          details: [state],
        });
      return fn(...args);
    };
  }
  return held as T;
}
