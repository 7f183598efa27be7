import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { KubeSphereConfig } from '../config.js';
import { startServices, type Services } from '../stack.js';
import { freePort } from '../temporal/dev-server.js';
import { ensureProdLocalBinaries, type ProdLocalBinaries } from './binaries.js';
import { ensureDbPassword, ensureRoleAndDatabases, findPgCluster, startPgCluster, type PgCluster } from './postgres.js';
import { claimDataDir, ProdLocalRefusal } from './owner.js';
import { findLeftover, portHolder, portOpen, stopLeftover } from './process.js';
import {
  COMPOSE_DYNAMIC_CONFIG,
  fallbackDynamicConfig,
  portsFrom,
  renderServerConfig,
  type ServerPorts,
  type ServerVars,
} from './server-config.js';
import { readTemporalEnv, TEMPORAL_ENV_FILE, type TemporalEnv } from './temporal-env.js';
import { ensureNamespace, setupSchema, startTemporalServer, type TemporalServer } from './temporal-server.js';
import { startUiServer, type UiServer } from './ui-server.js';

/** Where the local production topology keeps its state, under the data directory. */
export function prodLocalDir(dataDir: string) {
  const dir = join(dataDir, 'prod-local');
  return {
    dir,
    serverConfig: join(dir, 'temporal-server.yaml'),
    dynamicConfig: join(dir, 'dynamicconfig.yaml'),
    /** POSTGRES_PWD=… (the format of the compose file's deploy/secrets/temporal-db.env) */
    dbPasswordFile: join(dir, 'secrets', 'temporal-db.env'),
    uiDir: join(dir, 'ui-server'),
    serverLog: join(dir, 'logs', 'temporal-server.log'),
    uiLog: join(dir, 'logs', 'ui-server.log'),
    /** the owning ks-onboard process: its pid and start time (src/prod-local/owner.ts) */
    ownerPid: join(dir, 'run', 'stack.pid'),
    serverPid: join(dir, 'run', 'temporal-server.pid'),
    uiPid: join(dir, 'run', 'ui-server.pid'),
    emulatorState: join(dir, 'emulator.json'),
  };
}

export interface ProdLocalOptions {
  cacheDir: string;
  dataDir: string;
  /** the frontend's gRPC port; the server's other ports follow it as in the server image (0: all free ports) */
  temporalPort: number;
  /** 0: any free port */
  uiPort: number;
  emulatorPort: number;
  intakePort: number;
  codecPort: number;
  controllerDelayMs: number;
  /** overrides of deploy/temporal.env's names (the tests use a role and databases of their own) */
  postgresUser?: string;
  dbName?: string;
  visibilityDbName?: string;
  /** a real KubeSphere (KUBESPHERE_HOST and the worker's login); undefined: the emulator */
  kubesphere?: KubeSphereConfig;
  /** the temporal CLI (operator namespace create) */
  temporalCli: string;
  /** PATH for the servers we start: they get nothing else of our environment */
  searchPath: string;
  /** the environment `go install` runs in */
  buildEnv: NodeJS.ProcessEnv;
  /** a progress line for people (what runs, where) */
  say: (line: string) => void;
  log: Logger;
}

export interface ProdLocal {
  binaries: ProdLocalBinaries;
  postgres: PgCluster & { startedNow: boolean; user: string; databases: string[] };
  temporal: TemporalServer & { namespace: string; ports: ServerPorts };
  ui: UiServer;
  services: Services;
  env: TemporalEnv;
  files: ReturnType<typeof prodLocalDir>;
  /**
   * stops what this start started, in order: our processes (the worker drains), the Web UI, the Temporal server;
   * then gives up the data directory
   */
  stop(): Promise<void>;
}

/**
 * The production topology of docker-compose.yml on this machine, without containers: PostgreSQL (Debian's
 * cluster), the schema by temporal-sql-tool, the Temporal server with a configuration rendered from
 * deploy/temporal.env, the namespace and our search attributes, the Web UI server wired to our codec server, and
 * our worker, HR intake and codec server as `dev` runs them.
 */
