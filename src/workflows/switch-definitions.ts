import { defineQuery, defineUpdate } from '@temporalio/workflow';

/** Whether KubeSphere writes are held, by whom and why: the one global switch of a deployment. */
export interface WriteSwitchState {
  paused: boolean;
  /** the platform-admin who paused or resumed last, as KubeSphere identified them */
  by?: string;
  /** when it was paused (or resumed) */
  since?: string;
  reason?: string;
}

/** `ks-onboard pause` / `resume`: a sealed proof of who asks (a request proof bound to `switchRequest`). */
export interface SwitchInput {
  reason?: string;
  proof: string;
}

/** What a pause or resume proof is bound to: the action and its reason, nothing else. */
export function switchRequest(action: 'pause' | 'resume', reason = ''): Record<string, string> {
  return { action, reason };
}

export const pauseWritesUpdate = defineUpdate<WriteSwitchState, [SwitchInput]>('pauseWrites');
export const resumeWritesUpdate = defineUpdate<WriteSwitchState, [SwitchInput]>('resumeWrites');
export const writeSwitchQuery = defineQuery<WriteSwitchState>('writeSwitch');

/** The memo key the workers read (describe), so a held write needs no worker to answer a query. */
export const WRITE_SWITCH_MEMO = 'writeSwitch';

/** Failure type of a write refused because writes are paused: the workflow waits and tries it again. */
export const WRITES_PAUSED = 'WritesPaused';
