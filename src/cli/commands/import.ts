import { basename } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { sealerFor } from '../../codec/seal.js';
import { workerPolicyConfig } from '../../config.js';
import {
  checkBatchId,
  checkImportFile,
  formatImportProblem,
  ImportFileError,
  readPeople,
  readSkippedRows,
  type ImportCheck,
} from '../../import/index.js';
import { DEFAULT_CONCURRENCY, DEFAULT_ERROR_BUDGET, MAX_CONCURRENCY, MAX_PART_PEOPLE } from '../../policy/batch.js';
import { escapeControl } from '../../policy/names.js';
import { dryRunImport, startImport, type StartedBatch } from '../../temporal/start-import.js';
import { RequestConflictError } from '../../temporal/start.js';
import { progressQuery, type BatchProgress } from '../../workflows/batch-definitions.js';
import { WORKFLOW_ID } from '../../workflows/definitions.js';
import type { DryRunResult } from '../../workflows/import-dry-run.js';
import { batchFilter, webUiLink } from '../batch.js';
import { ownToken, workersPublicKey } from '../identity.js';
import { ExitError, fraction, integerIn } from '../options.js';
import { printJson } from '../output.js';
import { withTemporal } from '../temporal-context.js';

interface ImportFlags {
  validateOnly?: boolean;
  dryRun?: boolean;
  batchId?: string;
  concurrency?: number;
  canary?: number;
  errorBudget?: number;
  errorBudgetMin?: number;
  skipInvalid?: boolean;
  wait?: boolean;
  json?: boolean;
}

/** Progress lines without a terminal: one every this often. */
const PLAIN_PROGRESS_EVERY_MS = 5_000;

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('import a CSV file: one onboarding per person, in a batch you can watch, pause and report on')
    .argument(
      '<file>',
      'CSV with a header: username,email[,password,global_role,workspace,workspace_role,project,project_role,cluster]',
    )
    .option('--validate-only', 'check every line and print all problems; start nothing')
    .option('--dry-run', 'read KubeSphere (through the worker) and print what would happen; change nothing')
    .option('--batch-id <id>', "the batch's id (default: derived from the file's content, passwords left out)")
    .option(
      '--concurrency <n>',
      `onboardings working at once (default ${DEFAULT_CONCURRENCY})`,
      integerIn(1, MAX_CONCURRENCY),
    )
    .option('--canary <n>', 'run the first n people alone, then wait for `ks-onboard resume`', integerIn(1, 1_000_000))
    .option(
      '--error-budget <share>',
      `pause when more than this share of finished rows failed (default ${DEFAULT_ERROR_BUDGET.share})`,
      fraction,
    )
    .option(
      '--error-budget-min <rows>',
      `...and at least this many (default ${DEFAULT_ERROR_BUDGET.minRows})`,
      integerIn(1, 1_000_000),
    )
    .option('--skip-invalid', 'import the valid people and report the bad lines, instead of refusing the file')
    .option('--wait', 'follow the batch to its end; exit 0 only if every row succeeded')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
