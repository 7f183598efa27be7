import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, sleep } from '@temporalio/workflow';
import { WRITES_PAUSED, type WriteSwitchState } from './switch-definitions.js';

/** How often a held write asks again: soon at first, then once a minute for as long as the pause lasts. */
const FIRST_CHECK_MS = 5_000;
const LAST_CHECK_MS = 60_000;

/** The pause a write was held by, when it was (the write activity failed `WritesPaused`). */
export function heldBy(error: unknown): WriteSwitchState | undefined {
  let cause = error;
  // a platform role is set by a child workflow, whose write was held
  while ((cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) && cause.cause)
    cause = cause.cause;
  if (!(cause instanceof ApplicationFailure) || cause.type !== WRITES_PAUSED) return undefined;
  const [state] = (cause.details ?? []) as [WriteSwitchState | undefined];
  return state ?? { paused: true };
}

/**
 * Runs a KubeSphere write, and while writes are paused (`ks-onboard pause`) waits on durable timers and tries it
 * again: nothing is lost, nothing is written. `onHold` is told the pause (and undefined once the write went
 * through), and `afterHold` runs before the write is tried again after a wait (e.g. a recheck of the requester).
 */
export async function writeUnlessPaused<T>(
  write: () => Promise<T>,
  onHold: (pause: WriteSwitchState | undefined) => void,
  afterHold: () => Promise<void> = async () => undefined,
): Promise<T> {
  for (let held = 0; ; held++) {
    if (held > 0) await afterHold();
    try {
      const result = await write();
      if (held > 0) onHold(undefined);
      return result;
    } catch (error) {
      const pause = heldBy(error);
      if (!pause) throw error;
      onHold(pause);
      await sleep(Math.min(FIRST_CHECK_MS * 2 ** held, LAST_CHECK_MS), {
        summary: `KubeSphere writes paused by ${pause.by ?? 'a platform-admin'}: check again`,
      });
    }
  }
}

/** The current details of a held step. */
export function heldDetails(step: string, pause: WriteSwitchState): string {
  return `${step}: HELD, KubeSphere writes are paused since ${pause.since} by ${pause.by}: ${pause.reason}; it goes on by itself after ks-onboard resume`;
}
