import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchPerson } from '../../src/policy/batch.js';
import { runCli } from '../helpers/cli.js';
import { eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

/** `list` and its filters over the real dev server and emulator, and the Web UI links the commands print. */
let t: TemporalHarness;
let h: EmulatorHarness;
const dir = mkdtempSync(join(tmpdir(), 'ks-cli-list-'));
const BOSS = { username: 'lst-boss', password: 'B0ss-P@ssw0rd' };
const UI = 'http://ui.example:8080';

beforeAll(async () => {
  t = await temporalHarness();
  h = await startEmulator();
  await h.person(BOSS, 'platform-admin');
});
afterAll(async () => {
  await h.close();
  await t.close();
});

function deployment() {
  const { as, ...deployed } = t.cliDeployment(h.emulator.url, dir, { TEMPORAL_UI_URL: UI });
  return { ...deployed, asBoss: as(BOSS) };
}

const json = <T>(output: string): T => JSON.parse(output.slice(output.search(/[[{]/))) as T;
interface Row {
  workflowId: string;
  runId: string;
  type: string;
  username?: string;
  state: string;
  workspaces: string[];
  webUi: string | null;
}
const runPage = (workflowId: string, runId: string) =>
  `${UI}/namespaces/default/workflows/${encodeURIComponent(workflowId)}/${runId}/history`;
const RUN_PAGE = (workflowId: string) =>
  new RegExp(`Web UI: ${UI}/namespaces/default/workflows/${workflowId.replace('.', '\\.')}/[0-9a-f-]{36}/history`);

describe('ks-onboard list', () => {
  it('filters by workspace (the latest run), type and any lifecycle state; prints the Web UI links', async () => {
    const { taskQueue, prefix, env, asBoss } = deployment();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const id = (name: string) => `${prefix}${name}`;
    const onboard = (username: string, ...more: string[]) =>
      runCli(['onboard', '--username', username, '--email', `${username}@list.example`, ...more], env);
    const batchId = `lst-${randomBytes(4).toString('hex')}`;
    const people: BatchPerson[] = [
      {
        username: 'lst-cy',
        email: 'lst-cy@list.example',
        placements: [{ workspace: 'lst-a', line: 2 }],
        lines: [2],
      },
    ];

    await worker.runUntil(async () => {
      const ann = await onboard('lst-ann', '--workspace', 'lst-a', '--wait');
      expect(ann.code, ann.output).toBe(0);
      expect(ann.output).toMatch(RUN_PAGE(id('onboard-lst-ann')));
      const bob = await onboard('lst-bob', '--workspace', 'lst-b', '--wait', '--json');
      expect(bob.code, bob.output).toBe(0);
      const bobJson = json<{ answer: { runId: string }; webUi: string }>(bob.output);
      expect(bobJson.webUi).toBe(runPage(id('onboard-lst-bob'), bobJson.answer.runId));
      // dan moves: first into lst-a, then (a new run, once the first has ended) into lst-b only
      expect((await onboard('lst-dan', '--workspace', 'lst-a', '--wait')).code).toBe(0);
      expect((await onboard('lst-dan', '--workspace', 'lst-b', '--wait')).code).toBe(0);
      const changed = await runCli(
        [
          'change-role',
          '--username',
          'lst-ann',
          '--scope',
          'workspace',
          '--workspace',
          'lst-a',
          '--role',
          'viewer',
          '--wait',
        ],
        env,
      );
      expect(changed.code, changed.output).toBe(0);
      await t.startImport(taskQueue, { batchId, contentDigest: `digest-of-${batchId}`, rows: 1 }, people);
      // an elevated request waits; the approver is shown where to look
      const eve = await onboard('lst-eve', '--workspace', 'lst-a', '--workspace-role', 'admin');
      expect(eve.code, eve.output).toBe(0);
      expect(eve.output).toContain(`waiting for approval: ${id('onboard-lst-eve')}`);
      expect(eve.output).toMatch(RUN_PAGE(id('onboard-lst-eve')));
      await eventually(async () => {
        const waiting = await runCli(['list', '--state', 'awaiting-approval', '--json'], env);
        expect(json<Row[]>(waiting.output).map((r) => r.username)).toEqual(['lst-eve']);
      }, 30_000);
      const approved = await runCli(['approve', id('onboard-lst-eve'), '--reason', 'lead', '--yes'], asBoss);
      expect(approved.code, approved.output).toBe(0);
      expect(approved.output).toMatch(RUN_PAGE(id('onboard-lst-eve')));
      const eveStatus = await runCli(['status', id('onboard-lst-eve')], env);
      expect(eveStatus.output).toMatch(RUN_PAGE(id('onboard-lst-eve')));

      await eventually(async () => {
        const inA = json<Row[]>((await runCli(['list', '--workspace', 'lst-a', '--json'], env)).output);
        expect(inA.map((r) => r.username).sort()).toEqual(['lst-ann', 'lst-cy', 'lst-eve']);
        const inB = json<Row[]>((await runCli(['list', '--workspace', 'lst-b', '--json'], env)).output);
        expect(inB.map((r) => r.username).sort()).toEqual(['lst-bob', 'lst-dan']);
        const eveRow = inA.find((r) => r.username === 'lst-eve');
        expect(eveRow?.state).toBe('done');
      }, 30_000);
      const rows = json<Row[]>((await runCli(['list', '--workspace', 'lst-a', '--json'], env)).output);
      for (const row of rows) {
        expect(row.type).toBe('onboarding');
        expect(row.webUi).toBe(runPage(row.workflowId, row.runId));
      }
      const text = await runCli(['list', '--workspace', 'lst-a'], env);
      expect(text.output).toMatch(
        new RegExp(`${id('onboard-lst-ann').replace('.', '\\.')}\\s+lst-ann\\s+done\\s+lst-a\\s`),
      );
      expect(text.output).toContain(
        `Web UI: ${UI}/namespaces/default/workflows?query=${encodeURIComponent("WorkflowType = 'onboardUser' AND OnboardingWorkspace = 'lst-a'")}`,
      );

      const roleChanges = await eventually(async () => {
        const listed = json<Row[]>((await runCli(['list', '--type', 'change-role', '--json'], env)).output);
        expect(listed).toHaveLength(1);
        return listed;
      }, 30_000);
      expect(roleChanges[0]).toMatchObject({
        workflowId: id('change-role-lst-ann-workspace-lst-a'),
        type: 'change-role',
        username: 'lst-ann',
        state: 'done',
      });
      const batches = await eventually(async () => {
        const listed = json<Row[]>(
          (await runCli(['list', '--type', 'import', '--state', 'done', '--json'], env)).output,
        );
        expect(listed.map((r) => r.workflowId)).toEqual([id(`import-${batchId}`)]);
        return listed;
      }, 30_000);
      expect(batches[0]!.username).toBeUndefined();
      const all = await runCli(['list', '--type', 'all', '--workspace', 'lst-a'], env);
      expect(all.output).toMatch(/^WORKFLOW ID\s+TYPE\s+USERNAME\s+STATE/);
      expect(all.output).toMatch(/\schange-role\s+lst-ann\s+done\s+lst-a\s/);
      expect(all.output).toContain('WorkflowType%20IN%20');
      for (const state of ['validating', 'scheduled', 'running', 'paused', 'cancelled']) {
        const listed = await runCli(['list', '--type', 'all', '--state', state, '--json'], env);
        expect(listed.code, `${state}: ${listed.output}`).toBe(0);
        expect(json<Row[]>(listed.output)).toEqual([]);
      }
    });
  });

  it('refuses bad filters with exit 2, naming the flag, before asking Temporal', async () => {
    const { env } = deployment();
    const nowhere = { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const cases: Array<[string[], string]> = [
      [['--workspace', 'Team_A'], "option '--workspace <ws>' argument 'Team_A' is invalid. a workspace name must be"],
      [['--workspace', "x' OR WorkflowType = 'y"], "option '--workspace <ws>' argument"],
      [['--workspace', 'a'.repeat(60)], 'a workspace name must be at most'],
      [
        ['--type', 'batch'],
        "option '--type <type>' argument 'batch' is invalid. Allowed choices are onboarding, import, change-role, all",
      ],
      [['--state', 'stuck'], "option '--state <lifecycle>' argument 'stuck' is invalid"],
      [['--batch', 'X Y'], "option '--batch <batchId>' argument 'X Y' is invalid"],
    ];
    for (const [args, message] of cases) {
      const { code, output } = await runCli(['list', ...args], nowhere);
      expect(code, output).toBe(2);
      expect(output).toContain(message);
      expect(output).not.toContain('cannot reach Temporal');
    }
    const asJson = await runCli(['list', '--workspace', 'Team_A', '--json'], nowhere);
    expect(asJson.code).toBe(2);
    const error = JSON.parse(/^\{[\s\S]*?^\}/m.exec(asJson.output)![0]) as {
      error: { exitCode: number; message: string };
    };
    expect(error.error.exitCode).toBe(2);
    expect(error.error.message).toContain('--workspace');
  });

  it('prints the Web UI filter instead of a link without a known Web UI address', async () => {
    const { env } = deployment();
    const { TEMPORAL_UI_URL: _ui, ...noUi } = env;
    const listed = await runCli(['list', '--workspace', 'lst-none'], noUi);
    expect(listed.code, listed.output).toBe(0);
    expect(listed.output).toContain('no onboardings found');
    expect(listed.output).toContain("Web UI filter: WorkflowType = 'onboardUser' AND OnboardingWorkspace = 'lst-none'");
  });
});
