import { escapeControl } from '../../policy/names.js';
import { open, unlink } from 'node:fs/promises';
import type { Command } from 'commander';
import { IMPORT_COLUMNS, rowsOf, writeCsv, type InputRow } from '../../import/write.js';
import type { BatchPerson } from '../../policy/batch.js';
import { projectTarget } from '../../policy/plan.js';
import type { RowFailure } from '../../workflows/batch-definitions.js';
import type { StepName } from '../../workflows/definitions.js';
import {
  batchChildren,
  batchInputs,
  batchView,
  batchWorkflowId,
  notStartedRows,
  openBatch,
  REFUSED,
  rowOutcomes,
  type RowOutcome,
  type RowStatus,
} from '../batch.js';
import { printJson } from '../output.js';
import { ExitError } from '../options.js';
import { withTemporal } from '../temporal-context.js';

/** The report's columns: the row as given, where it stands, each step's outcome for its placement, and why. */
export const REPORT_COLUMNS = [
  'line',
  'username',
  'email',
  'workspace',
  'project',
  'status',
  'user_step',
  'workspace_step',
  'project_step',
  'workspace_member_step',
  'project_member_step',
  'error_type',
  'error_message',
  'workflow_id',
] as const;
export type ReportRow = Record<(typeof REPORT_COLUMNS)[number], string | number>;

interface ReportFlags {
  out?: string;
  failedOnly?: boolean;
  json?: boolean;
  force?: boolean;
}

/** Rows written back by --failed-only: they never got what they asked for. */
const RETRYABLE: RowStatus[] = ['failed', 'not-started'];

export function registerReport(program: Command): void {
  program
    .command('report')
    .description("one line per input row of a batch: its status, each step's outcome, and why it failed")
    .argument('<batch-workflow-id>', 'import-<batchId>')
    .option('--out <file>', 'write the CSV to this file (mode 0600) instead of the standard output')
    .option(
      '--failed-only',
      'write only the failed and not-started rows, in the import format (password column empty), to fix and import again',
    )
    .option('--force', 'replace the --out file if it exists')
    .option('--json', 'print the rows as JSON (with --out: a summary of what was written)')
    .addHelpText(
      'after',
      `
Statuses: done, failed, awaiting-approval, running, not-started (the batch never started it, e.g. after a
cancel or when its workspace could not be made), skipped (an invalid line left out with --skip-invalid), queued
(the batch is still going and has not reached it). No password is ever written: --failed-only leaves the password
column empty; fill it in again for the users who need one.`,
    )
    .action(async (argument: string, flags: ReportFlags) => {
      // Claimed before anything is read: a file that exists is refused at once, and nobody else takes the name.
      const claimed = flags.out && !flags.force ? await claim(flags.out) : false;
      let written = false;
      try {
        await withTemporal(async (client, config) => {
          const ref = await openBatch(client, config, batchWorkflowId(argument, config));
          const view = await batchView(ref);
          const inputs = await batchInputs(ref);
          const children = await batchChildren(ref, inputs.startedAt ? { since: inputs.startedAt } : {});
          const outcomes = await rowOutcomes(client, children, config.workflowIdPrefix);
          const notStarted = await notStartedRows(ref);
          for (const problem of inputs.problems) process.stderr.write(`warning: ${problem}\n`);
          if (!notStarted.ok)
            process.stderr.write(`warning: rows not started are shown without their reason: ${notStarted.why}\n`);
          const going = ref.description.status.name === 'RUNNING';
          const entries = reportEntries(inputs.people, outcomes, notStarted.ok ? notStarted.value : [], going);
          const skipped = inputs.skipped.map((s) => skippedRow(s.line, s.message));

          if (flags.failedOnly) {
            const rows = entries.filter((e) => RETRYABLE.includes(e.status)).map((e) => e.input);
            await writeRows(flags.out, IMPORT_COLUMNS, rows, false);
            written = true;
            const summary = {
              workflowId: ref.workflowId,
              lifecycle: view.progress?.lifecycle ?? view.status.toLowerCase(),
              out: flags.out ?? null,
              rows: rows.length,
              failed: entries.filter((e) => e.status === 'failed').length,
              notStarted: entries.filter((e) => e.status === 'not-started').length,
              skippedLinesLeftOut: skipped.length,
            };
            if (flags.json && flags.out) return printJson(summary);
            const notes = [
              `${rows.length} row(s) to import again (${summary.failed} failed, ${summary.notStarted} not started)${flags.out ? ` written to ${flags.out}` : ''}`,
              'the password column is empty: fill in the passwords again for the users who need one',
            ];
            if (going)
              notes.push(`${ref.workflowId} is still going: rows still working or awaiting approval are not in it`);
            if (skipped.length)
              notes.push(
                `${skipped.length} invalid line(s) left out at import are not in it (lines ${skipped.map((s) => s.line).join(', ')} of the original file)`,
              );
            process.stderr.write(notes.map((n) => `${n}\n`).join(''));
            return;
          }

          const rows = [...entries.map((e) => e.report), ...skipped].sort((a, b) => Number(a.line) - Number(b.line));
          if (flags.json && !flags.out) return printJson(rows);
          await writeRows(flags.out, REPORT_COLUMNS, rows, true);
          written = true;
          const counts = countBy(rows.map((r) => String(r.status)));
          if (flags.json) return printJson({ workflowId: ref.workflowId, out: flags.out, rows: rows.length, counts });
          const line = `${rows.length} row(s): ${Object.entries(counts)
            .map(([status, n]) => `${status} ${n}`)
            .join(', ')}${flags.out ? `; written to ${flags.out}` : ''}\n`;
          process.stderr.write(line);
        });
      } finally {
        if (claimed && !written) await unlink(flags.out!).catch(() => undefined);
      }
    });
}

