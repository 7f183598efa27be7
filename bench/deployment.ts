/**
 * A deployment as an operator runs it, every piece a process of its own: the Temporal server (the dev server, or the
 * Go-built server on PostgreSQL as `stack prod-local` runs it), a KubeSphere emulator, `ks-onboard worker` (prebuilt
 * bundle, audit trail on) and the CLI. Shared by `npm run bench` (C) and `npm run drill`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDevKeyPair } from '../src/codec/seal.js';
import { pathsConfig, searchPath } from '../src/config.js';
import { missingBinaries, prodLocalPaths } from '../src/prod-local/binaries.js';
import {
  dropRoleAndDatabases,
  ensureRoleAndDatabases,
  findPgCluster,
  type PgCluster,
} from '../src/prod-local/postgres.js';
import {
  COMPOSE_DYNAMIC_CONFIG,
  fallbackDynamicConfig,
  portsFrom,
  renderServerConfig,
  type ServerPorts,
} from '../src/prod-local/server-config.js';
import { readTemporalEnv } from '../src/prod-local/temporal-env.js';
import {
  ensureNamespace,
  setupSchema,
  startTemporalServer,
  type TemporalServer,
} from '../src/prod-local/temporal-server.js';
import { findTemporalCli } from '../src/temporal/cli-binary.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { spawnEmulator } from './emulator-process.js';

export const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
export const ADMIN = { username: 'admin', password: 'P@88w0rd' };
export const OPS = { username: 'ops-admin', password: 'Ops-P@88w0rd' };
/** the emulator's seeded accounts: not people of any import */
export const SEEDED = ['admin', 'ops-admin', 'carol'];

export interface Row {
  username: string;
  email: string;
  workspace: string;
  project: string;
}

/** n people, one row each: person i in project i % 30, which is in workspace (i % 30) % 10. */
export function teamMigration(n: number, prefix = 'mig'): Row[] {
  return Array.from({ length: n }, (_, i) => {
    const p = i % 30;
    const workspace = `team-${p % 10}`;
    return {
      username: `${prefix}-${i}`,
      email: `${prefix}-${i}@example.com`,
      workspace,
      project: `${workspace}-app${Math.floor(p / 10)}`,
    };
  });
}

export function writeCsv(file: string, rows: Row[]): void {
  writeFileSync(
    file,
    'username,email,password,global_role,workspace,workspace_role,project,project_role,cluster\n' +
      rows.map((r) => `${r.username},${r.email},,,${r.workspace},,${r.project},,`).join('\n') +
      '\n',
  );
}

/** CPU seconds (user + system) of a process and its descendants, from /proc. */
export function cpuOf(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const own = (Number(fields[11]) + Number(fields[12])) / 100;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean);
    return own + children.reduce((n, c) => n + cpuOf(Number(c)), 0);
  } catch {
    return NaN;
  }
}

/** Peak resident memory (VmHWM) of a process, MiB. */
export function peakMiB(pid: number | undefined): number {
  if (!pid) return NaN;
  const line = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return line ? Number(line[1]) / 1024 : NaN;
}

