import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BatchPerson } from '../policy/batch.js';

export type BatchLifecycle = 'validating' | 'running' | 'paused' | 'done' | 'failed' | 'cancelled';

/** A row the batch did not start, or that ended badly: who, which lines, why. */
export interface RowFailure {
  username: string;
  lines: number[];
  type: string;
  message: string;
  /** the row's workflow, when it was started */
  workflowId?: string;
}

/** A batch at a glance: what the `progress` query answers and what the batch returns. */
export interface BatchProgress {
  batchId: string;
  lifecycle: BatchLifecycle;
  requestedBy?: string;
  /** why the batch is paused (error budget, canary) or failed */
  reason?: string;
  /** people in the batch (rows of one person are merged), and data rows in the file */
  people: number;
  rows: number;
  part: number;
  parts: number;
  concurrency: number;
  /** rows started (each a child workflow) */
  started: number;
  /** started rows working now: the window */
  running: number;
  awaitingApproval: number;
  done: number;
  failed: number;
  /** rows never started: their workspace failed, a conflicting request, a cancel; also counted in failed */
  notStarted: number;
  /** invalid lines left out with --skip-invalid */
  skipped: number;
  /** the first failures, with their reasons (all of them are in the report) */
  firstFailures: RowFailure[];
  /** runs of this batch so far (continue-as-new) */
  run: number;
}

/** What the batch carries to its next run (continue-as-new): counters and the rows still in flight. */
export interface BatchCarry {
  progress: BatchProgress;
  /** people of the current part not started yet */
  people: BatchPerson[];
  /** the next part to take (index into the input's parts), when the current one is done */
  nextPart: number;
  /** started rows not finished: workflow id → { runId, lines, awaiting } */
  inFlight: Record<
    string,
    { runId?: string; username: string; lines: number[]; awaiting: boolean; attached?: boolean }
  >;
  /** rows not started, with why (the report lists them) */
  notStarted: RowFailure[];
  /** workspace and project keys the batch ensured, with the outcome */
  ensured: Record<string, 'created' | 'existed'>;
  /** keys the batch could not ensure, with why */
  unavailable: Record<string, string>;
  requester: { username: string; platformAdmin: boolean; workspaceAdminOf: string[] };
  verifiedAt: string;
  /** `resume` was given after the canary's rows */
  canaryPassed: boolean;
  /** failures and finished rows the error budget no longer counts (before a resume; repeats of one cause) */
  budgetBase: { failed: number; finished: number };
  /** unavailable workspaces and projects already counted once against the error budget */
  blockedCounted: string[];
  /** a cancel was accepted (while the run drained its rows): the next run starts nothing more */
  cancelled?: boolean;
}

export const progressQuery = defineQuery<BatchProgress>('progress');
/** The rows the batch did not start, with why (for the report). */
export const notStartedQuery = defineQuery<RowFailure[]>('notStarted');
/** Go on after a pause (error budget, canary). */
export const resumeUpdate = defineUpdate<BatchProgress>('resume');
/** Start no more rows; rows already running finish; nothing is deleted. */
export const cancelUpdate = defineUpdate<BatchProgress>('cancel');
/** Attach to a running batch: refused unless it is the same file with the same options. */
/** Answers with the progress and the join's order in the batch's first run (1: the one that started it; 0: a later run). */
export const joinUpdate = defineUpdate<
  BatchProgress & { joinOrder: number },
  [{ contentDigest: string; requestDigest?: string }]
>('join');

/** The rows a part workflow holds, and the signal that its batch has them. */
export const partPeopleQuery = defineQuery<BatchPerson[]>('people');
export const partTakenSignal = defineSignal('taken');
