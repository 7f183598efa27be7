import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { HireReading, HrActivities } from '../activities/hr.js';
import type { TrustActivities } from '../activities/trust.js';
import { FailureType } from '../failures.js';
import {
  describeGrant,
  grantsNeedingApproval,
  hrAuthority,
  workspacesOf,
  type Authority,
  type PendingGrant,
} from '../policy/authority.js';
import { checkDuration, APPROVAL_TIMEOUT_BOUNDS } from '../policy/duration.js';
import { formatProblems, quote, type Problem } from '../policy/names.js';
import { requestDifferences, type Grant } from '../policy/plan.js';
import type { BatchSource, HrSource, OnboardingSource } from '../policy/requests.js';
import { isProtectedWorkspace, type WorkerPolicy } from '../policy/worker-policy.js';
import { hrCall, policyCall, verifyCall } from './activity-options.js';
import { ApprovalGate } from './approval.js';
import {
  proposeUpdate,
  requestQuery,
  rowUpdateSignal,
  stateQuery,
  watchSignal,
  WORKFLOW_ID,
  type OnboardingState,
  type RequestAnswer,
} from './definitions.js';
import { describeFailure } from './failure.js';
import { setLifecycle, type Labels } from './labels.js';
import { notifyBeforeClosing, notifyLater, warnBeforeExpiry } from './notices.js';
import { AuditTrail } from './audit.js';

const local = proxyLocalActivities<TrustActivities>(policyCall);
const trust = proxyLocalActivities<TrustActivities>(verifyCall);
const hr = proxyLocalActivities<HrActivities>(hrCall);

/** What a workflow checks beyond its requester, once the worker's policy is known (e.g. protected accounts). */
export type ExtraChecks = (policy: WorkerPolicy, requester: Authority) => Promise<PendingGrant[]>;

/** A request as the session compares and verifies it. */
export interface ProposedRequest {
  /** what two requests must agree on to be the same one */
  fields: Record<string, string>;
  /** what the requester's proof must be bound to (the fields, and the exact sealed values) */
  proofFields: Record<string, string>;
  source: OnboardingSource;
}

/** What an HR delivery's reading must give for its request to run: the request it asks, as the worker reads it. */
export type HireCheck = (reading: HireReading) => Record<string, string> | undefined;

/** The least time a scheduled hire's approver has to decide, even when it is provisioned sooner. */
const MIN_SCHEDULED_APPROVAL_MS = 24 * 3_600_000;

/** A grant into a protected workspace is refused, named. */
function protectedProblems(grants: Grant[], policy: WorkerPolicy): Problem[] {
  return workspacesOf(grants)
    .filter((ws) => isProtectedWorkspace(policy, ws))
    .map((ws) => ({ field: 'workspace', message: `${quote(ws)} is protected: nobody is placed in it by ks-onboard` }));
}

function sameGrant(a: Grant, b: Grant): boolean {
  return a.scope === b.scope && a.role === b.role && a.target === b.target;
}

/** The grants that wait for an approval: the policy's, and the request's own extra checks. */
async function pendingGrants(
  request: { grants: Grant[]; extraChecks?: ExtraChecks },
  policy: WorkerPolicy,
  requester: Authority,
): Promise<PendingGrant[]> {
  const pending = grantsNeedingApproval(request.grants, policy, requester);
  for (const extra of (await request.extraChecks?.(policy, requester)) ?? [])
    if (!pending.some((p) => sameGrant(p, extra))) pending.push(extra);
  return pending;
}

