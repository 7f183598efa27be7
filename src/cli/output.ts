import { escapeControl } from '../policy/names.js';
import type { BatchProgress } from '../workflows/batch-definitions.js';
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
  if (state.scheduledFor && ['scheduled', 'awaiting-approval', 'validating'].includes(state.lifecycle))
    lines.push(`  provisioned at: ${state.scheduledFor} (the start date less the lead time)`);
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

/** A batch at a glance: lifecycle (and why), totals by outcome, the first failures, where to look further. */
export function formatProgress(
  workflowId: string,
  progress: BatchProgress,
  more: { failure?: string; webUi?: string; filter?: string } = {},
): string {
  const why = progress.reason ? ` (${escapeControl(progress.reason)})` : '';
  const lines = [`${workflowId}: ${progress.lifecycle}${why}`];
  if (progress.requestedBy) lines.push(`  requested by: ${progress.requestedBy}`);
  const rows = progress.concurrency === 1 ? 'row' : 'rows';
  lines.push(`  part ${progress.part} of ${progress.parts}, at most ${progress.concurrency} ${rows} at once`);
  const totals: Array<[string, number]> = [
    ['people', progress.people],
    ['rows', progress.rows],
    ['started', progress.started],
    ['running', progress.running],
    ['awaiting approval', progress.awaitingApproval],
    ['done', progress.done],
    ['failed', progress.failed],
    ['not started', progress.notStarted],
    ['skipped', progress.skipped],
  ];
  const width = Math.max(...totals.map(([label]) => label.length)) + 1;
  for (const [label, count] of totals) lines.push(`  ${`${label}:`.padEnd(width)} ${count}`);
  if (progress.notStarted) lines.push('  (rows not started are counted in failed too)');
  if (progress.firstFailures.length) {
    lines.push('  first failures:');
    for (const f of progress.firstFailures) {
      const where = f.lines.length ? `line ${f.lines.join(', ')}` : 'no line';
      lines.push(`    ${where}, ${escapeControl(f.username)}: ${escapeControl(`${f.type}: ${f.message}`)}`);
    }
  }
  if (more.failure) lines.push(`  error: ${escapeControl(more.failure)}`);
  if (more.webUi) lines.push(`  Web UI: ${more.webUi}`);
  else if (more.filter) lines.push(`  Web UI filter: ${more.filter} (set TEMPORAL_UI_URL for a link)`);
  return lines.join('\n');
}

let printedJson = false;

export function printJson(value: unknown): void {
  printedJson = true;
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * With --json, stdout holds one JSON value: an error becomes that value, unless the command already printed its
 * own answer (which says what failed, e.g. a file's problems) and only sets the exit code by throwing.
 */
export function printJsonError(message: string, exitCode: number): void {
  if (printedJson) return;
  printJson({ error: { message, exitCode } });
}
