import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { BatchActivities, RowEnd } from '../activities/batch.js';
import type { KubeSphereActivities } from '../activities/kubesphere.js';
import type { TrustActivities } from '../activities/trust.js';
import { FailureType } from '../failures.js';
import { grantsNeedingApproval, workspacesOf, type Authority } from '../policy/authority.js';
import {
  batchProofFields,
  DEFAULT_CONCURRENCY,
  DEFAULT_ERROR_BUDGET,
  ensuredKey,
  importBatchInputSchema,
  type BatchPerson,
  type ImportBatchInput,
} from '../policy/batch.js';
import { formatProblems, quote } from '../policy/names.js';
import { onboardingFields, planOnboarding, projectTarget, type OnboardingPlan } from '../policy/plan.js';
import { parseInput, type OnboardUserInput } from '../policy/requests.js';
import { isProtectedWorkspace, type WorkerPolicy } from '../policy/worker-policy.js';
import { kubeCall, policyCall, verifyCall } from './activity-options.js';
import { notifyBeforeClosing, notifyLater } from './notices.js';
import { heldDetails, writeUnlessPaused } from './held-writes.js';
import type { NotifyInput } from '../notify/events.js';
import {
  cancelUpdate,
  joinUpdate,
  notStartedQuery,
  progressQuery,
  partTakenSignal,
  resumeUpdate,
  type BatchCarry,
  type BatchProgress,
  type RowFailure,
} from './batch-definitions.js';
import { rowUpdateSignal, SA, WORKFLOW_ID, type RowUpdate } from './definitions.js';
import { describeFailure } from './failure.js';
import { onboardUser } from './onboard-user.js';
import { labelAttributes } from './labels.js';
import { upsertSearchAttributes } from '@temporalio/workflow';

const ks = proxyActivities<KubeSphereActivities>(kubeCall);
const local = proxyLocalActivities<TrustActivities>(policyCall);
const trust = proxyLocalActivities<TrustActivities>(verifyCall);
const temporal = proxyLocalActivities<BatchActivities>({ ...verifyCall, scheduleToCloseTimeout: '5m' });
/** How long a row's end is waited for after its notice (it ends right after sending it). */
const ROW_END_WAIT_MS = 30_000;
const rowEnds = proxyLocalActivities<BatchActivities>({
  ...verifyCall,
  startToCloseTimeout: '60s',
  scheduleToCloseTimeout: '5m',
});
/**
 * How often rows whose end this run cannot hear from Temporal (attached to, or carried from an earlier run) are
 * looked at, in case their notice never comes.
 */
const SWEEP_UNHEARD = '5 minutes';
/** How long a run waits for its working rows to close before it continues as new without them. */
const DRAIN_FOR = '2 minutes';

/** A batch run continues as new past this many history events (Temporal's hard limit is far above). */
const DEFAULT_CONTINUE_AS_NEW_AFTER = 8000;
/** The requester's authority is read again when older than this (rows check it is under an hour old). */
const REFRESH_AUTHORITY_AFTER_MS = 45 * 60_000;
/** How old the worker's policy passed to rows of protocol 3 may get. */
const POLICY_REFRESH_MS = 5 * 60_000;
/** Workspaces and projects ensured at once by the batch. */
const ENSURE_IN_PARALLEL = 10;
const FIRST_FAILURES = 10;
/** Rows-not-started kept with their reasons (carried from run to run), by size; beyond, only counted. */
const MAX_NOT_STARTED_BYTES = 150_000;
/** A failure's message as the batch keeps it (the row's own workflow has all of it). */
const MAX_MESSAGE = 300;

/**
 * A bulk import: one child `onboardUser` per person, at most `concurrency` working at once. The batch
 * verifies its requester once, ensures each shared workspace and project once, then keeps a sliding window
 * of rows; rows tell it by signal when they wait for an approval (they leave the window) and when they end,
 * so the batch can continue as new at any time without waiting for them (children are abandoned, not tied
 * to a run). It pauses when too many rows fail, until `resume` or `cancel`; it never deletes anything.
 */
