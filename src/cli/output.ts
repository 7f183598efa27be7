import { escapeControl } from '../policy/names.js';
import type { BatchProgress } from '../workflows/batch-definitions.js';
import type { OnboardingState, StepReport, StepRetry } from '../workflows/definitions.js';
import type { ServerView } from './temporal-context.js';

/** Human output of a step list; --json prints the objects instead. A retrying step gets a line of its own below. */
export function formatSteps(steps: StepReport[], now = Date.now()): string {
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
    .flatMap((r, i) => {
      const line = `  ${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]!.padEnd(widths[2]!)}  ${r[3]}`;
      const retry = steps[i]!.retry;
      return retry ? [line.trimEnd(), `    ${formatRetry(retry, now)}`] : [line.trimEnd()];
    })
    .join('\n');
}

/**
 * `attempt 17, last error: KS_UNAVAILABLE: HTTP 500 …, next try in 8s (00:12:03Z), gives up in 6m12s (00:18:00Z)`:
 * the same line whether the workflow reported the retries or the server's pending activity did.
 */
export function formatRetry(retry: StepRetry, now = Date.now()): string {
  const parts = [`attempt ${retry.attempts}`, `last error: ${escapeControl(oneLine(retry.lastError, 160))}`];
  if (retry.nextAttemptAt) parts.push(`next try ${relative(retry.nextAttemptAt, now)}`);
  else parts.push('trying now');
  parts.push(`gives up ${relative(retry.givesUpAt, now)}`);
  return parts.join(', ');
}

/** `in 8s (00:12:03Z)`, or `now (…)` once the time has passed (the server's clock and ours differ a little). */
function relative(iso: string, now: number): string {
  const at = Date.parse(iso);
  if (!Number.isFinite(at)) return `at ${escapeControl(iso)}`;
  const clock = `${new Date(at).toISOString().slice(11, 19)}Z`;
  return at - now >= 1000 ? `in ${duration(at - now)} (${clock})` : `now (${clock})`;
}

/** `6m12s`, `1h05m`, `8s` */
export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h${String(m % 60).padStart(2, '0')}m` : `${Math.floor(h / 24)}d${h % 24}h`;
}

/** An error on one line, shortened: a step line must stay readable. */
function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function formatState(workflowId: string, state: OnboardingState, now = Date.now()): string {
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
  if (state.steps.length) lines.push(formatSteps(state.steps, now));
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
