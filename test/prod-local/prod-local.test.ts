import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readPem, sealerFor } from '../../src/codec/seal.js';
import { codecKeyRing, pathsConfig } from '../../src/config.js';
import { checkImportFile, readPeople } from '../../src/import/index.js';
import type { BatchPerson } from '../../src/policy/batch.js';
import { INSTALL_COMMAND, missingBinaries, prodLocalPaths } from '../../src/prod-local/binaries.js';
import { dropRoleAndDatabases, findPgCluster, psqlAsSuperuser, type PgCluster } from '../../src/prod-local/postgres.js';
import { portOpen } from '../../src/prod-local/process.js';
import { dataConverterFor } from '../../src/temporal/data-converter.js';
import { SEARCH_ATTRIBUTE_KEYS, type OnboardingState } from '../../src/workflows/definitions.js';
import type { BatchProgress } from '../../src/workflows/batch-definitions.js';
import { ROOT, startCli, type RunningCli } from '../helpers/cli.js';
import { eventually } from '../helpers/emulator.js';
import { expectedPeopleState, peopleState } from '../helpers/kubesphere-state.js';
import type { EmulatorHarness } from '../helpers/emulator.js';

/**
 * `ks-onboard stack prod-local` as an operator runs it (a separate process, its own data directory, free ports, a
 * PostgreSQL role and databases of its own), and the main jobs end to end on it through the CLI: an onboarding, a CSV
 * import with an approval, an HR delivery. It needs the binaries `.ci/run` builds and PostgreSQL; without them it
 * fails naming the fix (a skip would hide a broken CI).
 */

const SAMPLE = join(ROOT, 'samples', 'onboarding.csv');
const OPS = { username: 'ops-admin', password: 'Ops-P@88w0rd' };
const APPROVER = { username: 'carol', password: 'Carol-P@88w0rd' };

interface Started {
  cli: RunningCli;
  dataDir: string;
  temporalAddress: string;
  uiUrl: string;
  codecUrl: string;
  kubesphereUrl: string;
  intakeUrl: string;
  /** the environment of a second shell, as the stack prints it (who you are is added per command) */
  env: NodeJS.ProcessEnv;
  /** the environment and arguments the stack was started with */
  started: { env: NodeJS.ProcessEnv; args: string[] };
}

let stack: Started | undefined;
let cluster: PgCluster;
let client: Client;
let connection: Connection | undefined;
const tag = randomBytes(4).toString('hex');
const db = { user: `ks_test_${tag}`, main: `ks_test_${tag}`, visibility: `ks_test_${tag}_visibility` };
/** what a second start would use, were it not refused (dropped afterwards all the same) */
const otherDb = { user: `ks_test_${tag}_b`, main: `ks_test_${tag}_b`, visibility: `ks_test_${tag}_b_visibility` };

/** Variables of the test process that would make the stack or the CLI differ from an operator's fresh shell. */
function operatorEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of Object.keys(process.env))
    if (/^(KS_ONBOARD_|KUBESPHERE_|TEMPORAL_)/.test(key) && key !== 'KS_ONBOARD_CACHE_DIR') env[key] = undefined;
  return env;
}