export async function importBatch(
  input: ImportBatchInput,
  carried?: BatchCarry & { mac?: string },
): Promise<BatchProgress> {
  const info = workflowInfo();
  /**
   * Rows run as protocol 2 (their steps as local activities, started with their search attributes) and their ends
   * are read from their close in this run; a run drains those rows before it continues as new. Runs recorded
   * before this version read every end from the row's notice.
   */
  const endsFromClose = patched('batch-rows-protocol-2');
  /**
   * Rows of protocol 3 also apply the worker's policy as this run read it (read again every 5 minutes, so that a
   * policy tightened by a redeploy reaches the rows started after it) and, when they wait for nothing, write one
   * audit event: a row's history is then its start, one workflow task, its steps, its search attributes and its end.
   */
  const rowsTakePolicy = endsFromClose && patched('batch-rows-protocol-3');
  // Carried state is taken only from this batch's own previous run, signed by a worker (checked below): a start
  // by any client, a cron or retry run (which Temporal also marks as continued) cannot claim a verification.
  const { mac: carriedMac, ...carriedState } = carried ?? { mac: undefined };
  const carry = carried && info.continuedFromExecutionRunId ? (carriedState as BatchCarry) : undefined;
  /** the carried state exactly as it came, for its signature (the run changes it as it goes) */
  const carriedAsSigned: unknown = carry ? JSON.parse(JSON.stringify(carry)) : undefined;
  const raw = typeof input === 'object' && input !== null ? (input as Partial<ImportBatchInput>) : {};
  const progress: BatchProgress = carry?.progress ?? {
    batchId: typeof raw.batchId === 'string' ? raw.batchId.slice(0, 64) : '',
    lifecycle: 'validating',
    people: 0,
    rows: 0,
    part: 1,
    parts: 1,
    concurrency: DEFAULT_CONCURRENCY,
    started: 0,
    running: 0,
    awaitingApproval: 0,
    done: 0,
    failed: 0,
    notStarted: 0,
    skipped: 0,
    firstFailures: [],
    run: 0,
  };
  progress.run += 1;
  const inFlight: BatchCarry['inFlight'] = carry?.inFlight ?? {};
  const notStarted: RowFailure[] = carry?.notStarted ?? [];
  let notStartedBytes = notStarted.reduce((n, f) => n + sizeOf(f), 0);
  const ensured: BatchCarry['ensured'] = carry?.ensured ?? {};
  const unavailable: BatchCarry['unavailable'] = carry?.unavailable ?? {};
  const blockedCounted = new Set(carry?.blockedCounted ?? []);
  let canaryPassed = carry?.canaryPassed ?? false;
  /** failures and finished rows the error budget no longer counts (before a resume; repeats of one cause) */
  const budgetBase = carry?.budgetBase ?? { failed: 0, finished: 0 };
  let cancelled = carry?.cancelled ?? false;
  /**
   * Rows started by this run, settled when Temporal records their end here. A run ends only after the ends of
   * its finished rows are recorded: one arriving as the run completes would fail that task and, with it, an
   * update (resume, cancel) answered in it.
   */
  const childEnds = new Map<string, Promise<unknown>>();
  /** Rows being started (their start, or attaching to a run already going). */
  const starting = new Set<Promise<void>>();
  const finishedChildEnds = () => Promise.all([...childEnds].filter(([id]) => !inFlight[id]).map(([, end]) => end));

  const failRow = (failure: RowFailure) => {
    failure.message = failure.message.slice(0, MAX_MESSAGE);
    progress.failed += 1;
    if (progress.firstFailures.length < FIRST_FAILURES) progress.firstFailures.push(failure);
  };

  const parsed = parseInput(importBatchInputSchema, input);
  const requestOptionsDigest = parsed.ok ? `${parsed.value.concurrency ?? ''}/${parsed.value.canary ?? ''}` : '';
  setHandler(progressQuery, () => progress);
  setHandler(notStartedQuery, () => notStarted);
  // A row's notice is a hint: anyone may signal a batch. Its end is read from Temporal before it counts.
  const checking = new Set<string>();
  setHandler(rowUpdateSignal, async (update: RowUpdate) => {
    const workflowId = typeof update?.workflowId === 'string' ? update.workflowId : '';
    const row = inFlight[workflowId];
    if (!row || (row.runId !== undefined && row.runId !== update.runId)) return;
    // A row this run started ends with its own close (Temporal records it here): its notice adds nothing.
    // (A row that waited for an approval may send its end before its close reaches this run: its notice counts.)
    const closeComes = endsFromClose && childEnds.has(workflowId) && !row.awaiting;
    if (update.lifecycle === 'awaiting-approval' && !row.awaiting) {
      row.awaiting = true;
      progress.running -= 1;
      progress.awaitingApproval += 1;
    } else if (
      (update.lifecycle === 'done' || update.lifecycle === 'failed') &&
      !closeComes &&
      !checking.has(workflowId)
    ) {
      checking.add(workflowId);
      try {
        const ended = await rowEnds.rowEnded({ workflowId, runId: row.runId, waitMs: ROW_END_WAIT_MS });
        if (ended && inFlight[workflowId] === row) finishRow(workflowId, ended);
      } finally {
        checking.delete(workflowId);
      }
    }
  });
  function finishRow(workflowId: string, ended: RowEnd): void {
    const row = inFlight[workflowId]!;
    if (row.awaiting) progress.awaitingApproval -= 1;
    else progress.running -= 1;
    delete inFlight[workflowId];
    if (ended.lifecycle === 'done') progress.done += 1;
    else
      failRow({
        username: row.username,
        lines: row.lines,
        workflowId,
        type: ended.error?.type ?? 'Error',
        message: ended.error?.message ?? 'failed',
      });
  }
  /**
   * Rows whose end this run may never hear of, read from Temporal now and then: attached to (run by someone else),
   * or carried from an earlier run (their close went to that run; a notice may have been missed).
   */
  async function sweepUnheard(): Promise<void> {
    for (const [workflowId, row] of Object.entries(inFlight)) {
      const carried = endsFromClose && !childEnds.has(workflowId);
      if (!(row.attached || carried) || checking.has(workflowId)) continue;
      const ended = await rowEnds.rowEnded({ workflowId, runId: row.runId, waitMs: 0 });
      if (ended && inFlight[workflowId] === row) finishRow(workflowId, ended);
    }
  }
  setHandler(
    resumeUpdate,
    () => {
      canaryPassed = true;
      budgetBase.failed = progress.failed;
      budgetBase.finished = progress.done + progress.failed;
      if (progress.lifecycle === 'paused') setLifecycle('running');
      return progress;
    },
    {
      validator: () => {
        if (progress.lifecycle !== 'paused')
          throw new Error(`batch ${progress.batchId} is ${progress.lifecycle}, not paused`);
      },
      description: 'go on after a pause (error budget or canary)',
    },
  );
  setHandler(
    cancelUpdate,
    () => {
      cancelled = true;
      return progress;
    },
    {
      validator: () => {
        if (['done', 'failed', 'cancelled'].includes(progress.lifecycle))
          throw new Error(`batch ${progress.batchId} is already ${progress.lifecycle}`);
      },
      description: 'start no more rows; rows already started finish; nothing is deleted',
    },
  );
  // The first join of a batch's first run is its starter's (update-with-start delivers it with the start).
  let joins = 0;
  setHandler(joinUpdate, () => ({ ...progress, joinOrder: carry ? 0 : ++joins }), {
    validator: (asked) => {
      if (parsed.ok && asked?.contentDigest !== parsed.value.contentDigest)
        throw new Error(`${info.workflowId} is importing another file (or the same with other rows)`);
      if (parsed.ok && asked?.requestDigest !== undefined && asked.requestDigest !== requestOptionsDigest)
        throw new Error(`${info.workflowId} is importing this file with other options (--concurrency, --canary)`);
    },
    description: 'attach to this batch: the same file is answered with its progress, another refused',
  });

  function setLifecycle(lifecycle: BatchProgress['lifecycle'], reason?: string) {
    progress.lifecycle = lifecycle;
    if (reason !== undefined) progress.reason = reason;
    else delete progress.reason;
    upsertSearchAttributes([
      { key: SA.state, value: lifecycle },
      ...(progress.batchId ? [{ key: SA.batchId, value: progress.batchId }] : []),
    ]);
  }

  const refuse = async (message: string, type: string = FailureType.PolicyViolation): Promise<never> => {
    setLifecycle('failed', message);
    await condition(allHandlersFinished);
    throw ApplicationFailure.create({
      type,
      message: `batch ${progress.batchId} refused: ${message}`,
      nonRetryable: true,
    });
  };
  if (!parsed.ok) return refuse(formatProblems(parsed.problems));
  const batch = parsed.value;

  if (info.cronSchedule || info.retryPolicy || info.attempt > 1)
    return refuse('a batch runs once: not on a cron schedule, not with a workflow retry policy');
  if (
    carry &&
    !(
      typeof carriedMac === 'string' &&
      (await local.checkCarry({ workflowId: info.workflowId, carry: carriedAsSigned, mac: carriedMac }))
    )
  )
    return refuse('the state carried from a previous run was not signed by a worker for this batch');
  let policy: WorkerPolicy = await local.workerPolicy();
  let policyReadAt = Date.now();
  const prefix = policy.workflowIdPrefix ?? '';
  const expectedId = WORKFLOW_ID.importBatch(batch.batchId, prefix);
  if (info.workflowId !== expectedId) return refuse(`this batch runs only as workflow ${quote(expectedId)}`);

  let requester: Authority;
  let verifiedAt: number;
  if (carry) {
    requester = carry.requester;
    verifiedAt = Date.parse(carry.verifiedAt);
  } else {
    Object.assign(progress, {
      people: batch.people.length + batch.parts.reduce((n, p) => n + p.people, 0),
      rows: batch.rows,
      parts: 1 + batch.parts.length,
      concurrency: batch.concurrency ?? DEFAULT_CONCURRENCY,
      skipped: batch.skipped?.length ?? 0,
    });
    try {
      requester = await trust.verifyRequester({
        proof: batch.source.proof,
        workflowId: info.workflowId,
        request: batchProofFields(batch),
        workspaces: workspacesOfPeople(batch.people),
      });
    } catch (error) {
      const cause = describeFailure(error);
      if (cause.type !== FailureType.RequesterRefused) throw error;
      return refuse(cause.message, cause.type);
    }
    verifiedAt = Date.now();
    progress.requestedBy = requester.username;
  }
  if (progress.lifecycle === 'validating') setLifecycle('running');

  const budget = batch.errorBudget ?? DEFAULT_ERROR_BUDGET;
  const limit = batch.continueAsNewAfter ?? DEFAULT_CONTINUE_AS_NEW_AFTER;
  const people: BatchPerson[] = carry ? carry.people : batch.people;
  let nextPart = carry?.nextPart ?? 0;

  /** Reads the requester's authority again (with the worker's account) when it is getting old; the policy too. */
  async function freshRequester(workspaces: string[]): Promise<void> {
    if (rowsTakePolicy && Date.now() - policyReadAt >= POLICY_REFRESH_MS) {
      policy = await local.workerPolicy();
      policyReadAt = Date.now();
    }
    const missing = workspaces.filter((ws) => !requester.platformAdmin && !requester.workspaceAdminOf.includes(ws));
    if (Date.now() - verifiedAt < REFRESH_AUTHORITY_AFTER_MS && missing.length === 0) return;
    const known = new Set([...requester.workspaceAdminOf, ...workspaces]);
    requester = await trust.readAuthority({ username: requester.username, workspaces: [...known] });
    verifiedAt = Date.now();
  }

  function budgetSpent(): { failed: number; finished: number } {
    return {
      failed: progress.failed - budgetBase.failed,
      finished: progress.done + progress.failed - budgetBase.finished,
    };
  }

  async function pauseWhile(why: () => string | undefined): Promise<void> {
    for (;;) {
      const reason = why();
      if (!reason || cancelled) return;
      setLifecycle('paused', reason);
      notifyLater(policy, batchNotice('batch.paused', progress));
      await condition(() => cancelled || progress.lifecycle !== 'paused');
    }
  }

  const overBudget = (): string | undefined => {
    const { failed, finished } = budgetSpent();
    if (failed < budget.minRows || failed <= budget.share * finished) return undefined;
    const first = progress.firstFailures
      .slice(0, 3)
      .map((f) => `${f.username}: ${f.message}`)
      .join('; ');
    return `error budget spent: ${failed} of ${finished} finished rows failed (more than ${Math.round(budget.share * 100)}%, at least ${budget.minRows}); first: ${first}`;
  };
  const canaryDone = (): string | undefined =>
    batch.canary && !canaryPassed && progress.started >= batch.canary
      ? `canary: the first ${batch.canary} rows were started alone; check them, then resume to start the rest`
      : undefined;

  const shouldContinueAsNew = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > limit;

  async function continueWithRest(rest: BatchPerson[]): Promise<never> {
    await Promise.all(starting);
    // Rows working now end within this run (seconds): only rows waiting for an approval, or run by someone else,
    // are carried, and tell the next run of their end.
    // Within a limit: a row that does not close (held by a long pause, a failing task) is carried, and swept for.
    if (endsFromClose)
      await condition(() => [...childEnds.keys()].every((id) => !inFlight[id] || inFlight[id]!.awaiting), DRAIN_FOR);
    await finishedChildEnds();
    await condition(allHandlersFinished);
    const next: BatchCarry = {
      progress,
      people: rest,
      nextPart,
      inFlight,
      notStarted,
      ensured,
      unavailable,
      requester,
      verifiedAt: new Date(verifiedAt).toISOString(),
      canaryPassed,
      budgetBase,
      blockedCounted: [...blockedCounted],
      ...(cancelled ? { cancelled } : {}),
    };
    // A copy, signed and sent as it is: a row's end or a notice taken while the signature is made changes the live
    // state, never what was signed.
    const frozen = JSON.parse(JSON.stringify(next)) as BatchCarry;
    const mac = await local.signCarry({ workflowId: info.workflowId, carry: frozen });
    // Only the first part's people travel in the input; later runs take theirs from the carry.
    return continueAsNew<typeof importBatch>({ ...batch, people: [] }, { ...frozen, mac });
  }

  for (;;) {
    // The requester's roles as they are now, before deciding what waits for an approval.
    await freshRequester(workspacesOfPeople(people));
    const plans = planPart(people, policy, requester);
    await ensureShared(plans);

    for (let i = 0; i < plans.length; i++) {
      // The window first, so that the rows it waited for count before the error budget is checked.
      await condition(() => cancelled || progress.running < progress.concurrency);
      await pauseWhile(() => canaryDone() ?? overBudget());
      if (cancelled) {
        for (const rest of plans.slice(i))
          skipRow(rest.person, 'Cancelled', 'the batch was cancelled before this row started');
        break;
      }
      if (shouldContinueAsNew()) return continueWithRest(people.slice(i));
      await freshRequester([]);
      // Not awaited: a start completes in a later workflow task, and the window fills with many starts per task.
      const start: Promise<void> = startRow(plans[i]!).finally(() => starting.delete(start));
      starting.add(start);
    }
    await Promise.all(starting);
    if (cancelled) {
      // Parts not taken: their rows are counted as not started, and their workflows let go.
      for (const part of batch.parts.slice(nextPart)) {
        progress.notStarted += part.people;
        progress.failed += part.people;
        await getExternalWorkflowHandle(part.workflowId)
          .signal(partTakenSignal)
          .catch(() => undefined);
      }
      nextPart = batch.parts.length;
      break;
    }
    if (nextPart >= batch.parts.length) break;
    // Each part runs in a run of its own: no run carries more than one part's rows.
    const part = batch.parts[nextPart]!;
    nextPart += 1;
    progress.part = nextPart + 1;
    return continueWithRest(await temporal.takePart({ workflowId: part.workflowId, digest: part.digest }));
  }

  // Every row is started (or left out); wait for those working and those awaiting an approval, unless cancelled.
  for (;;) {
    const settled = await condition(
      () => cancelled || (progress.running === 0 && progress.awaitingApproval === 0) || shouldContinueAsNew(),
      SWEEP_UNHEARD,
    );
    if (cancelled || (progress.running === 0 && progress.awaitingApproval === 0)) break;
    if (settled) return continueWithRest([]);
    await sweepUnheard();
  }
  await finishedChildEnds();
  setLifecycle(
    cancelled ? 'cancelled' : 'done',
    cancelled ? 'cancelled: rows already started finish on their own' : undefined,
  );
  await notifyBeforeClosing(policy, batchNotice('batch.finished', progress));
  await condition(allHandlersFinished);
  return progress;

  // ---- the steps --------------------------------------------------------------------------------------

  function skipRow(person: BatchPerson, type: string, message: string): void {
    const failure = { username: person.username, lines: person.lines, type, message };
    progress.notStarted += 1;
    failRow(failure);
    // Kept within a size, so that the carry (with a part's rows) stays far below Temporal's payload limits.
    const size = sizeOf(failure);
    if (notStartedBytes + size <= MAX_NOT_STARTED_BYTES) {
      notStarted.push(failure);
      notStartedBytes += size;
    }
  }

  /** Each distinct workspace, then project, once for the batch: only those wanted by rows that need no approval. */
  async function ensureShared(plans: PlannedRow[]): Promise<void> {
    const workspaces = new Map<string, { cluster?: string; create: boolean }>();
    const projects = new Map<string, { workspace: string; name: string; cluster?: string; create: boolean }>();
    for (const { plan, pending } of plans) {
      if (!plan || pending) continue;
      for (const ws of plan.workspaces) {
        const cluster = plan.projects.find((p) => p.workspace === ws.name)?.cluster;
        const known = workspaces.get(ws.name);
        workspaces.set(ws.name, { cluster: known?.cluster ?? cluster, create: (known?.create ?? false) || ws.create });
      }
      for (const p of plan.projects) {
        const key = ensuredKey.project(p.workspace, p.cluster, p.name);
        const known = projects.get(key);
        projects.set(key, {
          workspace: p.workspace,
          name: p.name,
          cluster: p.cluster,
          create: (known?.create ?? false) || p.create,
        });
      }
    }
    // After a pause, the requester's roles are read again before the batch writes on their behalf.
    const afterPause = () => freshRequester(workspacesOfPeople(people));
    const inParallel = async <T>(items: T[], run: (item: T) => Promise<void>) => {
      for (let i = 0; i < items.length; i += ENSURE_IN_PARALLEL)
        await Promise.all(items.slice(i, i + ENSURE_IN_PARALLEL).map(run));
    };
    await inParallel(
      [...workspaces].filter(
        ([name]) => !ensured[ensuredKey.workspace(name)] && !unavailable[ensuredKey.workspace(name)],
      ),
      async ([name, w]) => {
        try {
          const result = await heldWhilePaused(
            `ensuring workspace ${name} for the batch`,
            () =>
              ks.ensureWorkspace.executeWithOptions({ ...kubeCall, summary: `ensure workspace ${name} (batch)` }, [
                { name, cluster: w.cluster, create: w.create },
              ]),
            afterPause,
          );
          ensured[ensuredKey.workspace(name)] = result.outcome === 'created' ? 'created' : 'existed';
        } catch (error) {
          unavailable[ensuredKey.workspace(name)] = `workspace ${name}: ${describeFailure(error).message}`;
        }
      },
    );
    await inParallel(
      [...projects].filter(
        ([key, p]) => !ensured[key] && !unavailable[key] && !unavailable[ensuredKey.workspace(p.workspace)],
      ),
      async ([key, p]) => {
        try {
          const result = await heldWhilePaused(
            `ensuring project ${p.name} for the batch`,
            () =>
              ks.ensureProject.executeWithOptions(
                { ...kubeCall, summary: `ensure project ${p.name} in ${p.workspace} (batch)` },
                [p],
              ),
            afterPause,
          );
          ensured[key] = result.outcome === 'created' ? 'created' : 'existed';
        } catch (error) {
          unavailable[key] =
            `project ${projectTarget(p.cluster, p.name)} in ${p.workspace}: ${describeFailure(error).message}`;
        }
      },
    );
    for (const row of plans) {
      if (!row.plan || row.pending) continue;
      const keys = [
        ...row.plan.workspaces.map((w) => ensuredKey.workspace(w.name)),
        ...row.plan.projects.map((p) => ensuredKey.project(p.workspace, p.cluster, p.name)),
      ];
      row.blocked = keys.find((k) => unavailable[k]);
    }
  }

  async function startRow(row: PlannedRow): Promise<void> {
    const { person } = row;
    if (row.refusal) return skipRow(person, FailureType.PolicyViolation, row.refusal);
    if (row.blocked) {
      // Rows that wanted a workspace or project the batch could not ensure count once against the error budget.
      if (blockedCounted.has(row.blocked)) {
        budgetBase.failed += 1;
        budgetBase.finished += 1;
      }
      blockedCounted.add(row.blocked);
      return skipRow(person, 'Unavailable', `not started: ${unavailable[row.blocked]}`);
    }
    const workflowId = WORKFLOW_ID.onboard(person.username, prefix);
    const childInput: OnboardUserInput = {
      username: person.username,
      email: person.email,
      ...(person.sealedPassword ? { sealedPassword: person.sealedPassword } : {}),
      ...(person.globalRole ? { globalRole: person.globalRole } : {}),
      placements: person.placements,
      batchId: batch.batchId,
      source: {
        ...(endsFromClose ? { protocol: rowsTakePolicy ? (3 as const) : (2 as const) } : {}),
        ...(rowsTakePolicy ? { policy } : {}),
        kind: 'batch',
        requester: {
          username: requester.username,
          platformAdmin: requester.platformAdmin,
          workspaceAdminOf: requester.workspaceAdminOf.filter((ws) =>
            person.placements.some((p) => p.workspace === ws),
          ),
        },
        verifiedAt: new Date(verifiedAt).toISOString(),
        // A row that waits for an approval checks its workspace and project itself, after the approval.
        ensured: row.pending ? {} : ensuredFor(row.plan!),
      },
    };
    inFlight[workflowId] = { username: person.username, lines: person.lines, awaiting: false };
    progress.started += 1;
    progress.running += 1;
    for (let attempt = 0; ; attempt++) {
      try {
        const child = await startChild(onboardUser, {
          workflowId,
          args: [childInput],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          staticSummary: `onboard ${person.username} (batch ${batch.batchId}, line ${person.lines.join(', ')})`,
          // Set at the start, so that the row writes them only when its lifecycle changes.
          ...(endsFromClose
            ? { typedSearchAttributes: labelAttributes(row.pending ? 'validating' : 'running', childInput) }
            : {}),
        });
        // A notice may have come with the start (a quick row): it was taken before the run id was known.
        const started = inFlight[workflowId];
        if (started) started.runId = child.firstExecutionRunId;
        childEnds.set(
          workflowId,
          endsFromClose
            ? child.result().then(
                (state) => endOf(workflowId, started, { lifecycle: state.lifecycle === 'done' ? 'done' : 'failed' }),
                (error) => endOf(workflowId, started, { lifecycle: 'failed', error: describeFailure(error) }),
              )
            : child.result().catch(() => undefined),
        );
        return;
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError) || attempt >= 3) {
          finishUnstarted(workflowId, person, describeFailure(error));
          return;
        }
      }
      // Someone else runs this person now (the CLI, the HR intake): the same request is awaited, another refused.
      let attach;
      try {
        attach = await temporal.attachToRunning({
          workflowId,
          fields: onboardingFields(row.plan!),
          requester: requester.username,
          watcher: info.workflowId,
        });
      } catch (error) {
        finishUnstarted(workflowId, person, describeFailure(error));
        return;
      }
      if ('attached' in attach) {
        if (inFlight[workflowId]) Object.assign(inFlight[workflowId]!, { runId: attach.runId, attached: true });
        return;
      }
      if ('conflict' in attach) {
        finishUnstarted(workflowId, person, { type: FailureType.RequestConflict, message: attach.conflict });
        return;
      }
      // It ended meanwhile: start ours.
    }
  }

  /** A row's end as Temporal recorded it in this run, counted unless its end was counted already. */
  function endOf(workflowId: string, row: BatchCarry['inFlight'][string] | undefined, ended: RowEnd): void {
    if (row && inFlight[workflowId] === row) finishRow(workflowId, ended);
  }

  function finishUnstarted(workflowId: string, person: BatchPerson, cause: { type: string; message: string }) {
    delete inFlight[workflowId];
    progress.started -= 1;
    progress.running -= 1;
    skipRow(person, cause.type, cause.message);
  }

  function ensuredFor(plan: OnboardingPlan): Record<string, 'created' | 'existed'> {
    const out: Record<string, 'created' | 'existed'> = {};
    for (const ws of plan.workspaces) {
      const outcome = ensured[ensuredKey.workspace(ws.name)];
      if (outcome) out[ensuredKey.workspace(ws.name)] = outcome;
    }
    for (const p of plan.projects) {
      const key = ensuredKey.project(p.workspace, p.cluster, p.name);
      if (ensured[key]) out[key] = ensured[key];
    }
    return out;
  }
}

