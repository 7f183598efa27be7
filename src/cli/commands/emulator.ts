import { InvalidArgumentError, type Command } from 'commander';
import { createEmulator } from '../../emulator/server.js';
import { commaList, fraction, integerIn } from '../options.js';
import { waitForShutdown } from '../signals.js';

interface EmulatorFlags {
  port: number;
  host: string;
  state?: string;
  latency: number;
  failRate: number;
  resetRate: number;
  dropRate: number;
  seed: number;
  failRoute: string[];
  clusters: string[];
  controllerDelay: number;
  adminPassword?: string;
}

/** `<METHOD> /path/template`, as the emulator's request counters name a route. */
function failRoute(value: string): string {
  if (!/^(GET|POST|PUT) \/\S+$/.test(value))
    throw new InvalidArgumentError("a route looks like 'POST /kapis/iam.kubesphere.io/v1beta1/users'");
  return value;
}

export function registerEmulator(program: Command): void {
  program
    .command('emulator')
    .description('run the local KubeSphere API emulator (kubesphere-api.md) until SIGINT/SIGTERM')
    .option('--port <n>', 'port to listen on (0 = any free port)', integerIn(0, 65535), 9090)
    .option('--host <ip>', 'address to listen on', '127.0.0.1')
    .option('--state <file>', 'load the store from this JSON file and save it back on every change')
    .option('--latency <ms>', 'latency added to every API answer', integerIn(0, 60_000), 0)
    .option('--fail-rate <0..1>', 'share of requests answered with a 500', fraction, 0)
    .option('--reset-rate <0..1>', 'share of requests whose connection is reset', fraction, 0)
    .option('--drop-rate <0..1>', 'share of writes applied but whose answer is lost', fraction, 0)
    .option('--seed <n>', 'seed of the fault dice', integerIn(0, 2 ** 31), 1)
    .option(
      '--fail-route <route>',
      "a route answered 500 every time, as the request counters name it (repeatable), e.g. 'POST /kapis/iam.kubesphere.io/v1beta1/users'",
      (value: string, previous: string[]) => [...previous, failRoute(value)],
      [] as string[],
    )
    .option('--clusters <list>', 'clusters, e.g. host,member1,member2:not-ready', commaList, ['host'])
    .option(
      '--controller-delay <ms>',
      'delay of the asynchronous controllers (user activation, roles)',
      integerIn(0, 600_000),
      300,
    )
    .option('--admin-password <pw>', 'password of the seeded admin user (default P@88w0rd)')
    .action(async (flags: EmulatorFlags) => {
      const delay = flags.controllerDelay;
      const emulator = await createEmulator({
        port: flags.port,
        host: flags.host,
        stateFile: flags.state,
        clusters: flags.clusters,
        delays: { userActivationMs: delay, workspaceRolesMs: delay, projectRolesMs: delay },
        faults: {
          latencyMs: flags.latency,
          failRate: flags.failRate,
          resetRate: flags.resetRate,
          dropResponseRate: flags.dropRate,
          seed: flags.seed,
          failingRoutes: flags.failRoute,
        },
        adminPassword: flags.adminPassword,
      });
      process.stdout.write(`KubeSphere emulator listening on ${emulator.url}\n`);
      await waitForShutdown();
      await emulator.close();
    });
}
