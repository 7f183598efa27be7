import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { runCli } from '../helpers/cli.js';
import { OPS, temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

let t: TemporalHarness;
let h: EmulatorHarness;
let env: NodeJS.ProcessEnv;
const dir = mkdtempSync(join(tmpdir(), 'ks-cli-'));

beforeAll(async () => {
  t = await temporalHarness();
  h = await startEmulator();
  env = {
    TEMPORAL_ADDRESS: t.address,
    KS_ONBOARD_TASK_QUEUE: t.taskQueue(),
    KS_ONBOARD_SEAL_PUBLIC_KEY: t.keys.public,
    KS_ONBOARD_DATA_DIR: dir,
    // who runs the commands: ops-admin asks; boss (another platform-admin) decides
    KUBESPHERE_HOST: h.emulator.url,
    KUBESPHERE_USERNAME: OPS.username,
    KUBESPHERE_PASSWORD: OPS.password,
  };
  t.useEmulator(env.KS_ONBOARD_TASK_QUEUE!, h.emulator.url);
  await h.person({ username: 'boss', password: 'B0ss-P@ssw0rd' }, 'platform-admin');
});
const asBoss = () => ({ ...env, KUBESPHERE_USERNAME: 'boss', KUBESPHERE_PASSWORD: 'B0ss-P@ssw0rd' });
afterAll(async () => {
  await h.close();
  await t.close();
});

const json = <T>(output: string): T => JSON.parse(output.slice(output.indexOf('{'))) as T;

describe('ks-onboard CLI', () => {
  it('onboard --wait prints every step; the password file travels sealed', async () => {
    const passwordFile = join(dir, 'pw');
    writeFileSync(passwordFile, 'Passw0rd1\n');
    const worker = await t.worker(env.KS_ONBOARD_TASK_QUEUE!, h.emulator.url, { workflowIdPrefix: '' });
    const { code, output } = await worker.runUntil(
      runCli(
        [
          'onboard',
          '--username',
          'cli-ann',
          '--email',
          'ann@cli.example',
          '--workspace',
          'cli-ws',
          '--project',
          'cli-dev',
          '--password-file',
          passwordFile,
          '--wait',
        ],
        env,
      ),
    );
    expect(code, output).toBe(0);
    expect(output).toContain('onboard-cli-ann: done');
    expect(output).toMatch(/project-member\s+host\/cli-dev\s+created\s+viewer/);
    expect(h.emulator.snapshot().users['cli-ann']?.hasPassword).toBe(true);
  });

  it('with a deployment prefix, ids carry it and the worker accepts the request', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url, { workflowIdPrefix: 'staging/' });
    const prefixed = { ...env, KS_ONBOARD_TASK_QUEUE: taskQueue, KS_ONBOARD_WORKFLOW_ID_PREFIX: 'staging/' };
    const { code, output } = await worker.runUntil(
      runCli(['onboard', '--username', 'cli-pre', '--email', 'pre@cli.example', '--wait'], prefixed),
    );
    expect(code, output).toBe(0);
    expect(output).toContain('staging/onboard-cli-pre: done');
  });

  it("an elevated request waits, whatever the requester's environment says; status shows it; approve lets it finish", async () => {
    const bobAsAdmin = [
      'onboard',
      '--username',
      'cli-bob',
      '--email',
      'bob@cli.example',
      '--workspace',
      'cli-ws2',
      '--workspace-role',
      'admin',
      '--json',
    ];
    const worker = await t.worker(env.KS_ONBOARD_TASK_QUEUE!, h.emulator.url, { workflowIdPrefix: '' });
    await worker.runUntil(async () => {
      // the requester's environment cannot weaken the worker's policy (this once granted admin unapproved)
      const started = await runCli(bobAsAdmin, {
        ...env,
        KS_ONBOARD_ELEVATED_ROLES: '',
        KS_ONBOARD_APPROVAL_TIMEOUT: '1ms',
      });
      expect(started.code, started.output).toBe(0);
      expect(json<{ lifecycle: string }>(started.output).lifecycle).toBe('awaiting-approval');
      expect(json<{ workflowId: string }>(started.output).workflowId).toBe('onboard-cli-bob');
      await eventually(async () => {
        const status = await runCli(['status', 'onboard-cli-bob', '--json'], env);
        expect(json<{ state: { lifecycle: string } }>(status.output).state.lifecycle).toBe('awaiting-approval');
      }, 30_000);
      const human = await runCli(['status', 'onboard-cli-bob'], env);
      expect(human.output).toContain('approval: waiting for workspace:admin on cli-ws2');
      const again = await runCli(bobAsAdmin, env);
      expect(json<{ runId: string }>(again.output).runId).toBe(json<{ runId: string }>(started.output).runId); // attached, not started twice
      const self = await runCli(['approve', 'onboard-cli-bob', '--reason', 'me'], env);
      expect(self.code).toBe(1);
      expect(self.output).toContain('ops-admin may not decide: they requested it');
      const approved = await runCli(['approve', 'onboard-cli-bob', '--reason', 'lead'], asBoss());
      expect(approved.output).toContain('onboard-cli-bob: approved by boss');
      await eventually(async () => {
        const status = await runCli(['status', 'onboard-cli-bob'], env);
        expect(status.output).toContain('onboard-cli-bob: done');
        expect(status.output).toContain('approval: approved by boss (lead)');
      }, 30_000);
    });
    expect(await h.admin.workspaceRolesOf('cli-ws2', 'cli-bob')).toEqual(['cli-ws2-admin']);
  });

  it('change-role from an elevated role waits for approval; status shows the finished change', async () => {
    await h.admin.createWorkspace({ name: 'cli-ws3', clusters: ['host'] });
    await eventually(() => h.admin.addWorkspaceMembers('cli-ws3', [{ username: 'cli-dan', roleRef: 'cli-ws3-admin' }]));
    const worker = await t.worker(env.KS_ONBOARD_TASK_QUEUE!, h.emulator.url, { workflowIdPrefix: '' });
    const id = 'change-role-cli-dan-workspace-cli-ws3';
    await worker.runUntil(async () => {
      const asked = await runCli(
        ['change-role', '--username', 'cli-dan', '--scope', 'workspace', '--workspace', 'cli-ws3', '--role', 'viewer'],
        env,
      );
      expect(asked.output).toContain('workspace:viewer on cli-ws3 (changes an elevated role)');
      const approved = await runCli(['approve', id, '--reason', 'rotation'], asBoss());
      expect(approved.code, approved.output).toBe(0);
      await eventually(async () => {
        const status = await runCli(['status', id], env);
        expect(status.output).toContain(`${id}: done`);
        expect(status.output).toMatch(/role\s+cli-ws3\s+updated/);
      }, 30_000);
    });
    expect(await h.admin.workspaceRolesOf('cli-ws3', 'cli-dan')).toEqual(['cli-ws3-viewer']);
  });

  it('reject ends the workflow with the reason, shown by status', async () => {
    const worker = await t.worker(env.KS_ONBOARD_TASK_QUEUE!, h.emulator.url, { workflowIdPrefix: '' });
    await worker.runUntil(async () => {
      const started = await runCli(
        ['onboard', '--username', 'cli-cy', '--email', 'cy@cli.example', '--global-role', 'platform-admin'],
        env,
      );
      expect(started.output).toContain(
        "needs approval (the worker's policy): platform:platform-admin on platform (elevated role)",
      );
      await eventually(
        async () => expect((await runCli(['status', 'onboard-cli-cy'], env)).output).toContain('awaiting-approval'),
        30_000,
      );
      const rejected = await runCli(['reject', 'onboard-cli-cy', '--reason', 'no'], asBoss());
      expect(rejected.code, rejected.output).toBe(0);
      await eventually(
        async () => expect((await runCli(['status', 'onboard-cli-cy'], env)).output).toContain('ApprovalRejected'),
        30_000,
      );
    });
  });

  it.each([
    [['onboard', '--username', 'Bad', '--email', 'x@y.z'], /invalid request: username: "Bad" must be lower-case/],
    [
      ['onboard', '--username', 'ok', '--email', 'x@y.z', '--workspace', 'w', '--workspace-role', 'w-owner'],
      /workspaceRole: "w-owner" is not a built-in role of workspace w/,
    ],
    [
      ['change-role', '--username', 'ok', '--scope', 'project', '--role', 'viewer'],
      /project: is required for a project role/,
    ],
    [['approve', 'onboard-x', '--by', 'carol'], /unknown option '--by'/],
  ])('bad input exits 2 with a message naming the field, before contacting Temporal (%#)', async (args, message) => {
    const { code, output } = await runCli(args, { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(code).toBe(2);
    expect(output).toMatch(message);
  });

  it('a weak password file is refused without echoing it', async () => {
    const passwordFile = join(dir, 'weak');
    writeFileSync(passwordFile, 'hunter22\n');
    const { code, output } = await runCli(
      ['onboard', '--username', 'weak', '--email', 'w@cli.example', '--password-file', passwordFile],
      env,
    );
    expect(code).toBe(2);
    expect(output).toContain('--password-file: must contain an upper-case letter');
    expect(output).not.toContain('hunter22');
  });

  it('the worker refuses an account name KubeSphere does not know (e.g. its email): it could not protect it', async () => {
    const { code, output } = await runCli(['worker'], {
      ...env,
      KUBESPHERE_USERNAME: 'admin@kubesphere.io',
      KUBESPHERE_PASSWORD: 'P@88w0rd',
      KS_ONBOARD_SEAL_PRIVATE_KEYS: t.keys.private,
    });
    expect(code, output).toBe(2);
    expect(output).toContain('KUBESPHERE_USERNAME=admin@kubesphere.io: KubeSphere has no user of that name');
  });

  it('the worker refuses to start without KubeSphere settings, naming the variable', async () => {
    const { code, output } = await runCli(['worker'], { ...env, KUBESPHERE_HOST: 'not a url' });
    expect(code).toBe(2);
    expect(output).toContain('KUBESPHERE_HOST: must be an http(s) URL');
  });
});
