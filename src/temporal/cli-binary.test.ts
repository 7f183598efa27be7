import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findTemporalCli } from './cli-binary.js';

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
