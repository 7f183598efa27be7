import { ApplicationFailure, condition, proxyLocalActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { TrustActivities } from '../activities/trust.js';
import { FailureType } from '../failures.js';
import { describeGrant, type PendingGrant } from '../policy/authority.js';
import { MAX_SEALED_LENGTH } from '../policy/requests.js';
import { verifyCall } from './activity-options.js';
import { decideUpdate, type ApprovalState, type DecisionInput } from './definitions.js';
import { describeFailure } from './failure.js';

const trust = proxyLocalActivities<TrustActivities>(verifyCall);

/** Decisions being verified at once; more are refused until these finish. */
const MAX_IN_FLIGHT = 5;

/**
 * The wait for an explicit, authenticated approval of pending grants. A decision arrives as the `decide`
 * update with a sealed proof; the validator checks the deadline and that nothing was decided yet (when
 * the update is accepted), the handler has the worker verify the proof with KubeSphere, and the first
 * verified decision wins. A later one is refused with the reason.
 */
export class ApprovalGate {
  state: ApprovalState | undefined;
  private verifying = 0;

  /** Must be constructed before the workflow's first await, so a decision in the first task is seen. */
  constructor(private readonly who: () => { requester?: string; subject: string }) {
    setHandler(decideUpdate, (input) => this.decide(input), {
      validator: (input) => this.validate(input),
      description:
        'approve or reject the pending grants: { approve, reason?, proof } (proof: ks-onboard approve/reject)',
    });
  }

  /** Opens the gate for these grants: from now on decisions are accepted until the deadline. */
  open(grants: PendingGrant[], timeoutMs: number): void {
    if (grants.length === 0) return;
    // Date inside workflow code is Temporal's deterministic clock (the time of the current workflow task).
    this.state = { grants, deadline: new Date(Date.now() + timeoutMs).toISOString() };
  }

  get pending(): boolean {
    return this.state !== undefined && this.state.decision === undefined;
  }

  private validate(input: DecisionInput): void {
    const state = this.state;
    if (!state) throw new Error('nothing here waits for an approval');
    if (state.decision) throw new Error(`already ${decided(state)}`);
    if (state.expired || Date.now() > Date.parse(state.deadline))
      throw new Error(`the approval deadline passed at ${state.deadline}`);
    if (typeof input?.approve !== 'boolean') throw new Error('"approve" must be true or false');
    if (
      typeof input.proof !== 'string' ||
      !input.proof.startsWith('ks-sealed:') ||
      input.proof.length > MAX_SEALED_LENGTH
    )
      throw new Error('a decision needs a sealed proof of the approver (use ks-onboard approve/reject)');
    if (this.verifying >= MAX_IN_FLIGHT)
      throw new Error(`${MAX_IN_FLIGHT} decisions are being verified already: try again in a moment`);
    if (input.reason !== undefined && (typeof input.reason !== 'string' || input.reason.length > 1000))
      throw new Error('"reason" must be text of at most 1000 characters');
  }

  private async decide(input: DecisionInput): Promise<ApprovalState> {
    const state = this.state!;
    const { requester, subject } = this.who();
    let approver: string;
    this.verifying++;
    try {
      ({ approver } = await trust.verifyApprover({
        proof: input.proof,
        workflowId: workflowInfo().workflowId,
        runId: workflowInfo().runId,
        approve: input.approve,
        grants: state.grants,
        requester: requester ?? '',
        subject,
      }));
    } catch (error) {
      const cause = describeFailure(error);
      throw ApplicationFailure.create({ type: cause.type, message: cause.message, nonRetryable: true });
    } finally {
      this.verifying--;
    }
    if (state.decision)
      throw ApplicationFailure.create({
        type: FailureType.ApprovalRefused,
        message: `already ${decided(state)}`,
        nonRetryable: true,
      });
    state.decision = {
      approve: input.approve,
      by: approver,
      ...(input.reason ? { reason: input.reason } : {}),
      at: new Date().toISOString(),
    };
    return state;
  }

  /** Resolves when approved; fails the workflow cleanly on a rejection or when the deadline passes. */
  async wait(): Promise<void> {
    const state = this.state;
    if (!state) return;
    const remaining = Date.parse(state.deadline) - Date.now();
    // The timer's summary is what the Web UI shows for the wait.
    let decided = await condition(() => state.decision !== undefined, Math.max(remaining, 1), {
      summary: `waiting for approval of ${state.grants.map(describeGrant).join(', ')} until ${state.deadline}`,
    });
    // A decision accepted before the deadline counts, even when its verification ends after it.
    if (!decided && this.verifying > 0)
      decided = await condition(() => state.decision !== undefined || this.verifying === 0).then(
        () => state.decision !== undefined,
      );
    const decision = state.decision;
    if (!decided || !decision) {
      state.expired = true;
      throw ApplicationFailure.create({
        type: FailureType.ApprovalTimedOut,
        message: `no approval for ${state.grants.map(describeGrant).join(', ')} before ${state.deadline}`,
        nonRetryable: true,
      });
    }
    if (!decision.approve) {
      throw ApplicationFailure.create({
        type: FailureType.ApprovalRejected,
        message: `${state.grants.map(describeGrant).join(', ')} rejected by ${decision.by}${decision.reason ? `: ${decision.reason}` : ''}`,
        nonRetryable: true,
      });
    }
  }
}

function decided(state: ApprovalState): string {
  const d = state.decision!;
  return `${d.approve ? 'approved' : 'rejected'} by ${d.by}`;
}
