import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  proxyLocalActivities,
  sleep,
} from '@temporalio/workflow';
import type { SwitchActivities } from '../activities/write-switch.js';
import { FailureType } from '../failures.js';
import { verifyCall } from './activity-options.js';
import { WRITES_PAUSED, type WriteSwitchState } from './switch-definitions.js';

const reads = proxyLocalActivities<SwitchActivities>(verifyCall);

/** How often a held write asks again: soon at first, then once a minute for as long as the pause lasts. */
const FIRST_CHECK_MS = 5_000;
const LAST_CHECK_MS = 60_000;
/**
 * A held write fails at once, before any request; its failure is handled within a write's retry time (and a
 * platform role's wait for its lock) at most. One handled much later was not held continuously (a Reset taking the run up again months later): the
 * request's checks are too old for it, and it is refused, never rechecked into a grant.
 */
const MAX_HOLD_GAP_MS = 25 * 60_000;

/** The write failed `WritesPaused` (the activity, or the child that wrote, said so). */
function isHeld(error: unknown): boolean {
  let cause = error;
  // a platform role is set by a child workflow, whose write was held
  while ((cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) && cause.cause)
    cause = cause.cause;
  return cause instanceof ApplicationFailure && cause.type === WRITES_PAUSED;
}

export interface HoldOptions {
  /** told the pause (as the switch says, read by the worker) and undefined once the write went through */
  onHold: (pause: WriteSwitchState | undefined) => void;
  /** before the write is tried again after a wait (e.g. a recheck of the requester after a long pause) */
  afterHold?: () => Promise<void>;
  /** before it waits, which ends the workflow task */
  beforeHold?: () => Promise<void>;
}

/**
 * Runs a KubeSphere write, and while writes are paused (`ks-onboard pause`) waits on durable timers and tries it
 * again: nothing is lost, nothing is written. A held write's failure is only a hint: the pause is read from the
 * switch itself (a local activity, which no client can complete), and shown from there.
 */
export async function writeUnlessPaused<T>(write: () => Promise<T>, options: HoldOptions): Promise<T> {
  for (let held = 0; ; held++) {
    if (held > 0) await options.afterHold?.();
    const triedAt = Date.now();
    try {
      const result = await write();
      if (held > 0) options.onHold(undefined);
      return result;
    } catch (error) {
      if (!isHeld(error)) throw error;
      if (Date.now() - triedAt > MAX_HOLD_GAP_MS)
        throw ApplicationFailure.create({
          type: FailureType.RequesterRefused,
          message: `this write was held at ${new Date(triedAt).toISOString()} and taken up again at ${new Date(Date.now()).toISOString()} (a Reset?): its checks are too old; request again`,
          nonRetryable: true,
        });
      await options.beforeHold?.();
      const pause = await reads.readWriteSwitch();
      if (pause.paused) options.onHold(pause);
      await sleep(pause.paused ? Math.min(FIRST_CHECK_MS * 2 ** held, LAST_CHECK_MS) : 1_000, {
        summary: pause.paused ? `KubeSphere writes paused by ${pause.by}: check again` : 'the pause just ended',
      });
    }
  }
}

/** The current details of a held step. */
export function heldDetails(step: string, pause: WriteSwitchState): string {
  return `${step}: HELD, KubeSphere writes are paused since ${pause.since} by ${pause.by}: ${pause.reason}; it goes on by itself after ks-onboard resume`;
}