/** About how many bytes a row-not-started adds to the carried state. */
/** The counts a receiver is told, not the progress whole: its first failures would weigh on every notice in history. */
function batchNotice(type: 'batch.paused' | 'batch.finished', p: BatchProgress): NotifyInput {
  const { batchId, lifecycle, reason, people, rows, started, running, awaitingApproval, done, failed } = p;
  return {
    type,
    batchId,
    lifecycle,
    ...(reason ? { reason } : {}),
    ...{ people, rows, started, running, awaitingApproval, done, failed },
    notStarted: p.notStarted,
    skipped: p.skipped,
  };
}

/** A shared write of the batch, held (and said so in the current details) while writes are paused. */
function heldWhilePaused<T>(what: string, write: () => Promise<T>, afterHold: () => Promise<void>): Promise<T> {
  return writeUnlessPaused(write, {
    onHold: (pause) => setCurrentDetails(pause ? heldDetails(what, pause) : ''),
    afterHold,
  });
}

function sizeOf(failure: RowFailure): number {
  return failure.message.length + failure.username.length + 12 * failure.lines.length + 40;
}

interface PlannedRow {
  person: BatchPerson;
  plan?: OnboardingPlan;
  /** some grant waits for an approval: its workspace and project are made by the row after the approval */
  pending: boolean;
  /** why the row is refused before it starts */
  refusal?: string;
  /** the key of a workspace or project it needs that the batch could not ensure */
  blocked?: string;
}

