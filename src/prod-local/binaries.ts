import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isExecutable } from '../temporal/cli-binary.js';

const exec = promisify(execFile);

/**
 * The production Temporal server, its SQL schema tool and the Web UI server, built from their Go modules into
 * the tool cache (like the temporal CLI in src/temporal/cli-binary.ts). Pinned: later versions need a newer Go.
 */
export const TEMPORAL_SERVER_VERSION = 'v1.30.4';
export const UI_SERVER_VERSION = 'v2.54.1';
export const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server';
export const UI_SERVER_MODULE = 'github.com/temporalio/ui-server/v2';

interface GoTarget {
  /** what it is, for log lines */
  what: string;
  /** the packages one `go install` builds (one module, one version) */
  packages: string[];
  /** GOBIN under `<cache>/go-bin`: one directory per module and version (both servers' binaries are named `server`) */
  dir: string;
  /** the executables it installs there */
  executables: string[];
  /** the oldest Go its go.mod accepts */
  minGo: string;
}

const TARGETS: GoTarget[] = [
  {
    what: 'the Temporal server and its SQL schema tool',
    packages: [
      `${TEMPORAL_SERVER_MODULE}/cmd/server@${TEMPORAL_SERVER_VERSION}`,
      `${TEMPORAL_SERVER_MODULE}/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`,
    ],
    dir: `temporal-server-${TEMPORAL_SERVER_VERSION}`,
    executables: ['server', 'sql'],
    minGo: '1.25.8',
  },
  {
    what: 'the Temporal Web UI server',
    packages: [`${UI_SERVER_MODULE}/cmd/server@${UI_SERVER_VERSION}`],
    dir: `ui-server-${UI_SERVER_VERSION}`,
    executables: ['server'],
    minGo: '1.26.5',
  },
];

export interface ProdLocalBinaries {
  /** the Temporal server (all services in one process) */
  server: string;
  /** temporal-sql-tool: create the databases' schema and update it */
  sqlTool: string;
  /** the Web UI server (serves the UI and proxies its API to the frontend) */
  uiServer: string;
  /** the Temporal server module's schema files: `<dir>/{temporal,visibility}/versioned` */
  schemaDir: string;
}

/** Where each part lives in the cache (present or not). */
export function prodLocalPaths(cacheDir: string): ProdLocalBinaries & { goCache: string; goModCache: string } {
  const goModCache = join(cacheDir, 'go-mod');
  return {
    server: join(cacheDir, 'go-bin', TARGETS[0]!.dir, 'server'),
    sqlTool: join(cacheDir, 'go-bin', TARGETS[0]!.dir, 'sql'),
    uiServer: join(cacheDir, 'go-bin', TARGETS[1]!.dir, 'server'),
    schemaDir: join(goModCache, `${TEMPORAL_SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}`, 'schema', 'postgresql', 'v12'),
    goCache: join(cacheDir, 'go-build'),
    goModCache,
  };
}

/** The command that installs what is missing (for messages: tests and docs name it). */
export const INSTALL_COMMAND = 'npx ks-onboard stack prod-local --install-only';

/** What is missing from the cache, one line each (empty: all there). */
export function missingBinaries(cacheDir: string): string[] {
  const paths = prodLocalPaths(cacheDir);
  const missing: string[] = [];
  for (const [what, path] of [
    ['the Temporal server', paths.server],
    ['temporal-sql-tool', paths.sqlTool],
    ['the Web UI server', paths.uiServer],
  ] as const)
    if (!isExecutable(path)) missing.push(`${what} (${path})`);
  if (!existsSync(join(paths.schemaDir, 'temporal', 'versioned')))
    missing.push(`the server's schema files (${paths.schemaDir})`);
  return missing;
}

export class ProdLocalInstallError extends Error {
  override readonly name = 'ProdLocalInstallError';
}

export interface InstallOptions {
  cacheDir: string;
  log: (line: string) => void;
  /**
   * The environment `go` runs in: the caller's as it is (GOPROXY, GOFLAGS, proxies), to which the cache locations
   * are added.
   */
  env: NodeJS.ProcessEnv;
}

