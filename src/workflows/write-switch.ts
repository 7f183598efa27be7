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
import { FailureType } from '../failures.js';
import { verifyCall } from './activity-options.js';
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

/** Changes a run takes before it continues as new: a switch lives for years, its history stays short. */
const CHANGES_PER_RUN = 100;

function validate(input: SwitchInput, action: 'pause' | 'resume'): void {
  if (typeof input?.proof !== 'string' || !input.proof.startsWith('ks-sealed:'))
    throw new Error(`a ${action} needs a sealed proof of who asks (use ks-onboard ${action})`);
  if (input.reason !== undefined && (typeof input.reason !== 'string' || input.reason.length > 500))
    throw new Error('"reason" must be text of at most 500 characters');
  if (action === 'pause' && !input.reason?.trim()) throw new Error('a pause needs a reason (--reason)');
}

/**
 * The switch that holds every KubeSphere write of the deployment (a KubeSphere upgrade, an incident). Only a
 * platform-admin, verified with KubeSphere like any requester, flips it. The workers read it from the memo (with
 * describe, no query), before each write; a held write fails `WritesPaused` and its workflow waits and tries it
 * again, so no request is lost. A run that is started afresh begins unpaused: a pause is never taken from input.
 */
export async function writeSwitch(carried?: WriteSwitchState): Promise<WriteSwitchState> {
  // What a previous run of this switch handed on; a run started by anyone else is only ever told "unpaused".
  const fromOwnRun = workflowInfo().continuedFromExecutionRunId !== undefined;
  const state: WriteSwitchState = fromOwnRun && carried?.paused === true ? { ...carried } : { paused: false };
  let changes = 0;
  const show = () => {
    upsertMemo({ [WRITE_SWITCH_MEMO]: state });
    setCurrentDetails(
      state.paused
        ? `KubeSphere writes PAUSED since ${state.since} by ${state.by}: ${state.reason}; ks-onboard resume lets them go on`
        : `KubeSphere writes allowed${state.by ? ` (resumed by ${state.by} at ${state.since})` : ''}; ks-onboard pause --reason … holds them`,
    );
  };
  show();

  const flip = async (input: SwitchInput, action: 'pause' | 'resume'): Promise<WriteSwitchState> => {
    let who: string;
    try {
      const authority = await trust.verifyRequester({
        proof: input.proof,
        workflowId: workflowInfo().workflowId,
        request: switchRequest(action, input.reason),
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
    state.paused = action === 'pause';
    state.by = who;
    state.since = new Date(Date.now()).toISOString();
    if (action === 'pause') state.reason = input.reason!.trim();
    else delete state.reason;
    changes++;
    show();
    return { ...state };
  };

  setHandler(writeSwitchQuery, () => state);
  setHandler(pauseWritesUpdate, (input) => flip(input, 'pause'), {
    validator: (input) => validate(input, 'pause'),
    description: 'hold every KubeSphere write: { reason, proof } (proof: ks-onboard pause, a platform-admin)',
  });
  setHandler(resumeWritesUpdate, (input) => flip(input, 'resume'), {
    validator: (input) => validate(input, 'resume'),
    description: 'let KubeSphere writes go on: { proof } (ks-onboard resume, a platform-admin)',
  });

  await condition(() => changes >= CHANGES_PER_RUN || workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  return continueAsNew<typeof writeSwitch>(state);
}