/** Each person planned by the same rules as a single onboarding; what waits for approval by the worker's policy. */
function planPart(people: BatchPerson[], policy: WorkerPolicy, requester: Authority): PlannedRow[] {
  // A project is in one workspace: rows that place it in two are refused, as the CSV check does (a raw start
  // skips that check). The first row's workspace stands.
  const projectWorkspace = new Map<string, string>();
  const seen = new Set<string>();
  return people.map((person) => {
    if (seen.has(person.username))
      return {
        person,
        pending: false,
        refusal: `${person.username} appears twice in the batch: one person, one row set`,
      };
    seen.add(person.username);
    const row = planPerson(person, policy, requester);
    for (const p of row.plan?.projects ?? []) {
      const target = projectTarget(p.cluster, p.name);
      const first = projectWorkspace.get(target) ?? p.workspace;
      projectWorkspace.set(target, first);
      if (first !== p.workspace)
        return {
          person,
          pending: false,
          refusal: `project ${target} is placed in workspace ${first} by another row, not ${p.workspace}`,
        };
    }
    return row;
  });
}

function planPerson(person: BatchPerson, policy: WorkerPolicy, requester: Authority): PlannedRow {
  const planned = planOnboarding({
    username: person.username,
    email: person.email,
    ...(person.sealedPassword ? { sealedPassword: person.sealedPassword } : {}),
    ...(person.globalRole ? { globalRole: person.globalRole } : {}),
    placements: person.placements,
  });
  if (!planned.ok) return { person, pending: false, refusal: formatProblems(planned.problems) };
  const protectedOnes = workspacesOf(planned.plan.grants).filter((ws) => isProtectedWorkspace(policy, ws));
  if (protectedOnes.length)
    return {
      person,
      pending: false,
      refusal: `${protectedOnes.map(quote).join(', ')} is protected: nobody is placed in it by ks-onboard`,
    };
  if (policy.workerAccount && person.username === policy.workerAccount)
    return { person, pending: false, refusal: `${person.username} is the worker's own account: never changed` };
  const pending = grantsNeedingApproval(planned.plan.grants, policy, requester).length > 0;
  return { person, plan: planned.plan, pending };
}

function workspacesOfPeople(people: BatchPerson[]): string[] {
  return [...new Set(people.flatMap((p) => p.placements.map((pl) => pl.workspace)))];
}
