#!/usr/bin/env node
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { registerChangeRole } from './commands/change-role.js';
import { registerDemo } from './commands/demo.js';
import { registerDev } from './commands/dev.js';
import { registerEmulator } from './commands/emulator.js';
import { registerApprove } from './commands/approve.js';
import { registerCancel } from './commands/cancel.js';
import { registerImport } from './commands/import.js';
import { registerList } from './commands/list.js';
import { registerReport } from './commands/report.js';
import { registerResume } from './commands/resume.js';
import { registerPause } from './commands/pause.js';
import { registerRetry } from './commands/retry.js';
import { registerReject } from './commands/reject.js';
import { registerStatus } from './commands/status.js';
import { registerOnboard } from './commands/onboard.js';
import { registerServe } from './commands/serve.js';
import { registerHire } from './commands/hire.js';
import { registerCodec } from './commands/codec.js';
import { registerSetup } from './commands/setup.js';
import { registerBundle } from './commands/bundle.js';
import { registerWorker } from './commands/worker.js';
import { registerConfigCheck } from './commands/config-check.js';
import { registerStack } from './commands/stack.js';
import { ConfigError } from '../config.js';
import { escapeControl } from '../policy/names.js';
import { ExitError } from './options.js';
import { printJsonError } from './output.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command('ks-onboard')
  .description('Durable onboarding of people into KubeSphere, on Temporal')
  .version(version, '-V, --version', 'print the version')
  .exitOverride()
  // Parse errors are printed below, on one line; set before the commands, which share this configuration.
  .configureOutput({ outputError: () => undefined });

registerDemo(program);
registerDev(program);
registerOnboard(program);
registerImport(program);
registerStatus(program);
registerList(program);
registerRetry(program);
registerReport(program);
registerPause(program);
registerResume(program);
registerCancel(program);
registerApprove(program);
registerReject(program);
registerChangeRole(program);
registerWorker(program);
registerConfigCheck(program);
registerServe(program);
registerHire(program);
registerCodec(program);
registerEmulator(program);
registerSetup(program);
registerBundle(program);
registerStack(program);

/** The command whose arguments commander refused, for `ks-onboard <command>: error: …`. */
const refusedBy = new WeakMap<CommanderError, Command>();
(function remember(command: Command) {
  command.exitOverride((error) => {
    refusedBy.set(error, command);
    throw error;
  });
  command.commands.forEach(remember);
})(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Everything printed here goes through escapeControl: a value echoed back (a flag's argument, a name)
  // must not reach the terminal with raw escape sequences or line breaks.
  if (error instanceof CommanderError) {
    if (error.exitCode === 0) process.exit(0); // --help, --version, help <command>
    if (error.code === 'commander.help') process.exit(2); // no command given: the help went to stderr
    const command = refusedBy.get(error) ?? program;
    const name = [...ancestry(command)].join(' ');
    // commander's own message, its "(Did you mean …?)" line joined to it
    const message = error.message.replace(/^error: /, '').replace(/\n\(Did you mean (.*)\?\)$/s, ' (did you mean $1?)');
    if (process.argv.includes('--json')) printJsonError(`${name}: ${message}`, 2);
    process.stderr.write(`${name}: error: ${escapeControl(message)}\n`);
    process.stderr.write(`run '${name} --help' for usage\n`);
    process.exit(2);
  }
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ExitError ? error.code : error instanceof ConfigError ? 2 : 1;
  // With --json a script reads every outcome as JSON, errors included (stdout; the line on stderr stays for people).
  if (process.argv.includes('--json')) printJsonError(message, code);
  process.stderr.write(`ks-onboard: ${escapeControl(message)}\n`);
  process.exit(code);
}

/** `ks-onboard`, then each subcommand down to `command`. */
function* ancestry(command: Command): Generator<string> {
  if (command.parent) yield* ancestry(command.parent);
  yield command.name();
}