/** The Temporal server of a deployment, whichever it is. */
export interface TemporalService {
  address: string;
  /** the server's process (a new one after a restart) */
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

export interface Deployment {
  server: TemporalService;
  emulator: { url: string; child: ChildProcess };
  /** the environment every ks-onboard process of this deployment shares */
  env: NodeJS.ProcessEnv;
  worker: ChildProcess;
  /** the last lines the current worker wrote to stderr (its log) */
  workerLog(): string;
  /** starts a worker (again, after a kill), resolved once it is ready */
  startWorker(): Promise<ChildProcess>;
  /** `ks-onboard <args>` as ops-admin */
  cli(args: string[]): ChildProcess;
  /**
   * storage 'postgres' only: SIGTERM to the Temporal server, then the same server again on the same ports and
   * databases; resolved once its frontend answers. The times are from the SIGTERM on.
   */
  restartServer(): Promise<{ stoppedMs: number; downMs: number }>;
  stop(): Promise<void>;
}

/**
 * Why the PostgreSQL topology cannot run here (the Go-built binaries missing, or no running PostgreSQL 12+
 * cluster), or undefined when it can.
 */
export async function postgresUnavailable(): Promise<string | undefined> {
  const missing = missingBinaries(pathsConfig().cacheDir);
  if (missing.length) return `missing ${missing.join('; ')}`;
  try {
    const cluster = await findPgCluster();
    if (!cluster.running)
      return `PostgreSQL ${cluster.version}/${cluster.name} is down (pg_ctlcluster ${cluster.version} ${cluster.name} start)`;
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

/**
 * The Temporal server of `stack prod-local` for one deployment: a PostgreSQL role and two databases of its own
 * (dropped by stop), the schema by temporal-sql-tool, the server's configuration rendered as the stack renders it
 * (free ports), the namespace and our search attributes.
 */
async function startPostgresTemporal(dataDir: string, temporalCli: string) {
  const binaries = prodLocalPaths(pathsConfig().cacheDir);
  const shared = readTemporalEnv();
  const cluster: PgCluster = await findPgCluster();
  if (!cluster.running) throw new Error(`PostgreSQL ${cluster.version}/${cluster.name} is down`);
  const tag = randomBytes(4).toString('hex');
  const user = `ks_drill_${tag}`;
  const databases = [`ks_drill_${tag}`, `ks_drill_${tag}_visibility`] as const;
  const password = randomBytes(24).toString('hex');
  const drop = () => dropRoleAndDatabases(cluster, user, [...databases]);
  const dir = join(dataDir, 'prod-local');
  const files = {
    config: join(dir, 'temporal-server.yaml'),
    dynamicConfig: join(dir, 'dynamicconfig.yaml'),
    log: join(dir, 'logs', 'temporal-server.log'),
    pid: join(dir, 'run', 'temporal-server.pid'),
  };
  const serverEnv = { PATH: searchPath(), HOME: homedir() };
  mkdirSync(join(dir, 'run'), { recursive: true });
  try {
    await ensureRoleAndDatabases(cluster, { user, password, databases: [...databases], owner: dataDir }, () => {});
    for (const [database, kind] of [
      [databases[0], 'temporal'],
      [databases[1], 'visibility'],
    ] as const)
      await setupSchema({
        sqlTool: binaries.sqlTool,
        plugin: shared.DB,
        host: '127.0.0.1',
        port: cluster.port,
        user,
        password,
        database,
        versionedDir: join(binaries.schemaDir, kind, 'versioned'),
        env: serverEnv,
      });
    const ports = await freeServerPorts('127.0.0.1');
    writeFileSync(
      files.config,
      renderServerConfig(
        {
          DB: shared.DB,
          DB_PORT: cluster.port,
          POSTGRES_SEEDS: '127.0.0.1',
          POSTGRES_USER: user,
          POSTGRES_PWD: password,
          DBNAME: databases[0],
          VISIBILITY_DBNAME: databases[1],
          VISIBILITY_DB_PORT: cluster.port,
          NUM_HISTORY_SHARDS: shared.NUM_HISTORY_SHARDS,
          BIND_ON_IP: '127.0.0.1',
          ...ports,
          DYNAMIC_CONFIG_FILE_PATH: existsSync(COMPOSE_DYNAMIC_CONFIG) ? COMPOSE_DYNAMIC_CONFIG : files.dynamicConfig,
          LOG_LEVEL: 'warn',
        },
        { logFile: files.log },
      ),
      { mode: 0o600 },
    );
    if (!existsSync(COMPOSE_DYNAMIC_CONFIG)) writeFileSync(files.dynamicConfig, fallbackDynamicConfig());
    const address = `127.0.0.1:${ports.FRONTEND_GRPC_PORT}`;
    const start = () =>
      startTemporalServer({
        binary: binaries.server,
        configFile: files.config,
        logFile: files.log,
        pidFile: files.pid,
        address,
        env: serverEnv,
      });
    let current: TemporalServer = await start();
    try {
      await ensureNamespace({
        temporalCli,
        address,
        namespace: shared.DEFAULT_NAMESPACE,
        retention: shared.NAMESPACE_RETENTION,
        log: () => {},
      });
    } catch (error) {
      await current.stop();
      throw error;
    }
    let stopped = false;
    const server: TemporalService = {
      address,
      get process() {
        return current.process.child;
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          await current.stop();
        } finally {
          await drop();
        }
      },
    };
    return {
      server,
      logFile: files.log,
      async restart(): Promise<{ stoppedMs: number; downMs: number }> {
        const down = performance.now();
        await current.stop(); // SIGTERM to its process group (SIGKILL after 15 s)
        const stoppedMs = performance.now() - down;
        current = await start();
        return { stoppedMs, downMs: performance.now() - down };
      },
    };
  } catch (error) {
    await drop().catch(() => undefined);
    throw error;
  }
}

/**
 * Free ports for the server's nine, below 32768: it records membership ports in PostgreSQL as SMALLINT (as
 * src/prod-local/stack.ts picks them).
 */
async function freeServerPorts(ip: string): Promise<ServerPorts> {
  const chosen = new Set<number>();
  const out: Record<string, number> = {};
  for (const key of Object.keys(portsFrom(7233))) {
    let port: number;
    do port = 20_000 + Math.floor(Math.random() * (32_767 - 20_000));
    while (chosen.has(port) || !(await bindable(ip, port)));
    chosen.add(port);
    out[key] = port;
  }
  return out as unknown as ServerPorts;
}

function bindable(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, ip, () => server.close(() => resolve(true)));
  });
}