export async function startProdLocal(options: ProdLocalOptions): Promise<ProdLocal> {
  const files = prodLocalDir(options.dataDir);
  // first of all: a stack still running on this data directory is refused, before anything is stopped or started
  const ownership = claimDataDir(files.ownerPid, options.dataDir);
  try {
    return await startClaimed(options, files, ownership.release);
  } catch (error) {
    ownership.release();
    throw error;
  }
}

/** The data directory of a stack prod-local that is not running (or of this process): refused while one runs there. */
export function claimProdLocalDir(dataDir: string): { release(): void } {
  return claimDataDir(prodLocalDir(dataDir).ownerPid, dataDir);
}

async function startClaimed(
  options: ProdLocalOptions,
  files: ReturnType<typeof prodLocalDir>,
  release: () => void,
): Promise<ProdLocal> {
  const { say } = options;
  const bindIp = '127.0.0.1';
  // the servers an abrupt end of the previous owner left running: stopped, once the ports are known to be free
  const leftovers = [files.serverPid, files.uiPid].flatMap((file) => findLeftover(file) ?? []);
  if (options.temporalPort) checkPorts(portsFrom(options.temporalPort));
  await ensurePortsFree(bindIp, wantedPorts(options), new Set(leftovers.map((leftover) => leftover.pid)));
  await stopLeftover(files.serverPid, say);
  await stopLeftover(files.uiPid, say);

  const binaries = await ensureProdLocalBinaries({ cacheDir: options.cacheDir, env: options.buildEnv, log: say });
  const shared = readTemporalEnv();
  const env: TemporalEnv = {
    ...shared,
    ...(options.postgresUser ? { POSTGRES_USER: options.postgresUser } : {}),
    ...(options.dbName ? { DBNAME: options.dbName } : {}),
    ...(options.visibilityDbName ? { VISIBILITY_DBNAME: options.visibilityDbName } : {}),
  };
  const serverEnv = { PATH: options.searchPath, HOME: homedir() };

  // PostgreSQL: the newest Debian cluster, started if it is down; the role and databases, idempotently
  const cluster = await findPgCluster();
  const startedNow = await startPgCluster(cluster);
  say(
    startedNow
      ? `PostgreSQL ${cluster.version}/${cluster.name}: started (pg_ctlcluster ${cluster.version} ${cluster.name} start), port ${cluster.port}`
      : `PostgreSQL ${cluster.version}/${cluster.name}: running, port ${cluster.port}`,
  );
  const password = ensureDbPassword(files.dbPasswordFile);
  const databases = [env.DBNAME, env.VISIBILITY_DBNAME];
  await ensureRoleAndDatabases(cluster, { user: env.POSTGRES_USER, password, databases, owner: options.dataDir }, say);
  for (const [database, kind] of [
    [env.DBNAME, 'temporal'],
    [env.VISIBILITY_DBNAME, 'visibility'],
  ] as const) {
    say(`temporal-sql-tool --plugin ${env.DB} --db ${database} setup-schema -v 0.0 / update-schema (${kind})`);
    await setupSchema({
      sqlTool: binaries.sqlTool,
      plugin: env.DB,
      host: '127.0.0.1',
      port: cluster.port,
      user: env.POSTGRES_USER,
      password,
      database,
      versionedDir: join(binaries.schemaDir, kind, 'versioned'),
      env: serverEnv,
    });
  }

  // the server's ports: the image's defaults around the frontend's (checked free above), or all free ones
  const ports = options.temporalPort ? portsFrom(options.temporalPort) : await freeServerPorts(bindIp);
  const taken: string[] = [];
  for (const [name, port] of Object.entries(ports)) if (await portOpen(bindIp, port)) taken.push(`${port} (${name})`);
  if (taken.length)
    throw new Error(
      `the Temporal server's ports are taken: ${taken.join(', ')}; is another Temporal (ks-onboard dev, or another ` +
        'prod-local) running? Stop it, or pick another --temporal-port (its other ports follow it; 0: all free)',
    );

  const vars: ServerVars = {
    DB: env.DB,
    DB_PORT: cluster.port,
    // the compose file's POSTGRES_SEEDS names its PostgreSQL service; here it is this machine's cluster
    POSTGRES_SEEDS: '127.0.0.1',
    POSTGRES_USER: env.POSTGRES_USER,
    POSTGRES_PWD: password,
    DBNAME: env.DBNAME,
    VISIBILITY_DBNAME: env.VISIBILITY_DBNAME,
    VISIBILITY_DB_PORT: cluster.port,
    NUM_HISTORY_SHARDS: env.NUM_HISTORY_SHARDS,
    // the compose file binds 0.0.0.0 inside its container; on this machine, loopback only (no authorizer)
    BIND_ON_IP: bindIp,
    ...ports,
    // the file the compose file mounts into the server, read in place
    DYNAMIC_CONFIG_FILE_PATH: existsSync(COMPOSE_DYNAMIC_CONFIG) ? COMPOSE_DYNAMIC_CONFIG : files.dynamicConfig,
    LOG_LEVEL: 'warn',
  };
  mkdirSync(join(files.dir, 'run'), { recursive: true });
  writeFileSync(files.serverConfig, renderServerConfig(vars, { logFile: files.serverLog }), { mode: 0o600 });
  if (!existsSync(COMPOSE_DYNAMIC_CONFIG)) writeFileSync(files.dynamicConfig, fallbackDynamicConfig());

  const address = `${bindIp}:${ports.FRONTEND_GRPC_PORT}`;
  say(`${binaries.server} --config-file ${files.serverConfig} --allow-no-auth start   (log: ${files.serverLog})`);
  const started = Date.now();
  const server = await startTemporalServer({
    binary: binaries.server,
    configFile: files.serverConfig,
    logFile: files.serverLog,
    pidFile: files.serverPid,
    address,
    env: serverEnv,
  });
  let ui: UiServer | undefined;
  let services: Services | undefined;
  try {
    say(`Temporal server answering on ${address} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const namespace = env.DEFAULT_NAMESPACE;
    await ensureNamespace({
      temporalCli: options.temporalCli,
      address,
      namespace,
      retention: env.NAMESPACE_RETENTION,
      log: say,
    });
    say(`namespace ${namespace} and the search attributes are served`);
    const uiPort = options.uiPort || (await freePort(bindIp));
    const uiUrl = `http://${bindIp}:${uiPort}`;
    services = await startServices({
      temporal: { address, namespace, uiUrl },
      ...(options.kubesphere ? { kubesphere: options.kubesphere } : {}),
      emulatorPort: options.emulatorPort,
      emulatorStateFile: files.emulatorState,
      controllerDelayMs: options.controllerDelayMs,
      uiPort,
      codecPort: options.codecPort,
      intakePort: options.intakePort,
      log: options.log,
    });
    const codecEndpoint = services.codecServer!.url;
    say(`${binaries.uiServer} --root ${files.uiDir} --env prod-local start   (log: ${files.uiLog})`);
    ui = await startUiServer({
      binary: binaries.uiServer,
      dir: files.uiDir,
      logFile: files.uiLog,
      pidFile: files.uiPid,
      settings: { temporalAddress: address, host: bindIp, port: uiPort, namespace, codecEndpoint },
      env: serverEnv,
    });
    const running = { ui, services };
    return {
      binaries,
      postgres: { ...cluster, startedNow, user: env.POSTGRES_USER, databases },
      temporal: { ...server, namespace, ports },
      ui,
      services,
      env,
      files,
      async stop() {
        await running.services.stop();
        await running.ui.stop();
        await server.stop();
        release();
      },
    };
  } catch (error) {
    await services?.stop().catch(() => undefined);
    await ui?.stop();
    await server.stop();
    throw error;
  }
}

/**
 * The server records each service's membership port in PostgreSQL as a SMALLINT (`cluster_membership.rpc_port`): a
 * port above 32767 stops it at start ("value … is out of range for type smallint"), so its ports stay below.
 */
const MAX_MEMBERSHIP_PORT = 32767;

async function freeServerPorts(ip: string): Promise<ServerPorts> {
  const keys = Object.keys(portsFrom(7233)) as Array<keyof ServerPorts>;
  const chosen = new Set<number>();
  const out: Partial<ServerPorts> = {};
  for (const key of keys) {
    let port: number;
    do port = 20_000 + Math.floor(Math.random() * (MAX_MEMBERSHIP_PORT - 20_000));
    while (chosen.has(port) || !(await bindable(ip, port)));
    chosen.add(port);
    out[key] = port;
  }
  return out as ServerPorts;
}

function bindable(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, ip, () => server.close(() => resolve(true)));
  });
}

