import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { BATCH_ID } from '../../policy/batch.js';
import { checkWorkspaceName, escapeControl } from '../../policy/names.js';
import type { BatchLifecycle } from '../../workflows/batch-definitions.js';
import { SA, WORKFLOW_ID, type Lifecycle } from '../../workflows/definitions.js';
import { isSearchable, latestRuns, mapLimit, usernameOf, visibilityValue, webUiLink, webUiRunLink } from '../batch.js';
import { printJson } from '../output.js';
import { integerIn } from '../options.js';
import { withTemporal } from '../temporal-context.js';

/** Every lifecycle a person's request or a batch labels itself with (OnboardingState). */
const STATES: Array<Lifecycle | BatchLifecycle> = [
  'validating',
  'scheduled',
  'awaiting-approval',
  'running',
  'paused',
  'done',
  'failed',
  'cancelled',
];
type State = (typeof STATES)[number];

/** What `--type` names, the workflow type it lists and the id its workflows start with (after the prefix). */
const TYPES = {
  onboarding: { workflowType: 'onboardUser', id: (prefix: string) => WORKFLOW_ID.onboard('', prefix) },
  import: { workflowType: 'importBatch', id: (prefix: string) => WORKFLOW_ID.importBatch('', prefix) },
  'change-role': { workflowType: 'changeRole', id: (prefix: string) => `${prefix}change-role-` },
} as const;
type Kind = keyof typeof TYPES;
const KINDS = Object.keys(TYPES) as Kind[];

/** Ids asked for at once when the latest runs of the candidates are read (`WorkflowId IN (…)`). */
const IDS_PER_QUERY = 50;

interface ListFlags {
  batch?: string;
  state?: State;
  workspace?: string;
  type: Kind | 'all';
  json?: boolean;
  limit: number;
}

export interface ListedOnboarding {
  workflowId: string;
  runId: string;
  type: Kind;
  /** absent for a batch */
  username?: string;
  /** OnboardingState; a run that ended otherwise (terminated, timed out…) shows how */
  state: string;
  workspaces: string[];
  startTime: string;
  batchId?: string;
  /** the run's page in the Web UI; null when its address is unknown (TEMPORAL_UI_URL) */
  webUi: string | null;
}

function batchIdFlag(value: string): string {
  if (!BATCH_ID.test(value))
    throw new InvalidArgumentError(
      'a batch id is 1–64 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit',
    );
  return value;
}

/** KubeSphere's rules for a workspace's name: anything else cannot be one, and never reaches the query. */
function workspaceFlag(value: string): string {
  const [problem] = checkWorkspaceName(value, '--workspace');
  if (problem) throw new InvalidArgumentError(`a workspace name ${problem.message.replace(/^".*?" /, '')}`);
  return value;
}

export function registerList(program: Command): void {
  program
    .command('list')
    .description('list onboardings, batches or role changes (the latest run of each), newest first')
    .option('--batch <batchId>', 'only the rows of this batch (import-<batchId>)', batchIdFlag)
    .addOption(new Option('--state <lifecycle>', 'only those whose latest run is in this state').choices(STATES))
    .option('--workspace <ws>', 'only those placing someone in this workspace', workspaceFlag)
    .addOption(
      new Option('--type <type>', 'which workflows: onboardings, batches, role changes, or all')
        .choices([...KINDS, 'all'])
        .default('onboarding'),
    )
    .option('--limit <n>', 'print at most n', integerIn(1, 100_000), 100)
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Read from Temporal's visibility (OnboardingBatchId, OnboardingState, OnboardingUsername, OnboardingWorkspace),
which lags a moment behind. The state and workspaces are the latest run's: a person fixed by a later run is not
listed as failed. The Web UI's own filter (the link printed below the list) matches every run, older ones too.`,
    )
    .action(async (flags: ListFlags) => {
      await withTemporal(async (client, config) => {
        const prefix = config.workflowIdPrefix;
        const kinds = flags.type === 'all' ? KINDS : [flags.type];
        const query = listQuery(kinds, flags);
        const all = (await latestMatching(client, query, prefix, kinds))
          .map((run) => listed(run, prefix, config.namespace))
          .filter((row) => matches(row, flags))
          .sort((a, b) => b.startTime.localeCompare(a.startTime));
        const shown = all.slice(0, flags.limit);
        if (flags.json) return printJson(shown);
        const uiFilter = [query.base, ...query.narrowing].join(' AND ');
        const webUi = webUiLink(config.namespace, uiFilter);
        const lines = shown.length ? [table(shown, kinds.length > 1)] : [`no ${what(kinds)} found`];
        // --batch takes the batch id; its workflow id (import-<batchId>) is an easy mistake to make
        if (!shown.length && flags.batch?.startsWith('import-'))
          lines.push(
            `(--batch takes the batch id: for workflow ${flags.batch}, --batch ${flags.batch.slice('import-'.length)})`,
          );
        if (all.length > shown.length) lines.push(`(${all.length - shown.length} more: --limit ${all.length})`);
        const every = flags.state ? ' (every run, older ones too)' : '';
        lines.push(webUi ? `Web UI${every}: ${webUi}` : `Web UI filter${every}: ${uiFilter}`);
        process.stdout.write(`${lines.join('\n')}\n`);
      });
    });
}

