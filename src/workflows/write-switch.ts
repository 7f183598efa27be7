import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { TrustActivities } from '../activities/trust.js';
import type { SwitchActivities } from '../activities/write-switch.js';
import { FailureType } from '../failures.js';
import { policyCall, verifyCall } from './activity-options.js';
import { describeFailure } from './failure.js';
import {
  pauseWritesUpdate,
  resumeWritesUpdate,
  switchRequest,
  WRITE_SWITCH_MEMO,
  writeSwitchQuery,
  type SwitchInput,
  type WriteSwitchState,
} from './switch-definitions.js';

const trust = proxyLocalActivities<TrustActivities>(verifyCall);
const keys = proxyLocalActivities<TrustActivities>(policyCall);
const reads = proxyLocalActivities<SwitchActivities>(verifyCall);

/** Changes a run takes before it continues as new: a switch lives for years, its history stays short. */
const CHANGES_PER_RUN = 100;

/** `state` undefined: not known yet (the run is starting), so the version is checked once it is. */
function validate(input: SwitchInput, action: 'pause' | 'resume', state: WriteSwitchState | undefined): void {
  if (typeof input?.proof !== 'string' || !input.proof.startsWith('ks-sealed:'))
    throw new Error(`a ${action} needs a sealed proof of who asks (use ks-onboard ${action})`);
  if (input.reason !== undefined && (typeof input.reason !== 'string' || input.reason.length > 500))
    throw new Error('"reason" must be text of at most 500 characters');
  if (action === 'pause' && !input.reason?.trim()) throw new Error('a pause needs a reason (--reason)');
  if (state && input.version !== state.version)
    throw new Error(
      `the switch is at version ${state.version}, not ${String(input.version)}: it changed since; run the command again`,
    );
}

/** In the handler, a refusal is the update's failure (a plain error there would fail the workflow task). */
function validateInHandler(input: SwitchInput, action: 'pause' | 'resume', state: WriteSwitchState): void {
  try {
    validate(input, action, state);
  } catch (error) {
    throw ApplicationFailure.create({ type: 'SwitchChanged', message: (error as Error).message, nonRetryable: true });
  }
}

/**
 * The switch that holds every KubeSphere write of the deployment (a KubeSphere upgrade, an incident). Only a
 * platform-admin, verified with KubeSphere like any requester, flips it. Its state is signed by a worker and kept
 * in its memo, where the workers read it (describe, no query) before each write; a held write fails
 * `WritesPaused` and its workflow waits and tries it again, so no request is lost. Nothing comes from input: a
 * new run starts from the signed state of the run before it, so a terminated and restarted switch stays paused.
 */
export async function writeSwitch(): Promise<WriteSwitchState> {
  const { workflowId, runId, continuedFromExecutionRunId } = workflowInfo();
  let changes = 0;
  let state: WriteSwitchState = { paused: false, version: 0 };
  // Registered first: an update that comes with the start waits for the state to be known.
  let known = false;
  setHandler(writeSwitchQuery, () => state);

  const show = async () => {
    const mac = await keys.signCarry({ workflowId, carry: state });
    upsertMemo({ [WRITE_SWITCH_MEMO]: { state, mac } });
    setCurrentDetails(
      state.paused
        ? `KubeSphere writes PAUSED since ${state.since} by ${state.by}: ${state.reason}; ks-onboard resume lets them go on`
        : `KubeSphere writes allowed${state.by ? ` (resumed by ${state.by} at ${state.since})` : ''}; ks-onboard pause --reason … holds them`,
    );
  };

  const flip = async (input: SwitchInput, action: 'pause' | 'resume'): Promise<WriteSwitchState> => {
    await condition(() => known);
    validateInHandler(input, action, state);
    let who: string;
    try {
      const authority = await trust.verifyRequester({
        proof: input.proof,
        workflowId,
        request: switchRequest(action, input.version, input.reason),
        workspaces: [],
      });
      if (!authority.platformAdmin)
        throw ApplicationFailure.create({
          type: FailureType.RequesterRefused,
          message: `${authority.username} is not a platform-admin: only a platform-admin may ${action} every KubeSphere write`,
          nonRetryable: true,
        });
      who = authority.username;
    } catch (error) {
      const cause = describeFailure(error);
      throw ApplicationFailure.create({ type: cause.type, message: cause.message, nonRetryable: true });
    }
    // Another change may have been verified meanwhile: this proof was made for the version before it.
    validateInHandler(input, action, state);
    state = {
      paused: action === 'pause',
      version: state.version + 1,
      by: who,
      since: new Date(Date.now()).toISOString(),
      ...(action === 'pause' ? { reason: input.reason!.trim() } : {}),
    };
    changes++;
    await show();
    return state;
  };
  setHandler(pauseWritesUpdate, (input) => flip(input, 'pause'), {
    validator: (input) => validate(input, 'pause', known ? state : undefined),
    description: 'hold every KubeSphere write: { reason, version, proof } (proof: ks-onboard pause, a platform-admin)',
  });
  setHandler(resumeWritesUpdate, (input) => flip(input, 'resume'), {
    validator: (input) => validate(input, 'resume', known ? state : undefined),
    description: 'let KubeSphere writes go on: { version, proof } (ks-onboard resume, a platform-admin)',
  });

  const previous = await reads.previousSwitchState({
    runId,
    ...(continuedFromExecutionRunId ? { continuedFrom: continuedFromExecutionRunId } : {}),
  });
  // A switch that could not be trusted before stays closed: only a verified resume opens it.
  state = previous.version < 0 ? { ...previous, version: 0 } : previous;
  await show();
  known = true;

  await condition(() => changes >= CHANGES_PER_RUN || workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  return continueAsNew<typeof writeSwitch>();
}
