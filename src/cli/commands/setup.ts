import type { Command } from 'commander';
import { pathsConfig } from '../../config.js';
import { findTemporalCli } from '../../temporal/cli-binary.js';

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .description('find the temporal CLI ($TEMPORAL_CLI, PATH, cache) or install it into the cache; print its path')
    .action(async () => {
      const paths = pathsConfig();
      const binary = await findTemporalCli({
        explicit: paths.temporalCli,
        path: process.env.PATH,
        cacheDir: paths.cacheDir,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(`${binary}\n`);
    });
}