beforeAll(async () => {
  const missing = missingBinaries(pathsConfig().cacheDir);
  if (missing.length)
    throw new Error(
      `stack prod-local cannot run: missing ${missing.join('; ')}. Build them once with: ${INSTALL_COMMAND} (.ci/run does)`,
    );
  cluster = await findPgCluster(); // names `apt-get install postgresql` when there is none
  const dataDir = mkdtempSync(join(tmpdir(), 'ks-prod-local-'));
  const base = { ...operatorEnvironment(), KS_ONBOARD_DATA_DIR: dataDir };
  const args = [
    'stack',
    'prod-local',
    ...['--temporal-port', '0', '--ui-port', '0', '--emulator-port', '0', '--intake-port', '0', '--codec-port', '0'],
    ...['--postgres-user', db.user, '--dbname', db.main, '--visibility-dbname', db.visibility],
  ];
  const startEnv = {
    ...base,
    // the global setup found (or installed) the temporal CLI and built the workflow bundle already
    TEMPORAL_CLI: inject('temporalCli'),
    KS_ONBOARD_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
  };
  const cli = startCli(args, startEnv);
  const started = Date.now();
  try {
    await cli.waitFor(/Ctrl-C stops everything/, 180_000);
  } catch (error) {
    cli.child.kill('SIGTERM');
    await cli.exited;
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const out = cli.output();
  const match = (pattern: RegExp) => {
    const found = pattern.exec(out);
    if (!found) throw new Error(`stack prod-local did not print ${pattern}:\n${out}`);
    return found[1]!;
  };
  const temporalAddress = match(/^Temporal\s+(\S+:\d+) /m);
  const kubesphereUrl = match(/^KubeSphere\s+(http:\/\/\S+) /m);
  stack = {
    cli,
    dataDir,
    temporalAddress,
    uiUrl: match(/^Web UI\s+(http:\/\/\S+) /m),
    codecUrl: match(/codec server (http:\/\/[^\s)]+)\)/),
    kubesphereUrl,
    intakeUrl: match(/^HR intake\s+(http:\/\/\S+) /m),
    env: { ...base, TEMPORAL_ADDRESS: temporalAddress, KUBESPHERE_HOST: kubesphereUrl },
    started: { env: startEnv, args },
  };
  console.log(`stack prod-local ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // what the CLI's commands read: the data directory's payload keys
  connection = await Connection.connect({ address: temporalAddress });
  client = new Client({
    connection,
    namespace: 'default',
    dataConverter: dataConverterFor(codecKeyRing({ KS_ONBOARD_DATA_DIR: dataDir })),
  });
}, 240_000);

afterAll(async () => {
  await connection?.close();
  if (stack) {
    if (stack.cli.child.exitCode === null) {
      stack.cli.child.kill('SIGTERM');
      await stack.cli.exited;
    }
    rmSync(stack.dataDir, { recursive: true, force: true });
  }
  if (cluster)
    for (const { user, main, visibility } of [db, otherDb])
      await dropRoleAndDatabases(cluster, user, [main, visibility]).catch(() => undefined);
}, 60_000);

/** `ks-onboard <args>` to its end in the operator's second shell. */
async function ks(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string }> {
  const cli = startCli(args, { ...stack!.env, ...env });
  const code = await cli.exited;
  return { code, output: cli.output() };
}
const as = (who: { username: string; password: string }) => ({
  KUBESPHERE_USERNAME: who.username,
  KUBESPHERE_PASSWORD: who.password,
});

/** The emulator's store as it writes it to the data directory (an independent read of what KubeSphere holds). */
function kubesphereHolds(): string[] {
  const file = join(stack!.dataDir, 'prod-local', 'emulator.json');
  const snapshot = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  return peopleState({ emulator: { snapshot: () => snapshot } } as unknown as EmulatorHarness);
}
const linesOf = (username: string) =>
  kubesphereHolds().filter((line) => line.includes(` ${username} `) || line.endsWith(` ${username}`));

/**
 * The exit code of a start that must be refused at once; one that goes on (the bug this guards against) is stopped
 * after `ms` and fails the test.
 */
async function refusedStart(cli: RunningCli, ms = 30_000): Promise<number | null> {
  const timer = setTimeout(() => cli.child.kill('SIGTERM'), ms);
  try {
    const code = await cli.exited;
    expect(cli.child.signalCode, `not refused within ${ms / 1000} s:\n${cli.output()}`).toBe(null);
    return code;
  } finally {
    clearTimeout(timer);
  }
}

/** A query in this stack's own PostgreSQL databases (as the superuser; unaligned output). */
const sql = (database: string, query: string) => psqlAsSuperuser(cluster, query, database);

describe('stack prod-local: the production topology on this machine', () => {
  it('runs Temporal on PostgreSQL with the namespace and our search attributes, and the Web UI on the codec server', async () => {
    const s = stack!;
    const config = readFileSync(join(s.dataDir, 'prod-local', 'temporal-server.yaml'), 'utf8');
    expect(config).toContain(`databaseName: ${db.main}`);
    expect(config).toContain(`databaseName: ${db.visibility}`);
    expect(config).toContain('pluginName: postgres12');
    expect(config).toContain('numHistoryShards: 4'); // NUM_HISTORY_SHARDS of deploy/temporal.env
    // the schema tool's work: both databases at a schema version
    expect(Number((await sql(db.main, 'SELECT count(*) FROM schema_version')).trim())).toBe(1);
    expect(await sql(db.visibility, 'SELECT curr_version FROM schema_version')).toMatch(/^1\.\d+$/);
    const namespace = await client.workflowService.describeNamespace({ namespace: 'default' });
    expect(Number(namespace.config?.workflowExecutionRetentionTtl?.seconds)).toBe(7 * 86_400);
    const attributes = await client.connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(Object.keys(attributes.customAttributes ?? {}).sort()).toEqual(
      SEARCH_ATTRIBUTE_KEYS.map((key) => key.name).sort(),
    );
    // the Web UI server: its page, and its settings naming our codec server (which admits the UI's origin)
    const page = await fetch(s.uiUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const settings = (await (await fetch(`${s.uiUrl}/api/v1/settings`)).json()) as { Codec: { Endpoint: string } };
    expect(settings.Codec.Endpoint).toBe(s.codecUrl);
    const preflight = await fetch(`${s.codecUrl}/decode`, {
      method: 'OPTIONS',
      headers: {
        Origin: s.uiUrl,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type,x-namespace',
      },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBe(s.uiUrl);
  }, 60_000);

  it('refuses a second start on its data directory at once (exit 2), naming it and the owner, and touches nothing', async () => {
    const s = stack!;
    const dir = join(s.dataDir, 'prod-local');
    const files = ['run/stack.pid', 'run/temporal-server.pid', 'run/ui-server.pid', 'temporal-server.yaml'].filter(
      (file) => existsSync(join(dir, file)),
    );
    const state = () =>
      files.map((file) => `${readFileSync(join(dir, file), 'utf8')} ${statSync(join(dir, file)).mtimeMs}`);
    const before = state();
    const servers = ['temporal-server', 'ui-server'].map((name) =>
      Number(readFileSync(join(dir, 'run', `${name}.pid`), 'utf8').split(' ')[0]),
    );
    // the same command in the same environment, as a second shell would run it
    const second = startCli(s.started.args, s.started.env);
    const code = await refusedStart(second);
    expect(second.output()).toContain(
      `the data directory ${s.dataDir} is in use by a running stack prod-local (ks-onboard pid ${s.cli.child.pid};`,
    );
    expect(second.output()).toContain('nothing was stopped or started');
    expect(second.output()).not.toMatch(/prod-local: (stopping|PostgreSQL|temporal-sql-tool)/);
    expect(code).toBe(2);
    // the running stack is whole: its files as they were, its servers alive and answering
    for (const pid of servers) expect(existsSync(`/proc/${pid}`), `process ${pid}`).toBe(true);
    expect(state()).toEqual(before);
    await client.workflowService.getSystemInfo({});
    expect((await fetch(`${s.uiUrl}/api/v1/settings`)).status).toBe(200);
    expect(s.cli.child.exitCode).toBe(null);
    expect(files).toContain('run/stack.pid'); // the owner, recorded by the first start
  }, 60_000);

  it('refuses a start whose ports are taken (exit 2), naming each port and what holds it, before anything starts', async () => {
    const s = stack!;
    const dataDir = mkdtempSync(join(tmpdir(), 'ks-prod-local-'));
    try {
      const [uiPort, codecPort] = [s.uiUrl, s.codecUrl].map((url) => new URL(url).port);
      const uiPid = Number(readFileSync(join(s.dataDir, 'prod-local', 'run', 'ui-server.pid'), 'utf8').split(' ')[0]);
      const cli = startCli(
        [
          'stack',
          'prod-local',
          ...['--temporal-port', '0', '--emulator-port', '0', '--intake-port', '0'],
          ...['--ui-port', uiPort!, '--codec-port', codecPort!],
          ...['--postgres-user', otherDb.user, '--dbname', otherDb.main, '--visibility-dbname', otherDb.visibility],
        ],
        { ...s.started.env, KS_ONBOARD_DATA_DIR: dataDir },
      );
      const code = await refusedStart(cli);
      const output = cli.output();
      const uiServer = prodLocalPaths(pathsConfig().cacheDir).uiServer.split('/').pop()!;
      // the program (and a node process's script), never the rest of another process's command line
      expect(output).toMatch(
        new RegExp(`port ${uiPort} \\(the Web UI, --ui-port\\) is taken by pid ${uiPid}: ${uiServer}[;.] `),
      );
      expect(output).toMatch(
        new RegExp(
          `port ${codecPort} \\(the codec server, --codec-port\\) is taken by pid ${s.cli.child.pid}: ${basename(process.execPath)} dist/cli/main\\.js[;.] `,
        ),
      );
      expect(output).toContain('Nothing was stopped or started');
      expect(code).toBe(2);
      // nothing started: no database of its own, no server configuration, no owner left behind
      expect(readdirSync(join(dataDir, 'prod-local', 'run'))).toEqual([]);
      expect(existsSync(join(dataDir, 'prod-local', 'temporal-server.yaml'))).toBe(false);
      expect(await sql('postgres', `SELECT count(*) FROM pg_database WHERE datname = '${otherDb.main}'`)).toBe('0');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('--install-only prints where each built part is: the Temporal server, the SQL tool, the Web UI server', async () => {
    const paths = prodLocalPaths(pathsConfig().cacheDir);
    const { code, output } = await ks(['stack', 'prod-local', '--install-only']);
    expect(output).toContain(`prod-local: Temporal server ${paths.server} (cached)`);
    expect(output).toContain(`prod-local: SQL tool        ${paths.sqlTool}`);
    expect(output).toContain(`prod-local: Web UI server   ${paths.uiServer}`);
    expect(code).toBe(0);
  }, 60_000);

  it('onboards one person with `onboard --wait`: KubeSphere holds the placement, the run is in PostgreSQL', async () => {
    const run = await ks(
      [
        'onboard',
        '--username',
        'alice',
        '--email',
        'alice@example.com',
        '--workspace',
        'team-a',
        '--project',
        'team-a-dev',
        '--wait',
      ],
      as(OPS),
    );
    expect(run.output).toMatch(/onboard-alice: done/);
    expect(run.code).toBe(0);
    const state = (await client.workflow.getHandle('onboard-alice').result()) as OnboardingState;
    expect(state).toMatchObject({ lifecycle: 'done', username: 'alice', requestedBy: 'ops-admin' });
    expect(state.steps.map((step) => `${step.step} ${step.target} ${step.outcome}`)).toEqual([
      'user alice created',
      'workspace team-a created',
      'project host/team-a-dev created',
      'workspace-member team-a created',
      'project-member host/team-a-dev created',
    ]);
    await eventually(() =>
      expect(linesOf('alice')).toEqual([
        'member host/team-a-dev alice viewer',
        'member team-a alice team-a-regular',
        'user alice alice@example.com platform-regular',
      ]),
    );
    // persisted by the server in its PostgreSQL database, listed from its SQL visibility by a search attribute
    expect(await sql(db.main, "SELECT count(*) FROM current_executions WHERE workflow_id = 'onboard-alice'")).toBe('1');
    const listed = await ks(['list', '--state', 'done', '--json']);
    expect(listed.code).toBe(0);
    expect(listed.output).toContain('"onboard-alice"');
    // the Web UI's API reads the same run through the server
    const ui = (await (
      await fetch(
        `${stack!.uiUrl}/api/v1/namespaces/default/workflows?query=${encodeURIComponent("OnboardingUsername = 'alice'")}`,
      )
    ).json()) as { executions?: Array<{ execution: { workflowId: string }; status: string }> };
    expect(ui.executions?.map((e) => [e.execution.workflowId, e.status])).toEqual([
      ['onboard-alice', 'WORKFLOW_EXECUTION_STATUS_COMPLETED'],
    ]);
  }, 120_000);

  it('imports samples/onboarding.csv with `import --wait`, the elevated row approved by a second admin', async () => {
    const check = await checkImportFile(SAMPLE);
    const importing = startCli(['import', SAMPLE, '--wait'], { ...stack!.env, ...as(OPS) });
    try {
      await importing.waitFor(/awaiting approval [1-9]/, 120_000);
      const approved = await ks(
        ['approve', `import-${check.batchId}`, '--all', '--yes', '--reason', 'team lead'],
        as(APPROVER),
      );
      expect(approved.output).toMatch(/approved by carol/);
      expect(approved.code).toBe(0);
      expect(await importing.exited).toBe(0);
    } finally {
      if (importing.child.exitCode === null) importing.child.kill('SIGTERM');
    }
    expect(importing.output()).toMatch(/batch \S+ done: 22\/22 people finished — done 22, failed 0/);
    const batch = (await client.workflow.getHandle(`import-${check.batchId}`).result()) as BatchProgress;
    expect(batch).toMatchObject({ lifecycle: 'done', people: 22, done: 22, failed: 0 });
    // every person placed exactly as the file says (alice of the previous test aside)
    const publicKey = readPem(join(stack!.dataDir, 'keys', 'seal-public.pem'));
    const people: BatchPerson[] = [];
    for await (const person of readPeople(SAMPLE, check, { seal: sealerFor(publicKey) }))
      people.push(person as unknown as BatchPerson);
    await eventually(() =>
      expect(kubesphereHolds().filter((line) => !/ alice( |$)|team-a/.test(line))).toEqual(expectedPeopleState(people)),
    );
  }, 300_000);

  it('onboards a new hire delivered to the HR intake (`hire`), placed by the sample mapping', async () => {
    const s = stack!;
    const hired = await ks([
      'hire',
      ...['--username', 'dana', '--email', 'dana@example.com', '--first-name', 'Dana', '--last-name', 'Ito'],
      ...['--department', 'Payments', '--team', 'Payments Web', '--url', s.intakeUrl, '--json'],
    ]);
    expect(hired.code).toBe(0);
    expect(JSON.parse(hired.output)).toMatchObject({ status: 202, workflowId: 'onboard-dana' });
    const { intakeToken } = JSON.parse(readFileSync(join(s.dataDir, 'keys', 'dev-hr-secrets.json'), 'utf8')) as {
      intakeToken: string;
    };
    const status = await eventually(async () => {
      const answer = await fetch(`${s.intakeUrl}/v1/onboardings/onboard-dana`, {
        headers: { Authorization: `Bearer ${intakeToken}` },
      });
      const body = (await answer.json()) as { lifecycle: string; requestedBy: string };
      expect(body.lifecycle).toBe('done');
      return body;
    }, 60_000);
    expect(status.requestedBy).toBe('hr:generic');
    // The emulator saves its state a moment after a change (writes are coalesced): read until the last one is in.
    await eventually(() =>
      expect(linesOf('dana')).toEqual([
        'member host/payments-web dana viewer',
        'member payments dana payments-regular',
        'user dana dana@example.com platform-regular',
      ]),
    );
  }, 120_000);

  it('stops everything it started on SIGTERM, and leaves PostgreSQL running', async () => {
    const s = stack!;
    const pids = ['temporal-server', 'ui-server'].map((name) =>
      Number(readFileSync(join(s.dataDir, 'prod-local', 'run', `${name}.pid`), 'utf8').split(' ')[0]),
    );
    const [host, port] = s.temporalAddress.split(':') as [string, string];
    const urls = [s.uiUrl, s.codecUrl, s.kubesphereUrl, s.intakeUrl].map((url) => new URL(url));
    s.cli.child.kill('SIGTERM');
    expect(await s.cli.exited).toBe(0);
    expect(s.cli.output()).toMatch(/prod-local: stopped/);
    for (const pid of pids) expect(existsSync(`/proc/${pid}`), `process ${pid}`).toBe(false);
    expect(existsSync(join(s.dataDir, 'prod-local', 'run', 'stack.pid')), 'the owner file').toBe(false);
    expect(await portOpen(host, Number(port))).toBe(false);
    for (const url of urls) expect(await portOpen(url.hostname, Number(url.port)), url.href).toBe(false);
    expect((await findPgCluster()).running).toBe(true);
  }, 60_000);
});
