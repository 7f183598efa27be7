import { ApplicationFailure, condition, setHandler, workflowInfo } from '@temporalio/workflow';
import { FailureType } from '../failures.js';
import type { Grant } from '../policy/plan.js';
import { decideSignal, decideUpdate, type ApprovalState, type DecisionInput } from './definitions.js';

export const DEFAULT_APPROVAL_TIMEOUT = '72h';

/**
 * The wait for an explicit approval of elevated grants. Register it before the first await, so a
 * decision that arrives with the first workflow task is seen.
 */
export class ApprovalGate {
  state: ApprovalState | undefined;

  constructor(grants: Grant[], timeoutMs: number, requestedBy: string | undefined) {
    if (grants.length > 0) {
      const deadline = new Date(workflowInfo().startTime.getTime() + timeoutMs).toISOString();
      this.state = { grants, deadline, ...(requestedBy ? { requestedBy } : {}) };
    }
    // Date inside workflow code is Temporal's deterministic clock (the time of the current workflow task).
    const decide = (input: DecisionInput) => {
      if (this.state && !this.state.decision) this.state.decision = { ...input, at: new Date().toISOString() };
      return this.state!;
    };
    setHandler(decideUpdate, decide, {
      validator: (input) => {
        if (!this.state) throw new Error('nothing here needs an approval');
        if (this.state.decision)
          throw new Error(
            `already ${this.state.decision.approve ? 'approved' : 'rejected'} by ${this.state.decision.by}`,
          );
        if (typeof input?.by !== 'string' || input.by.trim() === '')
          throw new Error('an approval needs the approver ("by")');
        if (typeof input.approve !== 'boolean') throw new Error('"approve" must be true or false');
      },
    });
    setHandler(decideSignal, (input) => {
      if (typeof input?.by === 'string' && input.by.trim() !== '' && typeof input.approve === 'boolean') decide(input);
    });
  }

  get pending(): boolean {
    return this.state !== undefined && this.state.decision === undefined;
  }

  /** Resolves when approved; fails the workflow cleanly on a rejection or when the deadline passes. */
  async wait(): Promise<void> {
    if (!this.state) return;
    const remaining = Date.parse(this.state.deadline) - Date.now();
    const decided = await condition(() => this.state!.decision !== undefined, Math.max(remaining, 1));
    const decision = this.state.decision;
    if (!decided || !decision) {
      throw ApplicationFailure.create({
        type: FailureType.ApprovalTimedOut,
        message: `no approval for ${describe(this.state.grants)} before ${this.state.deadline}`,
        nonRetryable: true,
      });
    }
    if (!decision.approve) {
      throw ApplicationFailure.create({
        type: FailureType.ApprovalRejected,
        message: `${describe(this.state.grants)} rejected by ${decision.by}${decision.reason ? `: ${decision.reason}` : ''}`,
        nonRetryable: true,
      });
    }
  }
}

function describe(grants: Grant[]): string {
  return grants.map((g) => `${g.scope} role ${g.role} on ${g.target}`).join(', ');
}

/** '90s', '15m', '72h', '7d' or a number of milliseconds. */
export function parseDuration(value: string | undefined, fallback: string): number {
  const text = value ?? fallback;
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text);
  if (!match)
    throw ApplicationFailure.create({
      type: FailureType.PolicyViolation,
      message: `approvalTimeout: "${text}" must look like 90s, 15m, 72h or 7d`,
      nonRetryable: true,
    });
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(match[2] ?? 'ms') as 'ms'];
  return Number(match[1]) * unit;
}