/** The fixed ports this start needs (0: a free one is picked later), each with what it is for. */
function wantedPorts(options: ProdLocalOptions): Array<{ port: number; what: string }> {
  const wanted: Array<{ port: number; what: string }> = [];
  if (options.temporalPort)
    for (const [name, port] of Object.entries(portsFrom(options.temporalPort)))
      wanted.push({ port, what: `the Temporal server's ${name}` });
  if (options.uiPort) wanted.push({ port: options.uiPort, what: 'the Web UI, --ui-port' });
  if (options.codecPort) wanted.push({ port: options.codecPort, what: 'the codec server, --codec-port' });
  if (options.intakePort) wanted.push({ port: options.intakePort, what: 'the HR intake, --intake-port' });
  if (options.emulatorPort && !options.kubesphere)
    wanted.push({ port: options.emulatorPort, what: 'the KubeSphere emulator, --emulator-port' });
  return wanted;
}

/**
 * Refuses (exit 2, nothing touched) when a port this start needs is asked for twice or taken, naming the process
 * that holds it; a port held by a leftover server of this data directory is fine, since that is stopped next.
 */
async function ensurePortsFree(
  ip: string,
  wanted: Array<{ port: number; what: string }>,
  leftoverPids: Set<number>,
): Promise<void> {
  const problems: string[] = [];
  const seen = new Map<number, string>();
  for (const { port, what } of wanted) {
    const first = seen.get(port);
    if (first) {
      problems.push(`port ${port} is asked for twice (${first}; ${what})`);
      continue;
    }
    seen.set(port, what);
    if (await bindable(ip, port)) continue;
    const holder = portHolder(port);
    if (holder && leftoverPids.has(holder.pid)) continue;
    problems.push(
      `port ${port} (${what}) is taken by ${holder ? `pid ${holder.pid}: ${holder.command}` : 'another process (not visible to this user)'}`,
    );
  }
  if (problems.length)
    throw new ProdLocalRefusal(
      `${problems.join('; ')}. Nothing was stopped or started: stop what holds them, or pick other ports ` +
        "(0: a free one; --temporal-port moves all nine of the server's ports)",
    );
}

function checkPorts(ports: ServerPorts): void {
  const bad = Object.entries(ports).filter(([, port]) => port < 1 || port > MAX_MEMBERSHIP_PORT);
  if (bad.length)
    throw new Error(
      `--temporal-port ${ports.FRONTEND_GRPC_PORT}: the server's ports ${bad.map(([name, port]) => `${name}=${port}`).join(', ')} ` +
        `fall outside 1–${MAX_MEMBERSHIP_PORT} (the server stores them in PostgreSQL as SMALLINT); pick one from 301 to 32757, or 0`,
    );
}

export { ProdLocalRefusal, TEMPORAL_ENV_FILE };
