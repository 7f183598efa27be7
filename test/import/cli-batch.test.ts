import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMPORT_COLUMNS } from '../../src/import/write.js';
import type { BatchPerson } from '../../src/policy/batch.js';
import type { BatchProgress } from '../../src/workflows/batch-definitions.js';
import { runCli } from '../helpers/cli.js';
import { eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { OPS, temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

let t: TemporalHarness;
let h: EmulatorHarness;
const dir = mkdtempSync(join(tmpdir(), 'ks-cli-batch-'));
const BOSS = { username: 'bcli-boss', password: 'B0ss-P@ssw0rd' };

beforeAll(async () => {
  t = await temporalHarness();
  h = await startEmulator();
  // the batches are asked for by ops-admin; another platform-admin approves
  await h.person(BOSS, 'platform-admin');
});
afterAll(async () => {
  await h.close();
  await t.close();
});

/** A task queue with its worker's id prefix, and the CLI's environment for it (as ops-admin). */
function deployment() {
  const taskQueue = t.taskQueue();
  const env: NodeJS.ProcessEnv = {
    TEMPORAL_ADDRESS: t.address,
    KS_ONBOARD_TASK_QUEUE: taskQueue,
    KS_ONBOARD_WORKFLOW_ID_PREFIX: t.prefixOf(taskQueue),
    KS_ONBOARD_SEAL_PUBLIC_KEY: t.keys.public,
    KS_ONBOARD_DATA_DIR: dir,
    KUBESPHERE_HOST: h.emulator.url,
    KUBESPHERE_USERNAME: OPS.username,
    KUBESPHERE_PASSWORD: OPS.password,
  };
  return { taskQueue, env, asBoss: { ...env, KUBESPHERE_USERNAME: BOSS.username, KUBESPHERE_PASSWORD: BOSS.password } };
}

const batchId = (what: string) => `${what}-${randomBytes(4).toString('hex')}`;
const request = (id: string, people: BatchPerson[], extra: object = {}) => ({
  batchId: id,
  contentDigest: `digest-of-${id}`,
  rows: people.reduce((n, p) => n + p.lines.length, 0),
  ...extra,
});
/** Keys in the schema's order: the batch's proof digests the people as JSON, and the worker's parse reorders. */
const person = (
  username: string,
  line: number,
  placement: Omit<BatchPerson['placements'][number], 'line'>,
  sealedPassword?: string,
): BatchPerson => ({
  username,
  email: `${username}@batch.example`,
  ...(sealedPassword ? { sealedPassword } : {}),
  placements: [{ ...placement, line }],
  lines: [line],
});

const json = <T>(output: string): T => JSON.parse(output.slice(output.search(/[[{]/))) as T;
const csv = (path: string) => parse(readFileSync(path, 'utf8'), { columns: true }) as Array<Record<string, string>>;

describe('ks-onboard batch commands', () => {
  it('status shows a row awaiting approval; approve --all approves it as another admin; report has every line', async () => {
    const { taskQueue, env, asBoss } = deployment();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const id = batchId('appr');
    const workflowId = `${t.prefixOf(taskQueue)}import-${id}`;
    const people = [
      person('bca-ann', 2, { workspace: 'bca-ws' }),
      person('bca-bob', 3, { workspace: 'bca-ws', workspaceRole: 'admin' }),
      {
        username: 'bca-cy',
        email: 'bca-cy@batch.example',
        placements: [
          { workspace: 'bca-ws', project: 'bca-p1', line: 4 },
          { workspace: 'bca-ws', project: 'bca-p2', line: 5 },
        ],
        lines: [4, 5],
      },
    ];
    await worker.runUntil(async () => {
      await t.startImport(taskQueue, request(id, people), people);
      const progress = await eventually(async () => {
        const status = await runCli(['status', workflowId, '--json'], env);
        expect(status.code, status.output).toBe(0);
        const view = json<{ progress: BatchProgress }>(status.output);
        expect(view.progress).toMatchObject({ lifecycle: 'running', awaitingApproval: 1, done: 2, running: 0 });
        return view.progress;
      }, 30_000);
      expect(progress).toMatchObject({ people: 3, rows: 4, started: 3, failed: 0, requestedBy: OPS.username });

      const human = await runCli(['status', workflowId], { ...env, TEMPORAL_UI_URL: 'http://ui.example:8080/' });
      expect(human.output).toContain(`${workflowId}: running`);
      expect(human.output).toMatch(/awaiting approval: +1/);
      expect(human.output).toContain('requested by: ops-admin');
      expect(human.output).toContain('part 1 of 1');
      expect(human.output).toContain(
        `Web UI: http://ui.example:8080/namespaces/default/workflows?query=${encodeURIComponent(`OnboardingBatchId="${id}"`)}`,
      );

      // a running batch is not paused: nothing to resume, a bad request
      const resume = await runCli(['resume', workflowId], env);
      expect(resume.code, resume.output).toBe(2);
      expect(resume.output).toContain(`batch ${id} is running, not paused`);

      // while bob waits: his rows say so, the others are done
      const during = await runCli(['report', workflowId, '--json'], env);
      expect(during.code, during.output).toBe(0);
      const rows = json<Array<{ line: number; username: string; status: string }>>(during.output);
      expect(rows.map((r) => [r.line, r.username, r.status])).toEqual([
        [2, 'bca-ann', 'done'],
        [3, 'bca-bob', 'awaiting-approval'],
        [4, 'bca-cy', 'done'],
        [5, 'bca-cy', 'done'],
      ]);

      // --all is for a batch; a row is approved by its own `approve <id>`
      const notBatch = await runCli(['approve', `${t.prefixOf(taskQueue)}onboard-bca-bob`, '--all', '--yes'], asBoss);
      expect(notBatch.code, notBatch.output).toBe(2);
      expect(notBatch.output).toContain('not a batch');
      // without a terminal, approving a whole batch needs --yes
      const unconfirmed = await runCli(['approve', workflowId, '--all'], asBoss);
      expect(unconfirmed.code, unconfirmed.output).toBe(2);
      expect(unconfirmed.output).toContain('needs --yes');
      // the requester cannot approve their own rows: refused per row, exit 1
      const self = await runCli(['approve', workflowId, '--all', '--yes'], env);
      expect(self.code, self.output).toBe(1);
      expect(self.output).toMatch(/onboard-bca-bob: refused: .*ops-admin may not decide: they requested it/);

      const approved = await runCli(['approve', workflowId, '--all', '--yes', '--reason', 'team lead'], asBoss);
      expect(approved.code, approved.output).toBe(0);
      expect(approved.output).toContain('workspace:admin on bca-ws (elevated role)');
      expect(approved.output).toContain(`${t.prefixOf(taskQueue)}onboard-bca-bob: approved by ${BOSS.username}`);

      await eventually(async () => {
        const status = await runCli(['status', workflowId, '--json'], env);
        expect(json<{ progress: BatchProgress }>(status.output).progress).toMatchObject({ lifecycle: 'done', done: 3 });
      }, 30_000);

      const out = join(dir, `${id}.csv`);
      const report = await runCli(['report', workflowId, '--out', out], env);
      expect(report.code, report.output).toBe(0);
      expect(report.output).toContain('4 row(s): done 4');
      expect(statSync(out).mode & 0o777).toBe(0o600);
      const lines = csv(out);
      expect(lines.map((r) => [r.line, r.username, r.workspace, r.project, r.status])).toEqual([
        ['2', 'bca-ann', 'bca-ws', '', 'done'],
        ['3', 'bca-bob', 'bca-ws', '', 'done'],
        ['4', 'bca-cy', 'bca-ws', 'bca-p1', 'done'],
        ['5', 'bca-cy', 'bca-ws', 'bca-p2', 'done'],
      ]);
      expect(lines[0]).toMatchObject({ user_step: 'created', workspace_member_step: 'created', project_step: '' });
      expect(lines[2]).toMatchObject({ project_step: 'created', project_member_step: 'created' });
      const again = await runCli(['report', workflowId, '--out', out], env);
      expect(again.code).toBe(2);
      expect(again.output).toContain('exists: pass --force');
      expect((await runCli(['report', workflowId, '--out', out, '--force'], env)).code).toBe(0);
    });
    expect(await h.admin.workspaceRolesOf('bca-ws', 'bca-bob')).toEqual(['bca-ws-admin']);
  });

  it('failing rows pause the batch; cancel ends it; --failed-only writes those rows back without passwords; list shows the rows', async () => {
    const { taskQueue, env } = deployment();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const id = batchId('fail');
    const workflowId = `${t.prefixOf(taskQueue)}import-${id}`;
    // These usernames exist with another email: their rows fail with ResourceMismatch. One row at a time, the
    // budget is spent after two or three failures (whether bcf-x3 starts depends on when bcf-x2's failure is
    // heard); either way bcf-late is never started.
    for (const username of ['bcf-x1', 'bcf-x2', 'bcf-x3']) await h.person({ username, password: 'Exist1ng-P@ss' });
    const sealed = t.sealPassword('Fresh-P@ssw0rd1');
    const people = [
      person('bcf-ok', 2, { workspace: 'bcf-ws' }),
      person('bcf-x1', 3, { workspace: 'bcf-ws', project: 'bcf-p' }, sealed),
      person('bcf-x2', 4, { workspace: 'bcf-ws' }),
      person('bcf-x3', 5, { workspace: 'bcf-ws' }, sealed),
      person('bcf-late', 6, { workspace: 'bcf-ws', workspaceRole: 'viewer' }),
    ];
    await worker.runUntil(async () => {
      await t.startImport(
        taskQueue,
        request(id, people, { concurrency: 1, errorBudget: { share: 0.1, minRows: 2 } }),
        people,
      );
      const paused = await eventually(async () => {
        const status = await runCli(['status', workflowId, '--json'], env);
        const view = json<{ progress: BatchProgress }>(status.output);
        expect(view.progress.lifecycle, status.output).toBe('paused');
        return view.progress;
      }, 30_000);
      const failed = ['bcf-x1', 'bcf-x2', 'bcf-x3'].slice(0, paused.started - 1);
      expect(failed.length).toBeGreaterThanOrEqual(2);
      expect(paused).toMatchObject({ done: 1, failed: failed.length, running: 0 });
      const human = await runCli(['status', workflowId], env);
      expect(human.output).toContain('error budget spent');
      expect(human.output).toMatch(/line 3, bcf-x1: ResourceMismatch/);

      await eventually(async () => {
        const listed = await runCli(['list', '--batch', id, '--json'], env);
        const rows = json<Array<{ username: string; state: string; workspaces: string[] }>>(listed.output);
        expect(rows.map((r) => `${r.username} ${r.state}`).sort()).toEqual([
          'bcf-ok done',
          ...failed.map((username) => `${username} failed`),
        ]);
        expect(rows.find((r) => r.username === 'bcf-ok')?.workspaces).toEqual(['bcf-ws']);
      }, 30_000);
      const failedOnes = await runCli(['list', '--batch', id, '--state', 'failed'], env);
      expect(failedOnes.output).toMatch(/onboard-bcf-x1\s+bcf-x1\s+failed\s+bcf-ws/);
      expect(failedOnes.output).not.toContain('bcf-ok');
      const badBatch = await runCli(['list', '--batch', "x' OR WorkflowType = 'y"], env);
      expect(badBatch.code).toBe(2);

      const cancelled = await runCli(['cancel', workflowId], env);
      expect(cancelled.code, cancelled.output).toBe(0);
      expect(cancelled.output).toContain('rows already started finish on their own');
      expect(cancelled.output).toContain('nothing is deleted');
      await eventually(async () => {
        const status = await runCli(['status', workflowId, '--json'], env);
        expect(json<{ progress: BatchProgress }>(status.output).progress).toMatchObject({
          lifecycle: 'cancelled',
          notStarted: 5 - paused.started,
        });
      }, 30_000);
      const again = await runCli(['cancel', workflowId], env);
      expect(again.code).toBe(2);
      expect(again.output).toContain('has ended (cancelled)');

      const out = join(dir, `${id}-residue.csv`);
      const residue = await runCli(['report', workflowId, '--failed-only', '--out', out], env);
      expect(residue.code, residue.output).toBe(0);
      expect(residue.output).toContain(
        `4 row(s) to import again (${failed.length} failed, ${4 - failed.length} not started)`,
      );
      expect(residue.output).toContain('fill in the passwords again');
      const text = readFileSync(out, 'utf8');
      expect(text.split('\n')[0]).toBe(IMPORT_COLUMNS.join(','));
      expect(text).not.toContain('ks-sealed');
      expect(statSync(out).mode & 0o777).toBe(0o600);
      expect(csv(out)).toEqual([
        row('bcf-x1', { workspace: 'bcf-ws', project: 'bcf-p' }),
        row('bcf-x2', { workspace: 'bcf-ws' }),
        row('bcf-x3', { workspace: 'bcf-ws' }),
        row('bcf-late', { workspace: 'bcf-ws', workspace_role: 'viewer' }),
      ]);

      const full = await runCli(['report', workflowId, '--json'], env);
      const all = json<Array<{ username: string; status: string; error_type: string; user_step: string }>>(full.output);
      expect(all.map((r) => `${r.username} ${r.status} ${r.error_type}`)).toEqual([
        'bcf-ok done ',
        'bcf-x1 failed ResourceMismatch',
        'bcf-x2 failed ResourceMismatch',
        failed.includes('bcf-x3') ? 'bcf-x3 failed ResourceMismatch' : 'bcf-x3 not-started Cancelled',
        'bcf-late not-started Cancelled',
      ]);
      expect(all[1]!.user_step).toBe('failed');
      expect(full.output).not.toContain('ks-sealed');
    });
  });
});

function row(username: string, cells: Record<string, string>): Record<string, string> {
  const empty = Object.fromEntries(IMPORT_COLUMNS.map((c) => [c, '']));
  return { ...empty, username, email: `${username}@batch.example`, ...cells };
}
