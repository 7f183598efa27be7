import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { eventually, startEmulator } from '../helpers/emulator.js';
import { temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

/**
 * How the CLI fails: parser errors in two lines and exit 2, echoed values never raw, a bad
 * TEMPORAL_ADDRESS refused before any connection, and status while no worker runs.
 */
let t: TemporalHarness;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  t = await temporalHarness();
  env = {
    TEMPORAL_ADDRESS: t.address,
    KS_ONBOARD_TASK_QUEUE: t.taskQueue(),
    KS_ONBOARD_SEAL_PUBLIC_KEY: t.keys.public,
  };
});
afterAll(async () => {
  await t.close();
});

/** Nothing listens there: a command that tried to connect would fail with "cannot reach Temporal". */
const NOWHERE = '127.0.0.1:1';
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;
const lines = (output: string) => output.split('\n').filter(Boolean);

describe('parser errors', () => {
  it.each([
    [['onboard', '--email', 'x@y.z'], 'onboard', "required option '--username <name>' not specified"],
    [['status', 'x', '--nope'], 'status', "unknown option '--nope'"],
    [['status', 'x', '--jsn'], 'status', "unknown option '--jsn' (did you mean --json?)"],
    [['nope'], '', "unknown command 'nope'"],
    [
      ['emulator', '--port', 'abc'],
      'emulator',
      `option '--port <n>' argument 'abc' is invalid. expected a whole number`,
    ],
    [['emulator', '--fail-rate', '2'], 'emulator', "option '--fail-rate <0..1>' argument '2' is invalid"],
    [['status', 'a', 'b'], 'status', "too many arguments for 'status'. Expected 1 argument but got 2."],
    [['status'], 'status', "missing required argument 'workflow-id'"],
    [['emulator', '--port'], 'emulator', "option '--port <n>' argument missing"],
  ])('%j exits 2 with one error line and one hint line', async (args, command, message) => {
    const { code, output } = await runCli(args, { ...env, TEMPORAL_ADDRESS: NOWHERE });
    const name = command ? `ks-onboard ${command}` : 'ks-onboard';
    expect(code, output).toBe(2);
    expect(lines(output)).toHaveLength(2);
    expect(lines(output)[0]).toMatch(new RegExp(`^${name}: error: `));
    expect(lines(output)[0]).toContain(message);
    expect(lines(output)[1]).toBe(`run '${name} --help' for usage`);
  });

  it.each([[['--help']], [['onboard', '--help']], [['help', 'status']]])('%j prints help and exits 0', async (args) => {
    const { code, output } = await runCli(args, env);
    expect(code, output).toBe(0);
    expect(output).toMatch(/^Usage: ks-onboard/);
  });

  it('--version prints the version and exits 0', async () => {
    const { code, output } = await runCli(['--version'], env);
    expect(code, output).toBe(0);
    expect(output.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('values echoed in errors', () => {
  it.each([
    ['a flag value (commander)', ['emulator', '--port', '1\x1b[2J\n'], {}, String.raw`'1\x1b[2J\n'`],
    ['an unknown option (commander)', ['status', 'x', '--bo\x07gus\t'], {}, String.raw`'--bo\x07gus\t'`],
    [
      'a rejected name (policy)',
      ['onboard', '--username', 'al\x1bice', '--email', 'x@y.z'],
      {},
      String.raw`"al\x1bice"`,
    ],
    [
      'an environment variable (config)',
      ['status', 'x'],
      { TEMPORAL_ADDRESS: 'a\x1b]0;pwned\x07:1' },
      'TEMPORAL_ADDRESS',
    ],
  ])('are shown escaped, never raw: %s', async (_label, args, extra, escaped) => {
    const { code, output } = await runCli(args, { ...env, TEMPORAL_ADDRESS: NOWHERE, ...extra });
    expect(code, output).toBe(2);
    expect(output).toContain(escaped);
    expect(output).not.toMatch(RAW_CONTROL);
  });

  it('are shown escaped in a failure from Temporal too', async () => {
    const { code, output } = await runCli(['status', 'no-such\x1b[31m-run\r'], env);
    expect(code, output).toBe(1);
    expect(output).toContain(String.raw`no workflow no-such\x1b[31m-run\r in namespace default`);
    expect(output).not.toMatch(RAW_CONTROL);
  });
});

describe('TEMPORAL_ADDRESS', () => {
  const commands = [
    ['status', 'onboard-x'],
    ['approve', 'onboard-x'],
    ['reject', 'onboard-x'],
    ['onboard', '--username', 'addr-check', '--email', 'a@b.cd'],
    ['change-role', '--username', 'addr-check', '--scope', 'platform', '--role', 'platform-regular'],
    ['worker'],
  ];
  const addresses = ['nonsense', 'localhost', 'http://localhost:7233', 'local host:7233', 'localhost:99999'];
  it.each([
    ...addresses.map((address) => [address, ['status', 'onboard-x']] as const),
    ...commands.slice(1).map((args, i) => [addresses[i % addresses.length]!, args] as const),
  ])('%j is refused with exit 2 before any connection attempt: %j', async (address, args) => {
    const started = Date.now();
    const { code, output } = await runCli([...args], {
      ...env,
      TEMPORAL_ADDRESS: address,
      KUBESPHERE_HOST: 'http://127.0.0.1:1',
      KUBESPHERE_TOKEN: 't',
    });
    expect(code, output).toBe(2);
    expect(output).toContain(`TEMPORAL_ADDRESS: must be host:port, e.g. localhost:7233`);
    expect(output).toContain(`got ${JSON.stringify(address)}`);
    expect(output).not.toContain('cannot reach Temporal');
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe('status while no worker runs', () => {
  it('describes a running workflow from the server and says that no worker answered', async () => {
    const taskQueue = t.taskQueue(); // nobody polls it
    const workflowId = `onboard-nowork-${randomBytes(4).toString('hex')}`;
    await t.client.workflow.start('onboardUser', {
      taskQueue,
      workflowId,
      args: [{ username: 'nowork-ann', email: 'ann@nowork.example' }],
    });

    const started = Date.now();
    const human = await runCli(['status', workflowId], env);
    expect(human.code, human.output).toBe(0);
    expect(Date.now() - started).toBeLessThan(25_000); // the server alone would hold the query for 30 s
    expect(human.output).toContain(
      `${workflowId}: RUNNING (no worker answered the state query within 5s; is a worker running on task queue ${taskQueue}?)`,
    );
    expect(human.output).toMatch(/onboardUser for nowork-ann, started \d{4}-/);
    expect(human.output).toContain('workflow task: scheduled, attempt 1 (waits for a worker)');
    expect(human.output).not.toContain('Failed to query Workflow');

    const json = await runCli(['status', workflowId, '--json'], env);
    expect(json.code, json.output).toBe(0);
    expect(JSON.parse(json.output)).toMatchObject({
      workflowId,
      status: 'RUNNING',
      server: {
        unanswered: 'no worker answered the state query within 5s',
        workflowType: 'onboardUser',
        taskQueue,
        username: 'nowork-ann',
        workflowTask: { state: 'scheduled', attempt: 1 },
        activities: [],
      },
    });
  });

  it('shows the pending activities, their attempts and last failure, after the worker stopped', async () => {
    // The workspace's roles never appear in time: the workspace-member step retries (RoleNotReady).
    const h = await startEmulator({ delays: { userActivationMs: 80, workspaceRolesMs: 600_000, projectRolesMs: 80 } });
    try {
      const taskQueue = t.taskQueue();
      const worker = await t.worker(taskQueue, h.emulator.url);
      const handle = await worker.runUntil(async () => {
        const { handle } = await t.propose(taskQueue, {
          username: 'retry-bo',
          email: 'bo@retry.example',
          workspace: 'slow-ws',
        });
        await eventually(async () => {
          const pending = (await handle.describe()).raw.pendingActivities ?? [];
          expect(pending.some((a) => (a.attempt ?? 0) >= 2 && a.lastFailure)).toBe(true);
        }, 30_000);
        return handle;
      });
      expect((await handle.describe()).status.name).toBe('RUNNING');

      const { code, output } = await runCli(['status', handle.workflowId], env);
      expect(code, output).toBe(0);
      expect(output).toContain(`${handle.workflowId}: RUNNING (no worker answered the state query`);
      expect(output).toContain('for retry-bo');
      expect(output).toMatch(
        /\n {2}activity \w+: [a-z ]+, attempt ([2-9]|\d\d+)(, next attempt at [^;]+)?; last failure: .+/,
      );
    } finally {
      await h.close();
    }
  });
});

/** The JSON object a command printed (stdout), out of its combined output. */
const jsonIn = (output: string) => /^\{[\s\S]*?^\}/m.exec(output)![0];

describe('with --json, errors are JSON too', () => {
  it('a parser error and a failure each print one JSON object on stdout, with the exit code', async () => {
    const parse = await runCli(['onboard', '--email', 'x@y.z', '--json'], { ...env, TEMPORAL_ADDRESS: NOWHERE });
    expect(parse.code).toBe(2);
    const parsed = JSON.parse(jsonIn(parse.output)) as {
      error: { message: string; exitCode: number };
    };
    expect(parsed.error).toEqual({
      message: "ks-onboard onboard: required option '--username <name>' not specified",
      exitCode: 2,
    });
    const missing = await runCli(['status', `onboard-nobody-${randomBytes(3).toString('hex')}`, '--json'], env);
    expect(missing.code).toBe(1);
    const failed = JSON.parse(jsonIn(missing.output)) as {
      error: { message: string; exitCode: number };
    };
    expect(failed.error.exitCode).toBe(1);
    expect(failed.error.message).toMatch(/^no workflow onboard-nobody-/);
  });
});
