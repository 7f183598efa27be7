/**
 * A deployment as an operator runs it, every piece a process of its own: the Temporal dev server, a KubeSphere
 * emulator, `ks-onboard worker` (prebuilt bundle, audit trail on) and the CLI. Shared by `npm run bench` (C) and
 * `npm run drill`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDevKeyPair } from '../src/codec/seal.js';
import { pathsConfig, searchPath } from '../src/config.js';
import { findTemporalCli } from '../src/temporal/cli-binary.js';
import { startDevServer, type DevServer } from '../src/temporal/dev-server.js';
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

export interface Deployment {
  server: DevServer;
  emulator: { url: string; child: ChildProcess };
  /** the environment every ks-onboard process of this deployment shares */
  env: NodeJS.ProcessEnv;
  worker: ChildProcess;
  /** starts a worker (again, after a kill), resolved once it is ready */
  startWorker(): Promise<ChildProcess>;
  /** `ks-onboard <args>` as ops-admin */
  cli(args: string[]): ChildProcess;
  stop(): Promise<void>;
}

export async function startDeployment(options: {
  dir: string;
  storage: 'file' | 'memory';
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
  const server = await startDevServer({
    binary,
    port: 0,
    ...(options.storage === 'file' ? { dbFile: join(dataDir, 'temporal.db') } : {}),
  }).catch(async (error: unknown) => {
    await emulator.stop();
    throw error;
  });
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
  const startWorker = async (): Promise<ChildProcess> => {
    const worker = spawn(process.execPath, [...profile, MAIN, 'worker'], {
      env: { ...env, KUBESPHERE_USERNAME: ADMIN.username, KUBESPHERE_PASSWORD: ADMIN.password },
      stdio: ['ignore', 'ignore', 'pipe'], // stdout: the audit trail (on, as by default)
    });
    let log = '';
    await new Promise<void>((resolve, reject) => {
      worker.stderr!.on('data', (chunk: Buffer) => {
        log = (log + chunk.toString()).slice(-4000);
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
    async startWorker() {
      deployment.worker = await startWorker();
      return deployment.worker;
    },
    cli: (args) =>
      spawn(process.execPath, [MAIN, ...args], {
        env: { ...env, KUBESPHERE_USERNAME: OPS.username, KUBESPHERE_PASSWORD: OPS.password },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
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