/** A check of KubeSphere (who asks, what they may do) covers work done within this long after it. */
const VERIFIED_FRESH_MS = 60 * 60_000;
/** A batch row applies the worker's policy its batch passed it only when the batch verified its requester this recently. */
const BATCH_POLICY_MAX_AGE_MS = 45 * 60_000;
/** Proposals being verified at once (each may read KubeSphere); more are refused until these finish. */
const MAX_PROPOSALS_IN_FLIGHT = 5;
/** Workflows told when this request waits for an approval and when it ends (its batch, batches attached to it). */
const MAX_WATCHERS = 20;
/** `[<prefix>]import-<batchId>`: the only workflows that watch a request. */
const BATCH_WORKFLOW_ID = /^[\w.-]{0,100}import-[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * The lifecycle every request shares: the worker's policy (a local activity, recorded), the requester's
 * proof (verified with KubeSphere), the grants that wait for an approval, the approval, the work. Handlers
 * are registered in the constructor, before the workflow's first await.
 */
export class RequestSession {
  /** the workflow's own request, read before any handler runs; undefined when the input is invalid */
  private readonly own: ProposedRequest | undefined;
  /** when the requester's authority was read (workflow time) */
  private verifiedAt: number | undefined;
  private proposalsInFlight = 0;
  /** the worker's policy, once obtained */
  policy: WorkerPolicy | undefined;
  private readonly gate: ApprovalGate;
  private readonly watchers = new Set<string>();
  /** whether this request waited for an approval (its batch then hears of its end by signal) */
  private waitedForApproval = false;
  private readonly audit: AuditTrail;
  /** the request run() works on, for a recheck after a long hold */
  private request: { what: string; grants: Grant[]; extraChecks?: ExtraChecks; hireFields?: HireCheck } | undefined;

  constructor(
    readonly state: OnboardingState,
    private readonly labels: Labels,
    /** a proposal, read by the same rules as the workflow's own input; undefined when it is invalid */
    private readonly requestOf: (proposal: unknown) => ProposedRequest | undefined,
    input: unknown,
  ) {
    // Before the handlers: updates that came with the first task are compared with it too.
    this.own = requestOf(input);
    setCurrentDetails("validating: the worker's policy, and who asks as KubeSphere knows them");
    setHandler(stateQuery, () => state);
    setHandler(requestQuery, () => this.own?.fields);
    // A batch runs its rows as children: it hears from each when it waits for an approval and when it ends.
    const parent = workflowInfo().parent;
    if (parent) this.watchers.add(parent.workflowId);
    setHandler(watchSignal, (workflowId) => {
      // Only batches watch a request; one already watching is not told twice.
      if (typeof workflowId !== 'string' || !BATCH_WORKFLOW_ID.test(workflowId) || this.watchers.has(workflowId))
        return;
      if (this.watchers.size >= MAX_WATCHERS) return; // a batch that is not told finds the end by itself (it sweeps)
      this.watchers.add(workflowId);
      // Asked after the last notice went out: this watcher would never hear otherwise.
      if (['awaiting-approval', 'done', 'failed'].includes(this.state.lifecycle)) void this.notify([workflowId]);
    });
    this.gate = new ApprovalGate(() => ({ requester: state.requestedBy, subject: state.username }));
    this.audit = new AuditTrail(
      state,
      labels,
      this.own?.source,
      () => this.policy,
      () => local.workerPolicy(),
    );
    setHandler(proposeUpdate, (proposal) => this.answer(proposal), {
      validator: (proposal) => this.compare(proposal),
      description: 'propose a request: the same one is answered with the plan, a different one refused',
    });
  }

  private compare(proposal: unknown): void {
    if (this.proposalsInFlight >= MAX_PROPOSALS_IN_FLIGHT)
      throw new Error(`${MAX_PROPOSALS_IN_FLIGHT} proposals are being checked already: try again in a moment`);
    if (!this.own) return; // our own input is invalid: the answer says so
    const asked = this.requestOf(proposal);
    if (!asked) throw new Error(`${workflowInfo().workflowId} runs another request; this one is invalid`);
    if (asked.source.kind === 'batch') throw new Error('a batch row is proposed only by its batch, as its child');
    if (
      asked.source.kind === 'hr' &&
      (this.own.source.kind !== 'hr' || this.own.source.eventId !== asked.source.eventId)
    )
      throw new Error(
        `${workflowInfo().workflowId} is already running ${this.runningRequest()}; HR event ${quote(asked.source.eventId)} is not merged into it`,
      );
    const differences = requestDifferences(this.own.fields, asked.fields);
    if (differences.length) {
      const list = differences
        .map((d) => `${d.field} ${quote(d.running)} (running) vs ${quote(d.asked)} (asked)`)
        .join('; ');
      throw new Error(`${workflowInfo().workflowId} is already running a different request: ${list}`);
    }
  }

  /** The request this run works on, as a conflict with an HR delivery names it (never who asked: HR is told). */
  private runningRequest(): string {
    const source = this.own?.source;
    return source?.kind === 'hr' ? `HR event ${quote(source.eventId)}` : 'a request made in ks-onboard';
  }

  private async answer(proposal: unknown): Promise<RequestAnswer> {
    await condition(() => this.state.lifecycle !== 'validating');
    const asked = this.requestOf(proposal);
    if (
      this.own &&
      asked?.source.kind === 'requester' &&
      this.state.requestedBy &&
      (this.own.source.kind !== 'requester' || asked.source.proof !== this.own.source.proof)
    ) {
      this.proposalsInFlight++;
      try {
        await this.sameRequester(asked as ProposedRequest & { source: { kind: 'requester' } });
      } finally {
        this.proposalsInFlight--;
      }
    }
    return {
      runId: workflowInfo().runId,
      lifecycle: this.state.lifecycle,
      ...(this.state.requestedBy ? { requestedBy: this.state.requestedBy } : {}),
      approvals: this.gate.state?.grants ?? [],
      ...(this.gate.state ? { deadline: this.gate.state.deadline } : {}),
      ...(this.own?.source.kind === 'hr' ? { receiptId: this.own.source.receiptId } : {}),
      ...(this.state.scheduledFor ? { scheduledFor: this.state.scheduledFor } : {}),
      ...(this.state.error ? { error: this.state.error } : {}),
    };
  }

  /**
   * Someone else's identical request is not merged into this one: its password, if any, is not theirs to know.
   * The second requester is verified like the first; a different person is refused, named.
   */
  private async sameRequester(asked: ProposedRequest & { source: { kind: 'requester' } }): Promise<void> {
    let username: string;
    try {
      ({ username } = await trust.verifyRequester({
        proof: asked.source.proof,
        workflowId: workflowInfo().workflowId,
        request: asked.proofFields,
        workspaces: [],
      }));
    } catch (error) {
      const cause = describeFailure(error);
      throw ApplicationFailure.create({ type: cause.type, message: cause.message, nonRetryable: true });
    }
    if (username !== this.state.requestedBy)
      throw ApplicationFailure.create({
        type: FailureType.RequestConflict,
        message: `${workflowInfo().workflowId} is already requested by ${this.state.requestedBy}; a request by ${username} is not merged into it`,
        nonRetryable: true,
      });
  }

  /**
   * The worker's policy as the batch read it (at most 5 minutes before it started this row), for a row of protocol
   * 3 that is its batch's child: the batch is worker code. A row that is not (a forgery) reads the policy itself,
   * so that its refusal follows the worker's policy, not its own input's.
   */
  private policyOfBatch(): WorkerPolicy | undefined {
    const source = this.own?.source;
    if (source?.kind !== 'batch' || source.protocol !== 3 || !source.policy) return undefined;
    // Read when the batch last verified its requester, or since: too old (a start long delayed, a Reset), the row
    // reads the policy as it is now.
    if (!(Date.now() - Date.parse(source.verifiedAt) <= BATCH_POLICY_MAX_AGE_MS)) return undefined;
    return this.batchProblem(source, source.policy) ? undefined : source.policy;
  }

  /**
   * The request is about to wait (a retry's timer, a pause, a normal activity) and so to leave its workflow task:
   * a kept-back `request.accepted` is written first, so that no change is ever made with no event of it.
   */
  async beforeWaiting(): Promise<void> {
    await this.audit.flushAccepted();
  }

  /** Why a batch row may not run as such: only its batch starts it, and Temporal records who that is. */
  private batchProblem(source: BatchSource, policy: WorkerPolicy): string | undefined {
    const batchId = typeof this.labels.batchId === 'string' ? this.labels.batchId : '';
    const expected = `${policy.workflowIdPrefix ?? ''}${WORKFLOW_ID.importBatch(batchId)}`;
    const parent = workflowInfo().parent?.workflowId;
    if (!batchId || parent !== expected)
      return `a batch row runs only as a child of its batch ${quote(expected)}, not ${parent ? `of ${quote(parent)}` : 'on its own'}`;
    if (!Number.isFinite(Date.parse(source.verifiedAt))) return `verifiedAt ${quote(source.verifiedAt)} is not a time`;
    return undefined;
  }

  /**
   * Who hears where this request stands now. A batch row of protocol 2 that never waited for an approval does not
   * tell its batch of its end: the batch, which keeps such rows within one run, reads it from the child's own close.
   */
  private watchersNow(): string[] {
    const source = this.own?.source;
    const parent = workflowInfo().parent?.workflowId;
    const quiet = source?.kind === 'batch' && (source.protocol ?? 1) >= 2 && !this.waitedForApproval;
    return [...this.watchers].filter((id) => !(quiet && id === parent));
  }

  /** Tells the watchers where this request stands; one that is gone (a batch that ended) is not an error. */
  private async notify(to: Iterable<string> = this.watchersNow()): Promise<void> {
    const { workflowId, runId } = workflowInfo();
    const update = {
      workflowId,
      runId,
      username: this.state.username,
      lifecycle: this.state.lifecycle,
      ...(this.state.error ? { error: this.state.error } : {}),
    };
    await Promise.all(
      [...to].map((id) =>
        getExternalWorkflowHandle(id)
          .signal(rowUpdateSignal, update)
          .catch(() => undefined),
      ),
    );
  }

  /**
   * The worker verifies the delivery with its own secrets and places the person with its own mapping; the
   * request runs only if that is exactly what it asks. Otherwise why not, and the refusal's failure type.
   */
  private async readHire(
    source: HrSource,
    fields: Record<string, string>,
    request: { hireFields?: HireCheck },
  ): Promise<{ reading: HireReading } | { refused: Problem[]; type: string }> {
    const refused = (problems: Problem[], type: string = FailureType.DeliveryRefused) => ({ refused: problems, type });
    let reading: HireReading;
    try {
      reading = await hr.readHire({
        vendor: source.vendor,
        eventId: source.eventId,
        delivery: source.delivery,
        runStartedAt: workflowInfo().runStartTime.getTime(),
        once: true,
      });
    } catch (error) {
      const cause = describeFailure(error);
      if (cause.type !== FailureType.DeliveryRefused && cause.type !== FailureType.DuplicateDelivery) throw error;
      return refused([{ field: 'source', message: cause.message }], cause.type);
    }
    const read = request.hireFields?.(reading);
    if (!read) return refused([{ field: 'source', message: 'an HR delivery proposes only onboardings' }]);
    const differences = requestDifferences(read, fields);
    if (differences.length)
      return refused(
        differences.map((d) => ({
          field: d.field,
          message: `the delivery, read by the worker, says ${quote(d.running)}, not ${quote(d.asked)}`,
        })),
      );
    return { reading };
  }

  private async awaitApproval(): Promise<void> {
    const gate = this.gate.state!;
    this.waitedForApproval = true;
    setLifecycle(this.state, 'awaiting-approval', this.labels);
    setCurrentDetails(
      `waiting for approval of ${gate.grants.map(describeGrant).join(', ')} until ${gate.deadline}` +
        (this.state.scheduledFor ? `; provisioned at ${this.state.scheduledFor}` : '') +
        ` (by a platform-admin, or that workspace's admin, other than ${this.state.requestedBy ?? 'the requester'} and ${this.state.username}: ks-onboard approve ${workflowInfo().workflowId})`,
    );
    await this.notify();
    const notice = (type: 'approval.awaiting' | 'approval.expiring') => ({
      type,
      username: this.state.username,
      ...(this.state.requestedBy ? { requestedBy: this.state.requestedBy } : {}),
      approval: { grants: gate.grants, deadline: gate.deadline },
    });
    notifyLater(this.policy, notice('approval.awaiting'));
    warnBeforeExpiry(
      this.policy,
      gate.deadline,
      () => !this.gate.pending,
      () => notice('approval.expiring'),
    );
    await this.gate.wait().finally(() => this.audit.approval(this.gate.state));
    if (this.state.scheduledFor && Date.now() < Date.parse(this.state.scheduledFor)) this.showScheduled();
  }

  /** Waits for a hire's provisioning time; `ks-onboard cancel` ends the wait (nothing was changed yet). */
  private async awaitStart(at: number): Promise<void> {
    if (!this.gate.pending) this.showScheduled();
    await sleep(at - Date.now(), { summary: `until ${new Date(at).toISOString()}: the start date less the lead time` });
  }

  private showScheduled(): void {
    setLifecycle(this.state, 'scheduled', this.labels);
    setCurrentDetails(
      `scheduled: provisioned at ${this.state.scheduledFor} (the start date less the lead time); ks-onboard cancel ${workflowInfo().workflowId} stops it`,
    );
  }

  /**
   * Called before each change the request makes: the last check with KubeSphere (the requester's
   * verification, or the approval that followed it, however long it was awaited) covers work done soon after;
   * a Reset that re-runs steps long after needs a new request.
   */
  checkFresh(): void {
    const decided = this.gate.state?.decision?.at;
    const last = Math.max(this.verifiedAt ?? -Infinity, decided ? Date.parse(decided) : -Infinity);
    if (Number.isFinite(last) && Date.now() - last > VERIFIED_FRESH_MS)
      throw ApplicationFailure.create({
        type: FailureType.RequesterRefused,
        message: `this request was last checked with KubeSphere at ${new Date(last).toISOString()}, more than ${VERIFIED_FRESH_MS / 60_000} minutes ago: request again`,
        nonRetryable: true,
      });
  }

  /** The receiver hears of a failed request; a batch's rows are told of by their batch (paused, finished). */
  private async tellFailure(): Promise<void> {
    // Only a request someone was verified for: an unverified one's refusal may carry any text its sender chose.
    if (this.own?.source.kind === 'batch' || !this.state.error || !this.state.requestedBy) return;
    await notifyBeforeClosing(this.policy, {
      type: 'onboarding.failed',
      username: this.state.username || undefined,
      error: this.state.error,
    });
  }

  /**
   * After a long wait (a scheduled hire, a global pause), checks the request again as the worker sees it now: its
   * policy, and the requester's authority read afresh (the delivery read again for an HR hire; the requester's
   * KubeSphere roles, with the worker's own account, otherwise). What would now wait for an approval this run did
   * not get is refused, never granted. Counts as the last check with KubeSphere (checkFresh).
   */
  async recheck(during: string, approvals: 'kept' | 'fresh only' = 'kept'): Promise<void> {
    const request = this.request;
    const own = this.own;
    if (!request || !own) throw new Error('recheck() runs only inside run()');
    let requester: Authority;
    if (own.source.kind === 'hr') {
      const read = await this.readHire(own.source, own.fields, request);
      if ('refused' in read) return await this.refuse(request.what, read.refused, read.type);
      requester = hrAuthority(own.source.vendor, read.reading.mappedGrants);
    } else {
      requester = await trust.readAuthority({
        username: this.state.requestedBy!,
        workspaces: workspacesOf(request.grants),
      });
    }
    const policyNow = await local.workerPolicy();
    const protectedNow = protectedProblems(request.grants, policyNow);
    if (protectedNow.length) return await this.refuse(request.what, protectedNow);
    const decision = this.gate.state?.decision;
    const approvalHolds =
      decision?.approve === true && (approvals === 'kept' || Date.now() - Date.parse(decision.at) <= VERIFIED_FRESH_MS);
    const approved = approvalHolds ? this.gate.state!.grants : [];
    const unapproved = (await pendingGrants(request, policyNow, requester)).filter(
      (grant) => !approved.some((a) => sameGrant(a, grant)),
    );
    if (unapproved.length)
      return await this.refuse(
        request.what,
        unapproved.map((grant) => ({
          field: 'source',
          message: `${during}, the worker's policy, the mapping or the requester's roles changed: ${describeGrant(grant)} now needs an approval (${grant.why}); ${own.source.kind === 'hr' ? 'deliver the hire again' : 'request it again'}`,
        })),
      );
    this.verifiedAt = Date.now();
  }

  /**
   * After a pause held a write: when it outlasted the last check with KubeSphere (checkFresh), the request is
   * checked again; an approval counts only while it is itself that fresh, so a pause never stretches one.
   */
  async recheckAfterPause(): Promise<void> {
    const decided = this.gate.state?.decision?.at;
    const last = Math.max(this.verifiedAt ?? -Infinity, decided ? Date.parse(decided) : -Infinity);
    if (Number.isFinite(last) && Date.now() - last > VERIFIED_FRESH_MS)
      await this.recheck('while KubeSphere writes were paused', 'fresh only');
  }

  /** Fails a request that breaks the rules, before any change, naming each field. */
  async refuse(what: string, problems: Problem[], type: string = FailureType.PolicyViolation): Promise<never> {
    this.state.error = { type, message: formatProblems(problems) };
    setLifecycle(this.state, 'failed', this.labels);
    setCurrentDetails(`refused (${type}): ${this.state.error.message}`);
    await this.audit.refused();
    await this.notify();
    await this.tellFailure();
    await condition(allHandlersFinished);
    throw ApplicationFailure.create({
      type,
      message: `invalid ${what}: ${this.state.error.message}`,
      nonRetryable: true,
      details: [problems],
    });
  }

  /**
   * Checks the request against the worker's policy and the requester's authority, waits for an approval
   * when a grant needs one, then runs the work. Everything after the first await is recorded in history.
   */
  async run<T>(
    request: {
      what: string;
      /** the id this request runs under, before the deployment's prefix (WORKFLOW_ID) */
      workflowId: string;
      grants: Grant[];
      extraChecks?: ExtraChecks;
      /** for an HR delivery: the request's fields as the worker reads the delivery (undefined: not a request of this kind) */
      hireFields?: HireCheck;
    },
    body: () => Promise<T>,
    failure: (cause: { type: string; message: string }, error: unknown) => ApplicationFailure,
  ): Promise<T> {
    const { state, labels } = this;
    const own = this.own;
    if (!own) throw new Error('run() needs a valid request'); // the workflows refuse invalid input before run()
    this.request = request;
    try {
      const policy = (this.policy = this.policyOfBatch() ?? (await local.workerPolicy()));
      const expectedId = `${policy.workflowIdPrefix ?? ''}${request.workflowId}`;
      if (workflowInfo().workflowId !== expectedId)
        return await this.refuse(request.what, [
          {
            field: 'workflowId',
            message: `this request runs only as workflow ${quote(expectedId)}: one at a time per person`,
          },
        ]);
      const timeout = checkDuration(policy.approvalTimeoutMs, APPROVAL_TIMEOUT_BOUNDS);
      if (!timeout.ok)
        return await this.refuse('worker policy', [{ field: 'approvalTimeout', message: timeout.reason }]);
      const protectedOnes = protectedProblems(request.grants, policy);
      if (protectedOnes.length) return await this.refuse(request.what, protectedOnes);

      let requester: Authority;
      let provisionAt: number | undefined;
      if (own.source.kind === 'hr') {
        const read = await this.readHire(own.source, own.fields, request);
        if ('refused' in read) return await this.refuse(request.what, read.refused, read.type);
        const { reading } = read;
        requester = hrAuthority(own.source.vendor, reading.mappedGrants);
        provisionAt = Date.parse(reading.provisionAt);
        this.verifiedAt = Date.now();
      } else if (own.source.kind === 'batch') {
        const problem = this.batchProblem(own.source, policy);
        if (problem) return await this.refuse(request.what, [{ field: 'source', message: problem }]);
        requester = own.source.requester;
        this.verifiedAt = Date.parse(own.source.verifiedAt);
      } else {
        try {
          requester = await trust.verifyRequester({
            proof: own.source.proof,
            workflowId: workflowInfo().workflowId,
            request: own.proofFields,
            workspaces: workspacesOf(request.grants),
          });
        } catch (error) {
          // A proof that does not hold is the request's fault; anything else (KubeSphere down, the worker's own
          // login refused) is a failure to verify, reported as what it is.
          const cause = describeFailure(error);
          if (cause.type !== FailureType.RequesterRefused) throw error;
          return await this.refuse(request.what, [{ field: 'source', message: cause.message }], cause.type);
        }
        this.verifiedAt = Date.now();
      }
      state.requestedBy = requester.username;
      const pending = await pendingGrants(request, policy, requester);
      // A hire to provision later asks for its approval now, due when it is provisioned (with at least a day, or the
      // policy's timeout if shorter, to decide: a hire provisioned sooner waits for the decision).
      const scheduled = provisionAt !== undefined && provisionAt > Date.now();
      const atLeast = Math.min(policy.approvalTimeoutMs, MIN_SCHEDULED_APPROVAL_MS);
      this.gate.open(pending, scheduled ? Math.max(provisionAt! - Date.now(), atLeast) : policy.approvalTimeoutMs);
      state.approval = this.gate.state;
      if (scheduled) state.scheduledFor = new Date(provisionAt!).toISOString();
      // A batch row of protocol 3 that waits for nothing ends in this workflow task: its trail is its end alone.
      const oneEvent = own.source.kind === 'batch' && own.source.protocol === 3 && !this.gate.pending && !scheduled;
      await this.audit.accepted(request.grants, pending, this.gate.state, { write: !oneEvent });
      const approval = this.gate.pending ? this.awaitApproval() : Promise.resolve();
      if (scheduled) await Promise.all([approval, this.awaitStart(provisionAt!)]);
      else await approval;
      // Weeks may have passed: the worker reads the delivery again and applies its policy and mapping as they are now.
      if (scheduled && own.source.kind === 'hr') await this.recheck('while this hire waited');
      setLifecycle(state, 'running', labels);
      setCurrentDetails('running the steps');
      const result = await body();
      await this.audit.closed('completed');
      setLifecycle(state, 'done', labels);
      setCurrentDetails('done: every step succeeded');
      await this.notify();
      await condition(allHandlersFinished);
      return result;
    } catch (error) {
      if (state.lifecycle === 'failed') throw error; // refused above: already reported
      if (isCancellation(error)) {
        // Cancelled while it waited (or between steps): recorded as such; nothing already done is undone.
        setLifecycle(state, 'cancelled', labels);
        setCurrentDetails('cancelled: nothing more is changed; nothing was undone');
        await CancellationScope.nonCancellable(async () => {
          await this.audit.closed('cancelled');
          await this.notify();
          await condition(allHandlersFinished);
        });
        throw error;
      }
      state.error = describeFailure(error);
      setLifecycle(state, 'failed', labels);
      setCurrentDetails(`failed: ${state.error.type}: ${state.error.message}`);
      await this.audit.closed('failed');
      await this.notify();
      await this.tellFailure();
      await condition(allHandlersFinished);
      throw failure(state.error, error);
    }
  }
}
