import type { WorkflowExecutionInfo } from '@temporalio/client';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { BATCH_ID } from '../../policy/batch.js';
import { escapeControl } from '../../policy/names.js';
import { SA, WORKFLOW_ID, type Lifecycle } from '../../workflows/definitions.js';
import { latestRuns, usernameOf, visibilityValue } from '../batch.js';
import { printJson } from '../output.js';
import { integerIn } from '../options.js';
import { withTemporal } from '../temporal-context.js';

const LIFECYCLES: Lifecycle[] = ['validating', 'awaiting-approval', 'running', 'done', 'failed'];

interface ListFlags {
  batch?: string;
  state?: Lifecycle;
  json?: boolean;
  limit: number;
}

export interface ListedOnboarding {
  workflowId: string;
  runId: string;
  username: string;
  /** OnboardingState; a run that ended otherwise (terminated, timed out…) shows how */
  state: string;
  workspaces: string[];
  startTime: string;
  batchId?: string;
}

function batchIdFlag(value: string): string {
  if (!BATCH_ID.test(value))
    throw new InvalidArgumentError(
      'a batch id is 1–64 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit',
    );
  return value;
}

export function registerList(program: Command): void {
  program
    .command('list')
    .description('list onboardings (the latest run of each), newest first')
    .option('--batch <batchId>', 'only the rows of this batch (import-<batchId>)', batchIdFlag)
    .addOption(new Option('--state <lifecycle>', 'only onboardings in this state').choices(LIFECYCLES))
    .option('--limit <n>', 'print at most n', integerIn(1, 100_000), 100)
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Read from Temporal's visibility (OnboardingBatchId, OnboardingState, OnboardingUsername, OnboardingWorkspace),
which lags a moment behind. The state is the latest run's: an older run of the same person is not listed.`,
    )
    .action(async (flags: ListFlags) => {
      await withTemporal(async (client, config) => {
        const prefix = config.workflowIdPrefix;
        const clauses = ["WorkflowType = 'onboardUser'"];
        if (flags.batch) clauses.push(`OnboardingBatchId = ${visibilityValue(flags.batch, '--batch')}`);
        // The state is filtered here, on each id's latest run: in the query it would pick older runs too.
        const runs: WorkflowExecutionInfo[] = [];
        for await (const run of client.workflow.list({ query: clauses.join(' AND ') }))
          if (run.workflowId.startsWith(WORKFLOW_ID.onboard('', prefix))) runs.push(run);
        const all = latestRuns(runs)
          .map((run) => listed(run, prefix))
          .filter((row) => !flags.state || row.state === flags.state)
          .sort((a, b) => b.startTime.localeCompare(a.startTime));
        const shown = all.slice(0, flags.limit);
        if (flags.json) return printJson(shown);
        if (!shown.length) {
          process.stdout.write('no onboardings found\n');
          return;
        }
        process.stdout.write(`${table(shown)}\n`);
        if (all.length > shown.length)
          process.stdout.write(`(${all.length - shown.length} more: --limit ${all.length})\n`);
      });
    });
}

function listed(run: WorkflowExecutionInfo, prefix: string): ListedOnboarding {
  const label = run.typedSearchAttributes.get(SA.state);
  const closed = run.status.name !== 'RUNNING';
  // A run stopped from outside (terminated, timed out) keeps the last state it labelled itself with.
  const state =
    closed && (!label || !['done', 'failed'].includes(label)) ? run.status.name.toLowerCase() : (label ?? 'unknown');
  const batchId = run.typedSearchAttributes.get(SA.batchId);
  return {
    workflowId: run.workflowId,
    runId: run.runId,
    username: usernameOf(run, prefix),
    state,
    workspaces: run.typedSearchAttributes.get(SA.workspace) ?? [],
    startTime: run.startTime.toISOString(),
    ...(batchId ? { batchId } : {}),
  };
}

function table(rows: ListedOnboarding[]): string {
  const cells = [
    ['WORKFLOW ID', 'USERNAME', 'STATE', 'WORKSPACES', 'STARTED'],
    ...rows.map((r) =>
      [r.workflowId, r.username, r.state, r.workspaces.join(',') || '-', r.startTime].map(escapeControl),
    ),
  ];
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
