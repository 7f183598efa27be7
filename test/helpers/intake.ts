import { randomBytes } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { HrConfig } from '../../src/intake/config.js';
import { checkPlacementMapping, type PlacementMapping } from '../../src/intake/placement.js';
import { startIntake, type RunningIntake } from '../../src/intake/server.js';
import type { VendorApiConfig } from '../../src/intake/vendors/api.js';
import { pino } from 'pino';
import { genericHireBody, newWebhookSecret, signGeneric } from './hr-vendors.js';
import type { TemporalHarness } from './temporal.js';

/** The tests' mapping: two departments, three teams (payments-api's role is elevated: operator). */
export const TEST_MAPPING: PlacementMapping = mapping({
  departments: {
    Payments: { workspace: 'payments' },
    Search: { workspace: 'search' },
    Leads: { workspace: 'leads', workspaceRole: 'admin' },
  },
  teams: {
    'Payments Web': { department: 'Payments', workspace: 'payments', project: 'payments-web' },
    'Payments API': { department: 'Payments', workspace: 'payments', project: 'payments-api', projectRole: 'operator' },
    'Search UI': { department: 'Search', workspace: 'search', project: 'search-ui' },
  },
});

export function mapping(raw: unknown): PlacementMapping {
  const checked = checkPlacementMapping(raw);
  if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
  return checked.mapping;
}

export interface IntakeHarnessOptions {
  secrets?: Partial<Record<'generic' | 'bamboohr' | 'hibob', string[]>>;
  mapping?: PlacementMapping;
  leadTimeMs?: number;
  api?: VendorApiConfig;
  /** the worker's HR settings, when they differ from the intake's (undefined: the same) */
  workerHr?: HrConfig | null;
}

/** A worker with HR settings on its own task queue, and the HR intake in front of it on a free port. */
export async function intakeHarness(t: TemporalHarness, emulatorUrl: string, options: IntakeHarnessOptions = {}) {
  const taskQueue = t.taskQueue();
  const secret = newWebhookSecret();
  const token = randomBytes(24).toString('hex');
  const hr: HrConfig & { mapping: PlacementMapping } = {
    vendors: {
      secrets: { generic: [secret], bamboohr: [], hibob: [], ...options.secrets },
      api: options.api ?? {},
    },
    mapping: options.mapping ?? TEST_MAPPING,
    mappingFile: 'test mapping',
    timeZone: 'UTC',
    leadTimeMs: options.leadTimeMs ?? 2 * 86_400_000,
  };
  const workerHr = options.workerHr === undefined ? hr : options.workerHr;
  const worker: Worker = await t.worker(taskQueue, emulatorUrl, {}, undefined, workerHr ? { hr: workerHr } : {});
  const prefix = t.prefixOf(taskQueue);
  /** the intake's log lines (JSON), to check what it says and what it never says */
  const logs: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
  const intake: RunningIntake = await startIntake(
    { client: t.client, taskQueue, prefix, hr, log, token },
    { port: 0, host: '127.0.0.1' },
  );
  let sequence = 0;
  return {
    taskQueue,
    prefix,
    worker,
    intake,
    hr,
    secret,
    token,
    logs,
    /** Posts a body to a vendor path with the given headers (raw: any header, any content type). */
    post(path: string, body: string, headers: Record<string, string> = {}) {
      return fetch(`${intake.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    },
    /** A generic hire, signed with `secret` (default the intake's), delivered now unless told otherwise. */
    deliver(
      data: Record<string, unknown> = {},
      at: { id?: string; timestamp?: number; secret?: string; type?: string } = {},
    ) {
      const body = genericHireBody(
        {
          eventId: `evt-${taskQueue}-${++sequence}`,
          department: 'Payments',
          team: 'Payments Web',
          startDate: today(),
          ...data,
        },
        at.type,
      );
      const headers = signGeneric(at.secret ?? secret, body, {
        id: at.id ?? `msg_${randomBytes(8).toString('hex')}`,
        timestamp: at.timestamp ?? Math.floor(Date.now() / 1000),
      });
      return this.post('/v1/hr/events', body, headers);
    },
    status(workflowId: string, bearer = token) {
      return fetch(`${intake.url}/v1/onboardings/${encodeURIComponent(workflowId)}`, {
        headers: { authorization: `Bearer ${bearer}` },
      });
    },
    /** The intake's log lines (parsed), those with message `msg` (a prefix) when given. */
    logged(msg?: string): LogLine[] {
      const lines = logs.map((line) => JSON.parse(line) as LogLine);
      return msg === undefined ? lines : lines.filter((line) => line.msg.startsWith(msg));
    },
    /**
     * Whether `onboard-<username>` was never started: describe is strongly consistent, where a visibility query lags
     * a start by about a second.
     */
    async neverStarted(username: string): Promise<boolean> {
      const workflowId = `${prefix}onboard-${username}`;
      return t.client.workflow
        .getHandle(workflowId)
        .describe()
        .then(
          () => false,
          (error: unknown) => (error instanceof WorkflowNotFoundError ? true : Promise.reject(error)),
        );
    },
    /** The runs of a workflow id, newest first (visibility: wait for it where a run just started). */
    async runsOf(workflowId: string): Promise<string[]> {
      const runs: string[] = [];
      for await (const w of t.client.workflow.list({ query: `WorkflowId = ${JSON.stringify(workflowId)}` }))
        runs.push(w.runId);
      return runs;
    },
    /** Workflows this harness's task queue has seen (visibility). */
    async workflows(): Promise<string[]> {
      const ids: string[] = [];
      for await (const w of t.client.workflow.list({ query: `TaskQueue = "${taskQueue}"` })) ids.push(w.workflowId);
      return ids.sort();
    },
    async close() {
      await intake.close();
    },
  };
}

/** One line of the intake's log (pino's JSON). */
export type LogLine = { level: number; msg: string } & Record<string, unknown>;

export function today(offsetDays = 0): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}