/**
 * Builds what is missing with `go install` into `<cache>/go-bin/<module>-<version>/`, with the module and build
 * caches under the tool cache too (`go-mod`, `go-build`): a second run finds everything and builds nothing.
 */
export async function ensureProdLocalBinaries(options: InstallOptions): Promise<ProdLocalBinaries> {
  const paths = prodLocalPaths(options.cacheDir);
  const todo = TARGETS.filter((target) =>
    target.executables.some((name) => !isExecutable(join(options.cacheDir, 'go-bin', target.dir, name))),
  );
  // the schema files come with the server's module: a cache whose go-mod was removed fetches them again
  const schemaMissing = !existsSync(join(paths.schemaDir, 'temporal', 'versioned'));
  if (schemaMissing && !todo.includes(TARGETS[0]!)) todo.unshift(TARGETS[0]!);
  if (todo.length === 0) return paths;

  const go = await goVersion(options.env);
  for (const target of todo) {
    if (compareVersions(go, target.minGo) < 0)
      throw new ProdLocalInstallError(
        `${target.what} needs Go ${target.minGo} or newer to build; this machine has Go ${go}. ` +
          `Install a newer Go, then run ${INSTALL_COMMAND}`,
      );
  }
  for (const target of todo) {
    const gobin = join(options.cacheDir, 'go-bin', target.dir);
    mkdirSync(gobin, { recursive: true });
    const started = Date.now();
    options.log(`building ${target.what}: go install ${target.packages.join(' ')} (a few minutes the first time)`);
    // a line a minute: a CI log that is silent for minutes looks hung
    const heartbeat = setInterval(
      () => options.log(`still building ${target.what} (${Math.round((Date.now() - started) / 60_000)} min)`),
      60_000,
    );
    try {
      await goInstall(
        target,
        {
          ...options.env,
          GOBIN: gobin,
          GOMODCACHE: paths.goModCache,
          GOCACHE: paths.goCache,
          // never fetch another Go toolchain: the versions above build with the local one
          GOTOOLCHAIN: 'local',
          // `go install module@version` builds that version alone: no workspace of the current directory applies
          GOWORK: 'off',
          // a module cache that `rm -rf` can remove (Go makes it read-only otherwise)
          GOFLAGS: `${options.env.GOFLAGS ?? ''} -modcacherw`.trim(),
        },
        options.cacheDir,
      );
    } finally {
      clearInterval(heartbeat);
    }
    for (const name of target.executables) {
      const path = join(gobin, name);
      if (!isExecutable(path))
        throw new ProdLocalInstallError(`go install finished, but ${path} is missing (${target.what})`);
    }
    options.log(`built ${target.what} in ${Math.round((Date.now() - started) / 1000)} s into ${gobin}`);
  }
  return paths;
}

/** `go install` with its output kept for the error (the last lines name the package that failed and why). */
function goInstall(target: GoTarget, env: NodeJS.ProcessEnv, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('go', ['install', ...target.packages], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (error) =>
      reject(new ProdLocalInstallError(`cannot run go (${error.message}): install Go 1.26.5 or newer`)),
    );
    child.once('exit', (code, signal) => {
      if (code === 0) return resolve();
      const tail = output
        .trim()
        .split('\n')
        .filter((line) => !line.startsWith('go: downloading '))
        .slice(-15)
        .join('\n');
      reject(
        new ProdLocalInstallError(
          `go install of ${target.what} failed (${signal ?? `exit ${code}`}):\n${tail}\n` +
            `the command: go install ${target.packages.join(' ')}`,
        ),
      );
    });
  });
}

async function goVersion(env: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { stdout } = await exec('go', ['env', 'GOVERSION'], { env: { ...env, GOTOOLCHAIN: 'local' } });
    return stdout.trim().replace(/^go/, '');
  } catch (error) {
    throw new ProdLocalInstallError(
      `Go is needed to build the Temporal server and its Web UI (${(error as Error).message.split('\n')[0]}). ` +
        `Install Go 1.26.5 or newer, then run ${INSTALL_COMMAND}`,
    );
  }
}

/** Compares dotted versions (1.26.8 vs 1.26.5); a pre-release suffix is ignored. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) =>
    v
      .split(/[^0-9.]/)[0]!
      .split('.')
      .map(Number);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
