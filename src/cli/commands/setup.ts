import type { Command } from 'commander';
import { pathsConfig, searchPath } from '../../config.js';
import { findTemporalCli } from '../../temporal/cli-binary.js';
import { findTemporalTestServer } from '../../temporal/test-server-binary.js';

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .description(
      'find the temporal CLI ($TEMPORAL_CLI, PATH, cache) or install it into the cache; print its path. ' +
        'Also ensures the time-skipping test server of the tests ($TEMPORAL_TEST_SERVER, cache; path on stderr)',
    )
    .action(async () => {
      const paths = pathsConfig();
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const binary = await findTemporalCli({
        explicit: paths.temporalCli,
        path: searchPath(),
        cacheDir: paths.cacheDir,
        log,
      });
      // stdout stays the CLI's path alone: `$(npx ks-onboard setup)` is the temporal binary.
      process.stdout.write(`${binary}\n`);
      const testServer = await findTemporalTestServer({
        explicit: paths.temporalTestServer,
        cacheDir: paths.cacheDir,
        log,
      });
      log(`temporal test server: ${testServer}`);
    });
}
