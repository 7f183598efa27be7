import { patched, proxyLocalActivities, type LocalActivityOptions } from '@temporalio/workflow';
import type { AuditActivities } from '../audit/activity.js';
import type { AuditEventType, AuditInput } from '../audit/events.js';
import type { PendingGrant } from '../policy/authority.js';
import type { Grant } from '../policy/plan.js';
import type { OnboardingSource } from '../policy/requests.js';
import type { WorkerPolicy } from '../policy/worker-policy.js';
import type { ApprovalState, OnboardingState } from './definitions.js';
import type { Labels } from './labels.js';

/**
 * Writing an audit event: a local activity (recorded as a marker, never run again on a replay), cheap, retried for
 * a minute; a trail that cannot be written never fails the request (the worker logs it and counts it).
 */
export const auditCall: LocalActivityOptions = {
  startToCloseTimeout: '10s',
  scheduleToCloseTimeout: '1m',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '10s',
    nonRetryableErrorTypes: ['AuditEventInvalid'],
  },
  summary: 'audit trail',
};

const recorder = proxyLocalActivities<AuditActivities>(auditCall);

type Closing = 'completed' | 'failed' | 'cancelled';

/**
 * A request's audit trail (src/audit, docs/observability.md): one event per lifecycle transition, at most four per
 * request (accepted, the approval's decision, the end; or one refusal), each a local activity marker in history.
 * Only when the worker's policy says so (`audit`), as recorded at the run's start: a run started without it
 * records nothing, so histories from before replay unchanged. Each event's number within the run (`seq`) makes its
 * id stable across retries of the write.
 */
export class AuditTrail {
  private seq = 0;
  private grants: Array<Grant & { why?: string }> | undefined;
  /** `request.accepted`, kept back while the request may end within its workflow task (flushAccepted) */
  private deferred: Partial<AuditInput> | undefined;
  private approvalRequestedAt: string | undefined;

  constructor(
    private readonly state: OnboardingState,
    private readonly labels: Labels,
    private readonly source: OnboardingSource | undefined,
    /** the worker's policy once the run obtained it */
    private readonly policy: () => WorkerPolicy | undefined,
    /** obtains it, for a refusal before the run asked for it (invalid input) */
    private readonly readPolicy: () => Promise<WorkerPolicy>,
  ) {}

  /**
   * The requester is verified and the policy applied: what is asked, and what waits for an approval. Without
   * `write`, the event is kept back: the end event carries the grants, and flushAccepted writes it if the request
   * is about to wait (a retry, a pause, a normal activity), so that no change is ever made with no event of it.
   */
  async accepted(
    grants: Grant[],
    pending: PendingGrant[],
    approval: ApprovalState | undefined,
    { write = true }: { write?: boolean } = {},
  ): Promise<void> {
    const same = (a: Grant, b: Grant) => a.scope === b.scope && a.role === b.role && a.target === b.target;
    this.grants = [
      ...grants.map((grant) => ({ ...grant, why: pending.find((p) => same(p, grant))?.why })),
      ...pending.filter((p) => !grants.some((grant) => same(p, grant))),
    ];
    if (approval) this.approvalRequestedAt = new Date().toISOString();
    const fields = { grants: this.grants, ...this.approvalOf(approval) };
    if (write) await this.record('request.accepted', fields);
    else this.deferred = fields;
  }

  /** Writes `request.accepted` if it was kept back: the request is about to leave its workflow task. */
  async flushAccepted(): Promise<void> {
    const fields = this.deferred;
    if (!fields) return;
    this.deferred = undefined;
    await this.record('request.accepted', fields);
  }

  /** The approval was decided, or its deadline passed (nothing when the wait was cancelled). */
  async approval(approval: ApprovalState | undefined): Promise<void> {
    if (!approval || !(approval.decision || approval.expired)) return;
    const type = approval.decision
      ? approval.decision.approve
        ? 'approval.approved'
        : 'approval.rejected'
      : 'approval.expired';
    await this.record(type, this.approvalOf(approval));
  }

  /** Refused before any change (state.error holds why). */
  async refused(): Promise<void> {
    if (!this.policy() && !patched('audit-trail')) return;
    const policy = this.policy() ?? (await this.readPolicy().catch(() => undefined));
    await this.record('request.refused', { ...this.errorOf() }, policy);
  }

  /** The request ended: every grant and resource with its step's outcome. */
  async closed(outcome: Closing): Promise<void> {
    this.deferred = undefined; // the end carries the grants
    await this.record(`request.${outcome}`, {
      ...(this.grants ? { grants: this.grants } : {}),
      steps: this.state.steps.map((s) => ({
        step: s.step,
        target: s.target,
        outcome: s.outcome,
        ...(s.requestedRole ? { requestedRole: s.requestedRole } : {}),
        ...(s.existingRole ? { existingRole: s.existingRole } : {}),
      })),
      ...this.approvalOf(this.state.approval),
      ...(outcome === 'failed' ? this.errorOf() : {}),
    });
  }

  private approvalOf(approval: ApprovalState | undefined): Pick<AuditInput, 'approval'> {
    if (!approval) return {};
    return {
      approval: {
        grants: approval.grants,
        deadline: approval.deadline,
        ...(this.approvalRequestedAt ? { requestedAt: this.approvalRequestedAt } : {}),
        ...(approval.decision ? { decision: approval.decision } : {}),
        ...(approval.expired ? { expired: true } : {}),
      },
    };
  }

  private errorOf(): Pick<AuditInput, 'error'> {
    const error = this.state.error;
    return error ? { error: { type: error.type, message: error.message } } : {};
  }

  private async record(
    type: AuditEventType,
    fields: Partial<AuditInput>,
    policy: WorkerPolicy | undefined = this.policy(),
  ): Promise<void> {
    if (!policy?.audit) return;
    // Where a request came from is the input's word until a worker verified it (a requester, a delivery, a batch):
    // a refusal before that names no source, so a forged start cannot file itself under a vendor or a batch.
    const verified = this.state.requestedBy !== undefined;
    const source = verified ? this.source : undefined;
    const batchId = verified && typeof this.labels.batchId === 'string' ? this.labels.batchId : undefined;
    const input: AuditInput = {
      seq: ++this.seq,
      time: new Date().toISOString(),
      type,
      subject: this.state.username,
      ...(this.state.requestedBy ? { requestedBy: this.state.requestedBy } : {}),
      ...(source
        ? {
            source: {
              kind: source.kind,
              ...(source.kind === 'hr' ? { vendor: source.vendor, eventId: source.eventId } : {}),
            },
          }
        : {}),
      ...(batchId ? { batchId } : {}),
      ...fields,
    };
    try {
      await recorder.audit(input);
    } catch {
      // Not written within its minute (the worker logged and counted each attempt): the request goes on.
    }
  }
}
