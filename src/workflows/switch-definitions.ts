import { defineQuery, defineUpdate } from '@temporalio/workflow';

/** Whether KubeSphere writes are held, by whom and why: the one global switch of a deployment. */
export interface WriteSwitchState {
  paused: boolean;
  /** changes so far: a pause or resume proof is bound to the version it was made for, so it cannot be replayed */
  version: number;
  /** the platform-admin who paused or resumed last, as KubeSphere identified them */
  by?: string;
  /** when it was paused (or resumed) */
  since?: string;
  reason?: string;
}

/** The switch's memo: its state, signed by a worker (only workers hold the key), so no client can forge one. */
export interface SignedSwitchState {
  state: WriteSwitchState;
  mac: string;
}

/** `ks-onboard pause` / `resume`: a sealed proof of who asks (a request proof bound to `switchRequest`). */
export interface SwitchInput {
  reason?: string;
  /** the switch's version the proof was made for */
  version: number;
  proof: string;
}

/** What a pause or resume proof is bound to: the action, its reason and the version it changes. */
export function switchRequest(action: 'pause' | 'resume', version: number, reason = ''): Record<string, string> {
  return { action, reason, version: String(version) };
}

export const pauseWritesUpdate = defineUpdate<WriteSwitchState, [SwitchInput]>('pauseWrites');
export const resumeWritesUpdate = defineUpdate<WriteSwitchState, [SwitchInput]>('resumeWrites');
export const writeSwitchQuery = defineQuery<WriteSwitchState>('writeSwitch');

/** The memo key the workers read (describe), so a held write needs no worker to answer a query. */
export const WRITE_SWITCH_MEMO = 'writeSwitch';
export const WRITE_SWITCH_TYPE = 'writeSwitch';

/** Failure type of a write refused because writes are paused: the workflow waits and tries it again. */
export const WRITES_PAUSED = 'WritesPaused';

export const UNPAUSED: WriteSwitchState = { paused: false, version: 0 };