You ask as yourself: KUBESPHERE_HOST and KUBESPHERE_USERNAME + KUBESPHERE_PASSWORD (or KUBESPHERE_TOKEN).
Passwords are sealed for the workers as they are read; they never appear in any output, report or history.
Importing the same file again while its batch runs attaches to it; after it ended, it runs again (idempotent).`,
    )
    .action(async (file: string, flags: ImportFlags) => {
      if (flags.batchId !== undefined) {
        const problem = checkBatchId(flags.batchId);
        if (problem) throw new ExitError(`--batch-id: ${problem}`, 2);
      }
      if (flags.validateOnly && flags.dryRun) throw new ExitError('--validate-only and --dry-run: choose one', 2);
      const check = await checkFile(file);
      report(check, flags);
      if (flags.validateOnly) return;

      const publicKey = workersPublicKey();
      const token = await ownToken();
      const batchId = flags.batchId ?? check.batchId;
      const people = readPeople(file, check, { seal: sealerFor(publicKey) });
      await withTemporal(async (client, config) => {
        if (flags.dryRun) {
          const result = await dryRunImport(
            client,
            config.taskQueue,
            batchId,
            people,
            { token, publicKey },
            config.workflowIdPrefix,
          );
          return printDryRun(result, flags.json);
        }
        let started: StartedBatch;
        try {
          started = await startImport(
            client,
            config.taskQueue,
            {
              batchId,
              contentDigest: check.contentDigest,
              file: basename(file),
              rows: check.rows,
              ...(check.problems.length ? { skipped: await skippedLines(file, check) } : {}),
              ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
              ...(flags.canary !== undefined ? { canary: flags.canary } : {}),
              ...(flags.errorBudget !== undefined || flags.errorBudgetMin !== undefined
                ? {
                    errorBudget: {
                      share: flags.errorBudget ?? DEFAULT_ERROR_BUDGET.share,
                      minRows: flags.errorBudgetMin ?? DEFAULT_ERROR_BUDGET.minRows,
                    },
                  }
                : {}),
            },
            people,
            { token, publicKey },
            config.workflowIdPrefix,
          );
        } catch (error) {
          // As for `onboard`: a request that conflicts with the running one is refused (exit 1), naming why.
          if (error instanceof RequestConflictError) throw new ExitError(error.message, 1);
          throw error;
        }
        const workflowId = WORKFLOW_ID.importBatch(batchId, config.workflowIdPrefix);
        const link = webUiLink(config.namespace, batchFilter(batchId));
        if (flags.json && !flags.wait)
          return printJson({ workflowId, batchId, attached: started.attached, webUi: link ?? null });
        if (!flags.json) {
          process.stdout.write(
            `${started.attached ? 'attached to the running' : 'started'} batch ${batchId}: ${check.people} people from ${check.rows} rows\n` +
              `  workflow: ${workflowId}\n` +
              (link ? `  Web UI:   ${link}\n` : '') +
              `  follow:   ks-onboard status ${workflowId}\n` +
              `  report:   ks-onboard report ${workflowId} --out report.csv\n`,
          );
        }
        if (!flags.wait) return;
        const final = await follow(started, flags.json);
        if (flags.json) printJson({ workflowId, webUi: link ?? null, ...final });
        else process.stdout.write(`${summary(final)}\n`);
        if (final.lifecycle !== 'done' || final.failed > 0)
          throw new ExitError(
            `batch ${batchId} ${final.lifecycle}: ${final.failed} row${final.failed === 1 ? '' : 's'} failed`,
            1,
          );
      });
    });
}

async function checkFile(file: string): Promise<ImportCheck> {
  try {
    return await checkImportFile(file, { protectedWorkspaces: workerPolicyConfig().protectedWorkspaces });
  } catch (error) {
    if (error instanceof ImportFileError) throw new ExitError(error.message, 2);
    throw error;
  }
}

/** Every problem of every line; exit 2 unless --skip-invalid may leave the bad people out. */
function report(check: ImportCheck, flags: ImportFlags): void {
  for (const warning of check.warnings) process.stderr.write(`warning: ${escapeControl(warning)}\n`);
  if (check.problems.length) {
    if (flags.json && flags.validateOnly) printJson({ ok: false, rows: check.rows, problems: check.problems });
    else for (const problem of check.problems) process.stderr.write(`${escapeControl(formatImportProblem(problem))}\n`);
    const bad = check.badLines.size;
    const what = `${check.problems.length} problem(s) on ${bad} line(s) of ${check.rows}`;
    if (check.blocking) throw new ExitError(`${what}: the file cannot be imported until it is fixed`, 2);
    if (flags.validateOnly || !flags.skipInvalid)
      throw new ExitError(
        `${what}; nothing started (fix the file${check.people ? `, or --skip-invalid to import the ${check.people} valid people` : ''})`,
        2,
      );
    process.stderr.write(
      `${what}: left out with --skip-invalid (${check.heldPeople.length} people held back whole); they are in the report\n`,
    );
  }
  if (check.people === 0) throw new ExitError('no one to import', 2);
  if (flags.validateOnly) {
    const result = {
      ok: true,
      rows: check.rows,
      people: check.people,
      batchId: check.batchId,
      workspaces: check.workspaces,
      projects: check.projects,
    };
    if (flags.json) printJson(result);
    else
      process.stdout.write(
        `${check.file}: ${check.rows} rows, ${check.people} people, ${check.workspaces.length} workspaces, ${check.projects.length} projects — all valid (batch id ${check.batchId})\n`,
      );
  }
}

/**
 * The lines --skip-invalid leaves out, each with why: bad lines with their problems, and the valid rows of a
 * person held back whole. They travel in the batch's input so that its report lists every line of the file.
 */
async function skippedLines(file: string, check: ImportCheck): Promise<Array<{ line: number; message: string }>> {
  const problems = new Map<number, string[]>();
  for (const p of check.problems) problems.set(p.line, [...(problems.get(p.line) ?? []), formatImportProblem(p)]);
  const skipped: Array<{ line: number; message: string }> = [];
  for await (const row of readSkippedRows(file, check)) {
    const message = problems.get(row.line)?.join('; ') ?? `held back: another row of ${row.username} is invalid`;
    skipped.push({ line: row.line, message: message.slice(0, 1000) });
    if (skipped.length > MAX_PART_PEOPLE)
      throw new ExitError(
        `more than ${MAX_PART_PEOPLE} lines would be left out with --skip-invalid: fix the file first (--validate-only lists them)`,
        2,
      );
  }
  return skipped;
}

function printDryRun(result: DryRunResult, json: boolean | undefined): void {
  if (json) return printJson(result);
  const totals = new Map<string, number>();
  const count = (key: string) => totals.set(key, (totals.get(key) ?? 0) + 1);
  const seen = new Set<string>();
  for (const row of result.rows) {
    const lines = `line ${row.lines.join(',')}`;
    if (row.refusal) {
      count('refused');
      process.stdout.write(`${lines} ${row.username}: refused: ${escapeControl(row.refusal)}\n`);
      continue;
    }
    if (!row.inspection) {
      count('not read (beyond your roles)');
      process.stdout.write(
        `${lines} ${row.username}: not read, ${escapeControl(row.notRead ?? '')}; needs approval: ${escapeControl(row.approvals.join(', '))}\n`,
      );
      continue;
    }
    const i = row.inspection;
    count(
      `user ${i.user.startsWith('exists-but-differs') ? 'exists-but-differs' : i.user.startsWith('exists') ? 'exists' : i.user}`,
    );
    const parts = [`user ${i.user}`];
    for (const ws of i.workspaces) {
      parts.push(`workspace ${ws.name} ${ws.would}`);
      if (!seen.has(`ws:${ws.name}`)) count(`workspace ${ws.would.split(':')[0]}`);
      seen.add(`ws:${ws.name}`);
    }
    for (const p of i.projects) {
      parts.push(`project ${p.target} ${p.would}`);
      if (!seen.has(`p:${p.target}`)) count(`project ${p.would}`);
      seen.add(`p:${p.target}`);
    }
    for (const m of i.memberships) {
      parts.push(`${m.target} as ${m.role}: ${m.would}`);
      count(`membership ${m.would.startsWith('has ') ? 'has another role (kept)' : m.would}`);
    }
    for (const a of row.approvals) {
      parts.push(`needs approval: ${a}`);
      count('grants needing approval');
    }
    process.stdout.write(`${lines} ${row.username}: ${escapeControl(parts.join('; '))}\n`);
  }
  process.stdout.write(`\ndry run as ${result.requestedBy}, nothing changed; in total:\n`);
  for (const [key, n] of [...totals].sort()) process.stdout.write(`  ${key}: ${n}\n`);
}

/** Follows the batch to its end: a bar on a terminal, a line every few seconds otherwise. */
async function follow(started: StartedBatch, json: boolean | undefined): Promise<BatchProgress> {
  const tty = process.stderr.isTTY && !json;
  const bar = tty
    ? new SingleBar(
        {
          format:
            ' {bar} {value}/{total} people | running {running} | awaiting approval {awaiting} | failed {failed} | {lifecycle}',
          stream: process.stderr,
        },
        Presets.shades_classic,
      )
    : undefined;
  let lastLine = 0;
  let progress = started.progress;
  bar?.start(progress.people, 0, {});
  try {
    for (;;) {
      try {
        progress = await started.handle.query(progressQuery);
      } catch {
        // The batch continued as new between two polls, or ended: its result says how it ended.
        const ended = await Promise.race([
          started.handle
            .result()
            .then((p) => p as BatchProgress)
            .catch(() => undefined),
          new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 1000)),
        ]);
        if (ended) return ended;
      }
      const finished = progress.done + progress.failed;
      const fields = {
        running: progress.running,
        awaiting: progress.awaitingApproval,
        failed: progress.failed,
        lifecycle: progress.lifecycle,
      };
      if (bar) {
        bar.setTotal(progress.people);
        bar.update(finished, fields);
      } else if (!json && Date.now() - lastLine >= PLAIN_PROGRESS_EVERY_MS) {
        lastLine = Date.now();
        process.stderr.write(`${summary(progress)}\n`);
      }
      if (['done', 'failed', 'cancelled'].includes(progress.lifecycle)) return progress;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    bar?.stop();
  }
}

function summary(p: BatchProgress): string {
  const why = p.reason ? ` (${escapeControl(p.reason)})` : '';
  return (
    `batch ${p.batchId} ${p.lifecycle}${why}: ${p.done + p.failed}/${p.people} people finished — ` +
    `done ${p.done}, failed ${p.failed} (not started ${p.notStarted}), running ${p.running}, awaiting approval ${p.awaitingApproval}` +
    (p.skipped ? `, invalid lines left out ${p.skipped}` : '')
  );
}
