import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { buildToolEnvironment, pathsConfig, prodLocalKubesphere, searchPath } from '../../config.js';
import { DEV_APPROVER, EMULATOR_ADMIN, EMULATOR_OPS } from '../../emulator-accounts.js';
import { findTemporalCli } from '../../temporal/cli-binary.js';
import { createLogger, installRuntime } from '../logger.js';
import { ExitError, integerIn } from '../options.js';

interface ProdLocalFlags {
  installOnly?: boolean;
  temporalPort: number;
  uiPort: number;
  emulatorPort: number;
  intakePort: number;
  codecPort: number;
  controllerDelay: number;
  postgresUser?: string;
  dbname?: string;
  visibilityDbname?: string;
}

const identifier = (raw: string): string => {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(raw))
    throw new InvalidArgumentError(`expected a lower-case PostgreSQL name (letters, digits, _), got "${raw}"`);
  return raw;
};

export function registerStack(program: Command): void {
  const stack = program
    .command('stack')
    .description('run a whole deployment on this machine (prod-local: the production topology without containers)');
  stack
    .command('prod-local')
    .description(
      "docker-compose.yml's topology on this machine: PostgreSQL, the Temporal server (schema set up, namespace and " +
        'search attributes registered), its Web UI wired to the codec server, a worker, the HR intake, the KubeSphere ' +
        'emulator (or KUBESPHERE_HOST); Ctrl-C stops all but PostgreSQL',
    )
    .option(
      '--install-only',
      'build what is missing into the tool cache (Temporal server, SQL tool, Web UI), then exit',
    )
    .option(
      '--temporal-port <n>',
      "Temporal gRPC port; the server's other ports follow it as in the server image (0: all free ports)",
      integerIn(0, 65535),
      7233,
    )
    .option('--ui-port <n>', 'Temporal Web UI port (0: a free one)', integerIn(0, 65535), 8080)
    .option('--emulator-port <n>', 'KubeSphere emulator port (0: a free one)', integerIn(0, 65535), 9090)
    .option('--intake-port <n>', 'HR intake port (0: a free one)', integerIn(0, 65535), 8787)
    .option(
      '--codec-port <n>',
      "codec server port, the Web UI's payload decryption (0: a free one)",
      integerIn(0, 65535),
      8888,
    )
    .option('--controller-delay <ms>', "emulated KubeSphere controllers' delay", integerIn(0, 600_000), 300)
    .option('--postgres-user <name>', 'the database role (default POSTGRES_USER of deploy/temporal.env)', identifier)
    .option('--dbname <name>', 'the database (default DBNAME of deploy/temporal.env)', identifier)
    .option(
      '--visibility-dbname <name>',
      'the visibility database (default VISIBILITY_DBNAME of deploy/temporal.env)',
      identifier,
    )
    .addHelpText(
      'after',
      `
Builds (once, cached under the tool cache): the Temporal server and temporal-sql-tool (Go module
go.temporal.io/server), the Web UI server (github.com/temporalio/ui-server/v2); needs Go 1.26.5 or newer.
Needs PostgreSQL 12+ as a Debian cluster (apt-get install postgresql) and root, the postgres user or sudo -n to start
it and create the role and databases. State: <data dir>/prod-local/ (KS_ONBOARD_DATA_DIR, default .data).
KUBESPHERE_HOST (with the worker's KUBESPHERE_USERNAME + KUBESPHERE_PASSWORD, or KUBESPHERE_TOKEN): a real
KubeSphere instead of the emulator. docs/prod-local.md says how it maps to docker-compose.yml.`,
    )
    .action(async (flags: ProdLocalFlags) => {
      const paths = pathsConfig();
      const say = (line: string) => process.stderr.write(`prod-local: ${line}\n`);
      if (flags.installOnly) {
        const { ensureProdLocalBinaries, missingBinaries } = await import('../../prod-local/binaries.js');
        const missing = missingBinaries(paths.cacheDir);
        const started = Date.now();
        const binaries = await ensureProdLocalBinaries({
          cacheDir: paths.cacheDir,
          env: buildToolEnvironment(),
          log: say,
        });
        const took = missing.length ? ` (built in ${Math.round((Date.now() - started) / 1000)} s)` : ' (cached)';
        say(`Temporal server ${binaries.server}${took}`);
        say(`SQL tool        ${binaries.sqlTool}`);
        say(`Web UI server   ${binaries.uiServer}`);
        return;
      }
      const { startProdLocal, claimProdLocalDir, ProdLocalRefusal } = await import('../../prod-local/stack.js');
      // a start refused before it touched anything (the data directory in use, a port taken): exit 2
      const refused = (error: unknown) => (error instanceof ProdLocalRefusal ? new ExitError(error.message, 2) : error);
      // at once: a stack still running on this data directory is refused before anything else happens
      try {
        claimProdLocalDir(paths.dataDir);
      } catch (error) {
        throw refused(error);
      }
      const kubesphere = prodLocalKubesphere();
      const log = createLogger();
      await installRuntime(log);
      const temporalCli = await findTemporalCli({
        explicit: paths.temporalCli,
        path: searchPath(),
        cacheDir: paths.cacheDir,
        log: say,
      });
      const started = Date.now();
      const running = await startProdLocal({
        cacheDir: paths.cacheDir,
        dataDir: paths.dataDir,
        temporalPort: flags.temporalPort,
        uiPort: flags.uiPort,
        emulatorPort: flags.emulatorPort,
        intakePort: flags.intakePort,
        codecPort: flags.codecPort,
        controllerDelayMs: flags.controllerDelay,
        ...(flags.postgresUser ? { postgresUser: flags.postgresUser } : {}),
        ...(flags.dbname ? { dbName: flags.dbname } : {}),
        ...(flags.visibilityDbname ? { visibilityDbName: flags.visibilityDbname } : {}),
        ...(kubesphere ? { kubesphere } : {}),
        temporalCli,
        searchPath: searchPath() ?? '/usr/local/bin:/usr/bin:/bin',
        buildEnv: buildToolEnvironment(),
        say,
        log,
      }).catch((error: unknown) => {
        throw refused(error);
      });
      const { services, temporal, ui, postgres, files } = running;
      const intake = services.intake!;
      const emulator = services.emulator;
      process.stdout.write(
        [
          '',
          `Temporal     ${temporal.address} (namespace ${temporal.namespace}; the server, ${running.binaries.server}; ready in ${Math.round((Date.now() - started) / 1000)} s)`,
          `             PostgreSQL ${postgres.version}/${postgres.name} on 127.0.0.1:${postgres.port}, role ${postgres.user}, databases ${postgres.databases.join(', ')}`,
          `             config ${files.serverConfig}; log ${files.serverLog}`,
          `Web UI       ${ui.url} (ui-server; payloads decoded through the codec server ${services.codecServer?.url ?? ''})`,
          emulator
            ? `KubeSphere   ${emulator.url} (emulator; state in ${files.emulatorState})`
            : `KubeSphere   ${services.kubesphereUrl} (KUBESPHERE_HOST; the worker acts as ${kubesphere?.username ?? 'the token'})`,
          ...(emulator
            ? [
                `             the worker acts as ${EMULATOR_ADMIN.username}; you ask as ${EMULATOR_OPS.username} / ${EMULATOR_OPS.password}; ${DEV_APPROVER.username} / ${DEV_APPROVER.password} approves`,
              ]
            : []),
          `HR intake    ${intake.url} (POST /v1/hr/events, /v1/hr/bamboohr, /v1/hr/hibob; mapping ${intake.mappingFile})`,
          `             webhook secret and status token in ${join(paths.dataDir, 'keys', 'dev-hr-secrets.json')}`,
          '',
          'In another shell:',
          `  export TEMPORAL_ADDRESS=${temporal.address} TEMPORAL_UI_URL=${ui.url} KUBESPHERE_HOST=${services.kubesphereUrl}`,
          ...(emulator
            ? [
                `  export KUBESPHERE_USERNAME=${EMULATOR_OPS.username} KUBESPHERE_PASSWORD='${EMULATOR_OPS.password}'   # you ask as ops-admin`,
              ]
            : []),
          '  npx ks-onboard onboard --username alice --email alice@example.com --workspace team-a --project team-a-dev --wait',
          '  npx ks-onboard import samples/onboarding.csv --wait',
          `  npx ks-onboard hire --username dana --email dana@example.com --first-name Dana --last-name Ito --department Payments --team 'Payments Web' --url ${intake.url}`,
          '',
          `Ctrl-C stops everything but PostgreSQL${postgres.startedNow ? ` (started here; pg_ctlcluster ${postgres.version} ${postgres.name} stop)` : ''}.`,
          '',
        ].join('\n'),
      );
      await services.worker.worker.run(); // resolves after SIGINT/SIGTERM and the drain of in-flight tasks
      say('stopping: the HR intake, the codec server, the emulator, the Web UI, the Temporal server');
      await running.stop();
      say('stopped');
    });
}