export async function startDeployment(options: {
  dir: string;
  /** the dev server with its SQLite file or in memory, or the Go-built server on PostgreSQL (stack prod-local) */
  storage: 'file' | 'memory' | 'postgres';
  emulatorArgs: string[];
  /** a CPU profile of the worker goes there */
  profileDir?: string;
}): Promise<Deployment> {
  const paths = pathsConfig();
  const binary = await findTemporalCli({ explicit: paths.temporalCli, path: searchPath(), cacheDir: paths.cacheDir });
  const dataDir = mkdtempSync(join(options.dir, `deployment-${options.storage}-`));
  const keys = { private: join(dataDir, 'keys', 'private.pem'), public: join(dataDir, 'keys', 'public.pem') };
  ensureDevKeyPair(keys.private, keys.public);
  const emulator = await spawnEmulator(options.emulatorArgs);
  let restart: (() => Promise<{ stoppedMs: number; downMs: number }>) | undefined;
  const server: TemporalService = await (async () => {
    if (options.storage !== 'postgres')
      return startDevServer({
        binary,
        port: 0,
        ...(options.storage === 'file' ? { dbFile: join(dataDir, 'temporal.db') } : {}),
      });
    const postgres = await startPostgresTemporal(dataDir, binary);
    restart = postgres.restart;
    return postgres.server;
  })().catch(async (error: unknown) => {
    await emulator.stop();
    throw error;
  });
  try {
    return await withServer(options, dataDir, keys, emulator, server, restart);
  } catch (error) {
    await server.stop();
    await emulator.stop();
    throw error;
  }
}

async function withServer(
  options: { storage: string; profileDir?: string },
  dataDir: string,
  keys: { private: string; public: string },
  emulator: Deployment['emulator'] & { stop(): Promise<void> },
  server: TemporalService,
  restart: (() => Promise<{ stoppedMs: number; downMs: number }>) | undefined,
): Promise<Deployment> {
  const codecKey = spawnSync(process.execPath, [MAIN, 'codec-key'], { encoding: 'utf8' }).stdout.trim();
  // Built ahead, as the image does: the worker's memory is then what it needs to run, not webpack's.
  const bundle = join(dataDir, 'workflow-bundle.js');
  if (spawnSync(process.execPath, [MAIN, 'bundle', '--out', bundle], { stdio: 'ignore' }).status !== 0)
    throw new Error('ks-onboard bundle failed');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KS_ONBOARD_CODEC_KEYS: codecKey,
    KS_ONBOARD_WORKFLOW_BUNDLE: bundle,
    TEMPORAL_ADDRESS: server.address,
    KS_ONBOARD_DATA_DIR: dataDir,
    KS_ONBOARD_SEAL_PUBLIC_KEY: keys.public,
    KS_ONBOARD_SEAL_PRIVATE_KEYS: keys.private,
    KUBESPHERE_HOST: emulator.url,
    LOG_LEVEL: 'info', // the default; 'worker ready' is an info line
  };
  const profile = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [];
  let workerLog = () => '';
  const startWorker = async (): Promise<ChildProcess> => {
    const worker = spawn(process.execPath, [...profile, MAIN, 'worker'], {
      env: { ...env, KUBESPHERE_USERNAME: ADMIN.username, KUBESPHERE_PASSWORD: ADMIN.password },
      stdio: ['ignore', 'ignore', 'pipe'], // stdout: the audit trail (on, as by default)
    });
    let log = '';
    workerLog = () => log;
    await new Promise<void>((resolve, reject) => {
      worker.stderr!.on('data', (chunk: Buffer) => {
        log = (log + chunk.toString()).slice(-8000);
        if (/worker ready/.test(log)) resolve();
      });
      worker.once('exit', (code, signal) => reject(new Error(`worker exited with ${code ?? signal}: ${log}`)));
    });
    return worker;
  };
  const deployment: Deployment = {
    server,
    emulator,
    env,
    worker: await startWorker(),
    workerLog: () => workerLog(),
    async startWorker() {
      deployment.worker = await startWorker();
      return deployment.worker;
    },
    cli: (args) =>
      spawn(process.execPath, [MAIN, ...args], {
        env: { ...env, KUBESPHERE_USERNAME: OPS.username, KUBESPHERE_PASSWORD: OPS.password },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    async restartServer() {
      if (!restart) throw new Error(`storage '${options.storage}': the dev server is not restarted`);
      return restart();
    },
    async stop() {
      const worker = deployment.worker;
      if (worker.exitCode === null && worker.signalCode === null) {
        worker.kill('SIGTERM');
        await new Promise((resolve) => worker.once('exit', resolve));
      }
      await server.stop();
      await emulator.stop();
    },
  };
  return deployment;
}

/** Runs a CLI process to its end: its exit code and its output. */
export function finished(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}
