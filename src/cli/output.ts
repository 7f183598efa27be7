import { escapeControl } from '../policy/names.js';
import type { OnboardingState, StepReport } from '../workflows/definitions.js';
import type { ServerView } from './temporal-context.js';

/** Human output of a step list; --json prints the objects instead. */
export function formatSteps(steps: StepReport[]): string {
  const rows = steps.map((s) => [
    s.step,
    s.target,
    s.outcome,
    [
      s.existingRole && s.outcome === 'kept-existing-role'
        ? `kept ${s.existingRole} (asked ${s.requestedRole})`
        : (s.requestedRole ?? ''),
      s.error ? escapeControl(`${s.error.type}: ${s.error.message}`) : '',
    ]
      .filter(Boolean)
      .join(' '),
  ]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), 4));
  return rows
    .map((r) =>
      `  ${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]!.padEnd(widths[2]!)}  ${r[3]}`.trimEnd(),
    )
    .join('\n');
}

export function formatState(workflowId: string, state: OnboardingState): string {
  const lines = [`${workflowId}: ${state.lifecycle}`];
  if (state.requestedBy) lines.push(`  requested by: ${state.requestedBy}`);
  if (state.approval) {
    const grants = state.approval.grants.map((g) => `${g.scope}:${g.role} on ${g.target}`).join(', ');
    const decision = state.approval.decision;
    const reason = decision?.reason ? ` (${escapeControl(decision.reason)})` : '';
    lines.push(
      decision
        ? `  approval: ${decision.approve ? 'approved' : 'rejected'} by ${decision.by}${reason} for ${grants}`
        : state.approval.expired
          ? `  approval: expired at ${state.approval.deadline} without a decision, for ${grants}`
          : `  approval: waiting for ${grants} until ${state.approval.deadline}`,
    );
  }
  if (state.steps.length) lines.push(formatSteps(state.steps));
  if (state.error) lines.push(`  error: ${escapeControl(`${state.error.type}: ${state.error.message}`)}`);
  return lines.join('\n');
}

/** A running workflow that no worker described: what the server knows (describe() and its first event). */
export function formatServerView(workflowId: string, status: string, view: ServerView): string {
  const who = view.username === undefined ? '' : ` for ${escapeControl(view.username)}`;
  const lines = [
    `${workflowId}: ${status} (${view.unanswered}; is a worker running on task queue ${view.taskQueue}?)`,
    `  ${view.workflowType}${who}, started ${view.startedAt}`,
  ];
  if (view.workflowTask) {
    lines.push(
      `  workflow task: ${view.workflowTask.state}, attempt ${view.workflowTask.attempt} (waits for a worker)`,
    );
  }
  for (const a of view.activities) {
    const next = a.nextAttemptAt ? `, next attempt at ${a.nextAttemptAt}` : '';
    const failure = a.lastFailure ? `; last failure: ${escapeControl(a.lastFailure)}` : '';
    lines.push(`  activity ${a.activity}: ${a.state}, attempt ${a.attempt}${next}${failure}`);
  }
  if (!view.workflowTask && view.activities.length === 0) lines.push('  nothing pending on the server');
  return lines.join('\n');
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