function what(kinds: readonly Kind[]): string {
  if (kinds.length > 1) return 'workflows';
  return { onboarding: 'onboardings', import: 'batches', 'change-role': 'role changes' }[kinds[0]!];
}

/**
 * `base` selects the workflows listed; `narrowing` finds the ids whose some run matches the state or
 * workspace asked for. Visibility cannot select "the latest run per id", so these only find candidates:
 * the latest run of each is read and checked (an id fixed or moved by a later run is then left out).
 */
interface ListQuery {
  base: string;
  narrowing: string[];
}

function listQuery(kinds: readonly Kind[], flags: ListFlags): ListQuery {
  const types = kinds.map((k) => `'${TYPES[k].workflowType}'`);
  const clauses = [types.length === 1 ? `WorkflowType = ${types[0]}` : `WorkflowType IN (${types.join(', ')})`];
  if (flags.batch) clauses.push(`OnboardingBatchId = ${visibilityValue(flags.batch, '--batch')}`);
  const narrowing: string[] = [];
  if (flags.state) narrowing.push(stateClause(flags.state));
  // A KeywordList: `=` matches a list that holds the value.
  if (flags.workspace) narrowing.push(`OnboardingWorkspace = ${visibilityValue(flags.workspace, '--workspace')}`);
  return { base: clauses.join(' AND '), narrowing };
}

/** A run ended from outside keeps its last label: Temporal's status says how it ended (see `listed`). */
function stateClause(state: State): string {
  const label = `OnboardingState = ${visibilityValue(state, '--state')}`;
  if (state === 'failed') return `(${label} OR ExecutionStatus = 'Failed')`;
  if (state === 'cancelled') return `(${label} OR ExecutionStatus = 'Canceled')`;
  return label;
}

/** The latest run of each id of our types (and prefix) that the query finds. */
async function latestMatching(
  client: Client,
  query: ListQuery,
  prefix: string,
  kinds: readonly Kind[],
): Promise<WorkflowExecutionInfo[]> {
  const ours = (run: WorkflowExecutionInfo) =>
    kinds.some((k) => run.type === TYPES[k].workflowType && run.workflowId.startsWith(TYPES[k].id(prefix)));
  const candidates = (await collect(client, [query.base, ...query.narrowing].join(' AND '))).filter(ours);
  if (!query.narrowing.length) return latestRuns(candidates);
  // Every run of the candidates' ids, so that a later run that no longer matches is the one that counts. An id
  // that cannot be put in a query (not one of ours, whatever its type) is left out rather than failing the list.
  const ids = [...new Set(candidates.map((run) => run.workflowId))].filter(isSearchable);
  const chunks = Array.from({ length: Math.ceil(ids.length / IDS_PER_QUERY) }, (_, i) =>
    ids.slice(i * IDS_PER_QUERY, (i + 1) * IDS_PER_QUERY),
  );
  const runs = await mapLimit(chunks, 4, (chunk) =>
    collect(
      client,
      `${query.base} AND WorkflowId IN (${chunk.map((id) => visibilityValue(id, 'workflow id')).join(', ')})`,
    ),
  );
  return latestRuns(runs.flat().filter(ours));
}

async function collect(client: Client, query: string): Promise<WorkflowExecutionInfo[]> {
  const runs: WorkflowExecutionInfo[] = [];
  for await (const run of client.workflow.list({ query })) runs.push(run);
  return runs;
}

/** Checked on the latest run: what visibility matched may have been an older one. */
function matches(row: ListedOnboarding, flags: ListFlags): boolean {
  if (flags.state && row.state !== flags.state) return false;
  if (flags.workspace && !row.workspaces.includes(flags.workspace)) return false;
  return true;
}

/** The labels a closed run may keep: those it set when it ended. */
const FINAL_LABELS = ['done', 'failed', 'cancelled'];

function listed(run: WorkflowExecutionInfo, prefix: string, namespace: string): ListedOnboarding {
  const label = run.typedSearchAttributes.get(SA.state);
  const closed = run.status.name !== 'RUNNING';
  // A run stopped from outside (terminated, timed out) keeps the last state it labelled itself with.
  const state =
    closed && (!label || !FINAL_LABELS.includes(label)) ? run.status.name.toLowerCase() : (label ?? 'unknown');
  const batchId = run.typedSearchAttributes.get(SA.batchId);
  const type = KINDS.find((k) => TYPES[k].workflowType === run.type) ?? 'onboarding';
  return {
    workflowId: run.workflowId,
    runId: run.runId,
    type,
    ...(type === 'import' ? {} : { username: usernameOf(run, prefix) }),
    state,
    workspaces: run.typedSearchAttributes.get(SA.workspace) ?? [],
    startTime: run.startTime.toISOString(),
    ...(batchId ? { batchId } : {}),
    webUi: webUiRunLink(namespace, run.workflowId, run.runId) ?? null,
  };
}

function table(rows: ListedOnboarding[], withType: boolean): string {
  const header = ['WORKFLOW ID', ...(withType ? ['TYPE'] : []), 'USERNAME', 'STATE', 'WORKSPACES', 'STARTED'];
  const cells = [
    header,
    ...rows.map((r) =>
      [
        r.workflowId,
        ...(withType ? [r.type] : []),
        r.username ?? '-',
        r.state,
        r.workspaces.join(',') || '-',
        r.startTime,
      ].map(escapeControl),
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