/** Creates `path` empty with mode 0600, refusing one that exists. */
async function claim(path: string): Promise<true> {
  try {
    await (await open(path, 'wx', 0o600)).close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new ExitError(`${path} exists: pass --force to replace it`, REFUSED);
    throw new ExitError(`cannot write ${path}: ${(error as Error).message}`, REFUSED);
  }
}

/** CSV to the file (a new one of mode 0600, renamed over the claimed name) or to the standard output. */
async function writeRows(
  out: string | undefined,
  header: readonly string[],
  rows: object[],
  escapeFormulas: boolean,
): Promise<void> {
  await writeCsv(out ?? process.stdout, header, rows, { escapeFormulas });
}

interface Entry {
  status: RowStatus;
  /** the row in the import format, for --failed-only (password always empty) */
  input: InputRow;
  report: ReportRow;
}

/** Every row of every person: its status from the person's onboarding, or from the batch when never started. */
export function reportEntries(
  people: BatchPerson[],
  outcomes: Map<string, RowOutcome>,
  notStarted: RowFailure[],
  batchGoing: boolean,
): Entry[] {
  const whyNot = new Map(notStarted.map((f) => [f.username, f]));
  return people.flatMap((person) => {
    const outcome = outcomes.get(person.username);
    const never = whyNot.get(person.username);
    const status: RowStatus = outcome?.status ?? (never || !batchGoing ? 'not-started' : 'queued');
    const error =
      outcome?.error ??
      (never
        ? { type: never.type, message: never.message }
        : status === 'not-started'
          ? { type: 'NotStarted', message: 'the batch ended before it started this row' }
          : undefined);
    return rowsOf(person).map((input) => ({
      status,
      input,
      report: reportRow(input, status, outcome, error),
    }));
  });
}

function reportRow(
  input: InputRow,
  status: RowStatus,
  outcome: RowOutcome | undefined,
  error: { type: string; message: string } | undefined,
): ReportRow {
  const steps = outcome?.state?.steps ?? [];
  const outcomeOf = (step: StepName, target: string | undefined) =>
    target ? (steps.find((s) => s.step === step && (step === 'user' || s.target === target))?.outcome ?? '') : '';
  const project = input.project ? projectTarget(input.cluster || undefined, input.project) : undefined;
  const workspace = input.workspace || undefined;
  return {
    line: input.line,
    username: escapeControl(input.username),
    email: escapeControl(input.email),
    workspace: escapeControl(input.workspace),
    project: escapeControl(input.project),
    status,
    user_step: outcomeOf('user', input.username),
    workspace_step: outcomeOf('workspace', workspace),
    project_step: outcomeOf('project', project),
    workspace_member_step: outcomeOf('workspace-member', workspace),
    project_member_step: outcomeOf('project-member', project),
    // Messages come from workflows (a raw start may carry anything): never a control character on a terminal.
    error_type: escapeControl(error?.type ?? ''),
    error_message: escapeControl(error?.message ?? ''),
    workflow_id: outcome?.workflowId ?? '',
  };
}

function skippedRow(line: number, message: string): ReportRow {
  return {
    line,
    username: '',
    email: '',
    workspace: '',
    project: '',
    status: 'skipped',
    user_step: '',
    workspace_step: '',
    project_step: '',
    workspace_member_step: '',
    project_member_step: '',
    error_type: 'InvalidRow',
    error_message: escapeControl(message),
    workflow_id: '',
  };
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
