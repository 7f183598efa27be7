import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkImportFile } from '../../src/import/index.js';
import type { BatchProgress } from '../../src/workflows/batch-definitions.js';
import type { OnboardingState } from '../../src/workflows/definitions.js';
import { startCli } from '../helpers/cli.js';
import { eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { peopleState } from '../helpers/kubesphere-state.js';
import { decodedHistory, OPS, temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

let t: TemporalHarness;
let h: EmulatorHarness;
const dir = mkdtempSync(join(tmpdir(), 'ks-cli-import-'));
const BAD = 'test/fixtures/csv/bad';

beforeAll(async () => {
  t = await temporalHarness();
  h = await startEmulator();
});
afterAll(async () => {
  await h.close();
  await t.close();
});

/** A task queue of its own, its worker's id prefix, and the CLI's environment for it (as ops-admin). */
function deployment() {
  const taskQueue = t.taskQueue();
  const prefix = t.prefixOf(taskQueue);
  const env: NodeJS.ProcessEnv = {
    TEMPORAL_ADDRESS: t.address,
    KS_ONBOARD_TASK_QUEUE: taskQueue,
    KS_ONBOARD_WORKFLOW_ID_PREFIX: prefix,
    KS_ONBOARD_SEAL_PUBLIC_KEY: t.keys.public,
    KS_ONBOARD_DATA_DIR: dir,
    KUBESPHERE_HOST: h.emulator.url,
    KUBESPHERE_USERNAME: OPS.username,
    KUBESPHERE_PASSWORD: OPS.password,
  };
  return { taskQueue, prefix, env };
}

/** A short random tag: names and batch ids of one test are its own. */
const tag = () => randomBytes(3).toString('hex');

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  output: string;
}

/** `ks-onboard <args>` to its end, stdout and stderr apart. */
async function ks(args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  const cli = startCli(args, env);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  cli.child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  cli.child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const closed = new Promise<void>((resolve) => cli.child.on('close', () => resolve()));
  const code = await cli.exited;
  await closed;
  const stdout = Buffer.concat(out).toString('utf8');
  const stderr = Buffer.concat(err).toString('utf8');
  return { code, stdout, stderr, output: `${stdout}\n--- stderr ---\n${stderr}` };
}

const stepsOf = (state: OnboardingState) => state.steps.map((step) => `${step.step} ${step.target} ${step.outcome}`);
const json = <T>(text: string): T => JSON.parse(text.slice(text.search(/[[{]/))) as T;

function writeCsv(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** Workflow ids visible on a task queue (Temporal's visibility). */
async function workflowsOn(taskQueue: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of t.client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) ids.push(wf.workflowId);
  return ids;
}

/** Executions of a batch and its rows, by their OnboardingBatchId. */
async function executionsOfBatch(batchId: string): Promise<Array<{ workflowId: string; runId: string; type: string }>> {
  const found: Array<{ workflowId: string; runId: string; type: string }> = [];
  for await (const wf of t.client.workflow.list({ query: `OnboardingBatchId = '${batchId}'` }))
    found.push({ workflowId: wf.workflowId, runId: wf.runId, type: wf.type });
  return found;
}

/** True when Temporal has no workflow of that id at all (strongly consistent, unlike visibility). */
async function neverStarted(workflowId: string): Promise<boolean> {
  try {
    await t.client.workflow.getHandle(workflowId).describe();
    return false;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return true;
    throw error;
  }
}

/** POST and PUT requests the emulator received, except logins. */
function writes(): number {
  const { byMethod, byRoute } = h.emulator.requests;
  return (byMethod.POST ?? 0) + (byMethod.PUT ?? 0) - (byRoute['POST /oauth/token'] ?? 0);
}

describe('ks-onboard import', () => {
  it('bad files: exit 2, every bad line by line and column, nothing started, KubeSphere not even asked', async () => {
    const { taskQueue, prefix, env } = deployment();
    const files = [
      {
        file: 'unknown-column.csv',
        where: ['line 1, column workspce_role', 'line 1, column project role'],
        plain: true,
      },
      { file: 'latin1.csv', where: ['line 3, column username', 'line 4, column workspace'], plain: true },
      {
        file: 'conflicting-duplicates.csv',
        // each problem names its line and column, and the line it conflicts with
        where: [
          'line 4, column email',
          'line 6, column password',
          'line 8, column global_role',
          'line 10, column workspace_role',
          'line 12, column project_role',
        ],
        others: [2, 5, 7, 9, 11],
      },
      {
        file: 'custom-roles.csv',
        where: [
          'line 2, column workspace_role',
          'line 3, column project_role',
          'line 4, column global_role',
          'line 5, column workspace_role',
          'line 6, column workspace_role',
        ],
      },
    ].map((f) => ({ ...f, path: join(BAD, f.file) }));
    const batchIds = await Promise.all(files.map(async (f) => (await checkImportFile(f.path)).batchId));
    const worker = await t.worker(taskQueue, h.emulator.url);
    const requestsBefore = h.emulator.requests.total;
    await worker.runUntil(async () => {
      const runs = await Promise.all(
        files.flatMap((f) =>
          // every file checked alone; two of them (one unreadable, one with bad rows) also as a plain import
          (f.plain ? [['--validate-only'], []] : [['--validate-only']]).map(async (flags) => ({
            ...f,
            flags,
            run: await ks(['import', f.path, ...flags], env),
          })),
        ),
      );
      for (const { file, where, others = [], flags, run } of runs) {
        const what = `${file} ${flags.join(' ')}\n${run.output}`;
        expect(run.code, what).toBe(2);
        for (const w of where) expect(run.stderr, what).toContain(`${w}: `);
        for (const other of others) expect(run.stderr, what).toMatch(new RegExp(`line ${other}\\b`));
        expect(run.stderr, what).toMatch(
          /\d+ problem\(s\) on \d+ line\(s\) of \d+(: the file cannot be imported|; nothing started)/,
        );
        expect(run.stdout, what).toBe('');
      }
      // --json: the same problems, as data
      const machine = await ks(['import', files[3]!.path, '--validate-only', '--json'], env);
      expect(machine.code, machine.output).toBe(2);
      const answer = JSON.parse(machine.stdout) as { ok: boolean; problems: Array<{ line: number; column?: string }> };
      expect(answer.ok).toBe(false);
      expect(answer.problems.map((p) => `line ${p.line}, column ${p.column}`)).toEqual(files[3]!.where);
    });
    for (const batchId of batchIds) {
      expect(await neverStarted(`${prefix}import-${batchId}`)).toBe(true);
      expect(await executionsOfBatch(batchId)).toEqual([]);
    }
    expect(await workflowsOn(taskQueue)).toEqual([]);
    // not even a login: the file is refused before the CLI asks KubeSphere anything
    expect(h.emulator.requests.total).toBe(requestsBefore);
  });

  it('a good file --validate-only: exit 0, rows, people and the batch id; --json says ok; nothing started', async () => {
    const { taskQueue, prefix, env } = deployment();
    const path = 'samples/onboarding.csv';
    const check = await checkImportFile(path);
    expect(check.batchId).toMatch(/^b-[0-9a-f]{16}$/);
    const worker = await t.worker(taskQueue, h.emulator.url);
    const requestsBefore = h.emulator.requests.total;
    await worker.runUntil(async () => {
      const human = await ks(['import', path, '--validate-only'], env);
      expect(human.code, human.output).toBe(0);
      expect(human.stdout).toContain(
        `${path}: 23 rows, 22 people, 5 workspaces, 8 projects — all valid (batch id ${check.batchId})\n`,
      );
      // A checkout's file is readable by others or not, by the umask: that warning only, if any.
      expect(human.stderr.replace(/^warning: .* holds passwords and other users can read it .*\n/, '')).toBe('');

      const machine = await ks(['import', path, '--validate-only', '--json'], env);
      expect(machine.code, machine.output).toBe(0);
      expect(JSON.parse(machine.stdout)).toMatchObject({
        ok: true,
        rows: 23,
        people: 22,
        batchId: check.batchId,
        workspaces: check.workspaces,
      });
      // the passwords of the file are read, never printed
      for (const password of ['Pay-Amara-2026', 'Srch-Mei-2026x', 'Mob-Victor-2026'])
        expect(human.output + machine.output).not.toContain(password);
    });
    expect(await neverStarted(`${prefix}import-${check.batchId}`)).toBe(true);
    expect(await workflowsOn(taskQueue)).toEqual([]);
    expect(h.emulator.requests.total).toBe(requestsBefore);
  });

  it('--dry-run reads KubeSphere through the worker and says what each row would do; nothing is written', async () => {
    const { taskQueue, prefix, env } = deployment();
    const s = tag();
    const [same, diff, fresh, boss] = ['same', 'diff', 'new', 'boss'].map((w) => `dr-${w}-${s}`) as [
      string,
      string,
      string,
      string,
    ];
    const ws = `drw-${s}`;
    const newWs = `drn-${s}`;
    const project = `drp-${s}`;
    const email = (u: string) => `${u}@dry.example`;
    // already there: one user as the file says, one with another email, one workspace
    await h.admin.createUser({ name: same, email: email(same), globalRole: 'platform-regular' });
    await h.admin.createUser({ name: diff, email: `someone-else-${s}@dry.example`, globalRole: 'platform-regular' });
    await h.admin.createWorkspace({ name: ws, clusters: ['host'] });
    const path = writeCsv(`dry-${s}.csv`, [
      'username,email,password,workspace,workspace_role,project',
      `${same},${email(same)},,${ws},,`,
      `${diff},${email(diff)},,${ws},,`,
      `${fresh},${email(fresh)},Dry-Run-${s}-Pw1,${newWs},,${project}`,
      `${boss},${email(boss)},,${ws},admin,`,
    ]);
    const { batchId } = await checkImportFile(path);
    const worker = await t.worker(taskQueue, h.emulator.url);
    const stateBefore = peopleState(h);
    const writesBefore = writes();
    const readsBefore = h.emulator.requests.byMethod.GET ?? 0;
    const run = await worker.runUntil(ks(['import', path, '--dry-run'], env));
    expect(run.code, run.output).toBe(0);
    const lineOf = (n: number, user: string) => {
      const line = run.stdout.split('\n').find((l) => l.startsWith(`line ${n} ${user}: `));
      expect(line, run.output).toBeDefined();
      return line!;
    };
    expect(lineOf(2, same)).toMatch(new RegExp(`: user exists; workspace ${ws} exists; `));
    expect(lineOf(3, diff)).toContain('user exists-but-differs: email');
    expect(lineOf(4, fresh)).toContain(`user create; workspace ${newWs} create; project host/${project} create`);
    expect(lineOf(5, boss)).toContain('user create');
    expect(lineOf(5, boss)).toContain(`needs approval: workspace:admin on ${ws}`);
    for (const n of [2, 3, 4]) expect(lineOf(n, [same, diff, fresh][n - 2]!)).not.toContain('needs approval');
    expect(run.stdout).toContain(`dry run as ${OPS.username}, nothing changed; in total:`);
    for (const total of [
      'user create: 2',
      'user exists: 1',
      'user exists-but-differs: 1',
      'workspace create: 1',
      'workspace exists: 1',
      'project create: 1',
      'grants needing approval: 1',
    ])
      expect(run.stdout).toContain(`  ${total}\n`);
    expect(run.output).not.toContain(`Dry-Run-${s}-Pw1`);

    // KubeSphere was read, never written; no batch and no row workflow was started
    expect(h.emulator.requests.byMethod.GET ?? 0).toBeGreaterThan(readsBefore);
    expect(writes()).toBe(writesBefore);
    expect(peopleState(h)).toEqual(stateBefore);
    expect(await neverStarted(`${prefix}import-${batchId}`)).toBe(true);
    const started = await eventually(async () => {
      const ids = await workflowsOn(taskQueue);
      expect(ids.length).toBeGreaterThan(0);
      return ids;
    }, 10_000);
    for (const id of started)
      expect(id).toMatch(new RegExp(`^${prefix.replace(/\./g, '\\.')}import-${batchId}\\.dry-run-1-`));
  });

  it('--wait imports a generated file; no password shows anywhere; importing it again changes nothing', async () => {
    const { taskQueue, prefix, env } = deployment();
    const s = tag();
    const [a, b, c] = ['a', 'b', 'c'].map((w) => `iw${w}-${s}`) as [string, string, string];
    const u = (n: number) => `im${String(n).padStart(2, '0')}-${s}`;
    const pw = (n: number) => `Imp0rt-${s}-Secret${n}`;
    // username, password?, workspace, workspace_role, project, project_role
    const rows: Array<[number, boolean, string, string, string, string]> = [
      [1, true, a, '', '', ''],
      [2, false, a, 'viewer', '', ''],
      [3, true, a, '', `${a}-p1`, ''],
      [4, false, a, '', `${a}-p1`, 'viewer'],
      [5, true, b, '', '', ''],
      [6, false, b, '', `${b}-p1`, ''],
      [7, true, b, '', `${b}-p1`, ''],
      [7, false, b, '', `${b}-p2`, 'viewer'], // one person on two rows
      [8, false, b, 'viewer', '', ''],
      [9, true, a, '', '', ''],
      [10, false, c, '', '', ''],
      [11, true, c, '', `${c}-p1`, ''],
    ];
    const path = writeCsv(`import-${s}.csv`, [
      'username,email,password,global_role,workspace,workspace_role,project,project_role',
      ...rows.map(
        ([n, withPw, ws, wsRole, proj, projRole]) =>
          `${u(n)},${u(n)}@import.example,${withPw ? pw(n) : ''},${n === 9 ? 'platform-regular' : ''},${ws},${wsRole},${proj},${projRole}`,
      ),
    ]);
    const passwords = [...new Set(rows.filter((r) => r[1]).map(([n]) => pw(n)))];
    const people = [...new Set(rows.map(([n]) => n))];
    expect(passwords).toHaveLength(6);

    // what KubeSphere should hold afterwards, written out from the table
    const expected = new Set<string>();
    for (const [n, , ws, wsRole, proj, projRole] of rows) {
      expected.add(`user ${u(n)} ${u(n)}@import.example platform-regular`);
      expected.add(`workspace ${ws}`);
      expected.add(`member ${ws} ${u(n)} ${ws}-${wsRole || 'regular'}`);
      if (proj) {
        expected.add(`project host/${proj} in ${ws}`);
        expected.add(`member host/${proj} ${u(n)} ${projRole || 'viewer'}`);
      }
    }
    const expectedState = [...expected].sort();
    expect(expectedState.filter((l) => l.startsWith('user '))).toHaveLength(11);
    const before = peopleState(h);

    const worker = await t.worker(taskQueue, h.emulator.url);
    const { batchId } = await checkImportFile(path);
    const workflowId = `${prefix}import-${batchId}`;
    const childIds = people.map((n) => `${prefix}onboard-${u(n)}`);

    await worker.runUntil(async () => {
      const first = await ks(['import', path, '--wait'], env);
      expect(first.code, first.output).toBe(0);
      expect(first.stdout).toContain(`started batch ${batchId}: 11 people from 12 rows`);
      expect(first.stdout).toContain(`  workflow: ${workflowId}\n`);
      expect(first.stdout).toContain(`batch ${batchId} done: 11/11 people finished — done 11, failed 0`);
      expect(peopleState(h)).toEqual([...before, ...expectedState].sort());
      const users = h.emulator.snapshot().users;
      for (const n of people) expect(users[u(n)]?.hasPassword, u(n)).toBe(rows.some((r) => r[0] === n && r[1]));

      // the batch and its rows, as Temporal's visibility lists them (the task queue's list knows them too)
      const firstRuns = await eventually(async () => {
        const found = await executionsOfBatch(batchId);
        expect(
          found
            .filter((e) => e.type === 'onboardUser')
            .map((e) => e.workflowId)
            .sort(),
        ).toEqual([...childIds].sort());
        expect(found.filter((e) => e.type === 'importBatch').map((e) => e.workflowId)).toEqual([workflowId]);
        return found;
      }, 15_000);
      await eventually(
        async () => expect(await workflowsOn(taskQueue)).toEqual(expect.arrayContaining([workflowId, ...childIds])),
        15_000,
      );

      const expectNoPassword = async (runs: Array<{ workflowId: string; runId: string }>, text: string) => {
        for (const password of passwords) expect(text).not.toContain(password);
        for (const run of runs) {
          const history = await decodedHistory(
            await t.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory(),
          );
          expect(history).toContain(batchId); // the search reads the payloads
          for (const password of passwords) expect(history, run.workflowId).not.toContain(password);
        }
      };
      await expectNoPassword(firstRuns, first.output);
      // the passwords travelled sealed for the workers
      const sealed = await decodedHistory(
        await t.client.workflow
          .getHandle(
            `${prefix}onboard-${u(1)}`,
            firstRuns.find((r) => r.workflowId === `${prefix}onboard-${u(1)}`)!.runId,
          )
          .fetchHistory(),
      );
      expect(sealed).toContain('ks-sealed:');

      // what each row did the first time: everything created or found, nothing else
      const firstRunOf = new Map(firstRuns.map((r) => [r.workflowId, r.runId]));
      const firstResults = new Map<string, OnboardingState>();
      for (const id of childIds) {
        const result = (await t.client.workflow.getHandle(id, firstRunOf.get(id)).result()) as OnboardingState;
        expect(result.lifecycle).toBe('done');
        expect(result.steps.find((step) => step.step === 'user')?.outcome, id).toBe('created');
        expect(
          stepsOf(result).filter((step) => !/ (created|existed|skipped)$/.test(step)),
          id,
        ).toEqual([]);
        firstResults.set(id, result);
      }

      // again: a new run of the batch, whose rows find everything in place
      const second = await ks(['import', path, '--wait'], env);
      expect(second.code, second.output).toBe(0);
      expect(second.stdout).toContain(`started batch ${batchId}: 11 people from 12 rows`);
      expect(second.stdout).toContain(`batch ${batchId} done: 11/11 people finished — done 11, failed 0`);
      expect(peopleState(h)).toEqual([...before, ...expectedState].sort());
      for (const id of childIds) {
        const handle = t.client.workflow.getHandle(id);
        expect((await handle.describe()).runId).not.toBe(firstRunOf.get(id));
        const again = (await handle.result()) as OnboardingState;
        expect(again.lifecycle).toBe('done');
        // every step found its object in place (steps a person has no use for stay skipped)
        expect(stepsOf(again), id).toEqual(
          stepsOf(firstResults.get(id)!).map((step) => step.replace(/ (created|existed)$/, ' existed')),
        );
        expect(again.steps.filter((step) => step.outcome === 'existed').length, id).toBeGreaterThanOrEqual(2);
      }
      const allRuns = await eventually(async () => {
        const found = await executionsOfBatch(batchId);
        expect(found).toHaveLength(2 * (childIds.length + 1));
        return found;
      }, 15_000);
      await expectNoPassword(
        allRuns.filter((r) => firstRunOf.get(r.workflowId) !== r.runId),
        second.output,
      );
    });
  });

  it('importing a file while its batch runs attaches to it; another file under the same --batch-id is refused', async () => {
    const { taskQueue, prefix, env } = deployment();
    const s = tag();
    const ws = `atw-${s}`;
    const batchId = `attach-${s}`;
    const workflowId = `${prefix}import-${batchId}`;
    const path = writeCsv(`attach-${s}.csv`, [
      'username,email,workspace,workspace_role',
      `at-ann-${s},at-ann-${s}@attach.example,${ws},`,
      `at-bob-${s},at-bob-${s}@attach.example,${ws},admin`, // waits for an approval: the batch keeps running
    ]);
    const other = writeCsv(`attach-other-${s}.csv`, [
      'username,email,workspace',
      `at-cy-${s},at-cy-${s}@attach.example,${ws}`,
    ]);
    const worker = await t.worker(taskQueue, h.emulator.url);
    await worker.runUntil(async () => {
      const first = await ks(['import', path, '--batch-id', batchId], env);
      expect(first.code, first.output).toBe(0);
      expect(first.stdout).toContain(`started batch ${batchId}: 2 people from 2 rows`);
      const handle = t.client.workflow.getHandle(workflowId);
      await eventually(async () => {
        const progress = await handle.query<BatchProgress>('progress');
        expect(progress).toMatchObject({ lifecycle: 'running', done: 1, awaitingApproval: 1 });
      }, 30_000);
      const { runId } = await handle.describe();

      // four more imports at once: the same file twice (both attach), another file under the same id, and the
      // same file with other options (both refused)
      const [again, againJson, refused, otherOptions] = await Promise.all([
        ks(['import', path, '--batch-id', batchId], env),
        ks(['import', path, '--batch-id', batchId, '--json'], env),
        ks(['import', other, '--batch-id', batchId], env),
        ks(['import', path, '--batch-id', batchId, '--concurrency', '3'], env),
      ]);
      expect(again.code, again.output).toBe(0);
      expect(again.stdout).toContain(`attached to the running batch ${batchId}: 2 people from 2 rows`);
      expect(againJson.code, againJson.output).toBe(0);
      expect(json<{ attached: boolean; workflowId: string }>(againJson.stdout)).toMatchObject({
        attached: true,
        workflowId,
      });

      // a request conflicting with the running batch exits 1, as `onboard`'s does (src/cli/commands/import.ts)
      expect(refused.code, refused.output).toBe(1);
      expect(refused.stderr).toContain(`${workflowId} is importing another file (or the same with other rows)`);
      expect(refused.stdout).toBe('');
      expect(otherOptions.code, otherOptions.output).toBe(1);
      expect(otherOptions.stderr).toContain(`${workflowId} is importing this file with other options`);

      // still the one run, with its two people: at-cy was never started
      expect((await handle.describe()).runId).toBe(runId);
      expect(await handle.query<BatchProgress>('progress')).toMatchObject({ people: 2, started: 2 });
      expect(await neverStarted(`${prefix}onboard-at-cy-${s}`)).toBe(true);
      await handle.terminate('test done');
      await t.client.workflow.getHandle(`${prefix}onboard-at-bob-${s}`).terminate('test done');
    });
    expect(h.emulator.snapshot().users[`at-cy-${s}`]).toBeUndefined();
  });

  it('--skip-invalid imports the valid people and leaves the bad line out; the batch counts it as skipped', async () => {
    const { taskQueue, prefix, env } = deployment();
    const s = tag();
    const ws = `skw-${s}`;
    const path = writeCsv(`skip-${s}.csv`, [
      'username,email,workspace',
      `sk-ann-${s},sk-ann-${s}@skip.example,${ws}`,
      `sk-bob-${s},not-an-email,${ws}`,
      `sk-cy-${s},sk-cy-${s}@skip.example,${ws}`,
    ]);
    const { batchId } = await checkImportFile(path);
    const workflowId = `${prefix}import-${batchId}`;
    const before = peopleState(h);
    const worker = await t.worker(taskQueue, h.emulator.url);
    await worker.runUntil(async () => {
      // without --skip-invalid: refused, nothing started
      const refused = await ks(['import', path, '--wait'], env);
      expect(refused.code, refused.output).toBe(2);
      expect(refused.stderr).toContain('line 3, column email: ');
      expect(refused.stderr).toContain(
        'nothing started (fix the file, or --skip-invalid to import the 2 valid people)',
      );
      expect(await neverStarted(workflowId)).toBe(true);

      const run = await ks(['import', path, '--skip-invalid', '--wait'], env);
      expect(run.code, run.output).toBe(0);
      expect(run.stderr).toContain('line 3, column email: ');
      expect(run.stderr).toContain('1 problem(s) on 1 line(s) of 3: left out with --skip-invalid');
      expect(run.stdout).toContain(`started batch ${batchId}: 2 people from 3 rows`);
      expect(run.stdout).toContain('done 2, failed 0');
      expect(run.stdout).toContain('invalid lines left out 1');
      const progress = await t.client.workflow.getHandle(workflowId).query<BatchProgress>('progress');
      expect(progress).toMatchObject({ lifecycle: 'done', people: 2, rows: 3, done: 2, failed: 0, skipped: 1 });
      const status = await ks(['status', workflowId, '--json'], env);
      expect(json<{ progress: BatchProgress }>(status.stdout).progress.skipped).toBe(1);
    });
    expect(peopleState(h)).toEqual(
      [
        ...before,
        `user sk-ann-${s} sk-ann-${s}@skip.example platform-regular`,
        `user sk-cy-${s} sk-cy-${s}@skip.example platform-regular`,
        `workspace ${ws}`,
        `member ${ws} sk-ann-${s} ${ws}-regular`,
        `member ${ws} sk-cy-${s} ${ws}-regular`,
      ].sort(),
    );
    expect(h.emulator.snapshot().users[`sk-bob-${s}`]).toBeUndefined();
  });
});
