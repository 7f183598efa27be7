#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerChangeRole } from './commands/change-role.js';
import { registerDemo } from './commands/demo.js';
import { registerDev } from './commands/dev.js';
import { registerEmulator } from './commands/emulator.js';
import { registerDecisions } from './commands/decide.js';
import { registerStatus } from './commands/status.js';
import { registerOnboard } from './commands/onboard.js';
import { registerSetup } from './commands/setup.js';
import { registerWorker } from './commands/worker.js';
import { ConfigError } from '../config.js';
import { ExitError } from './options.js';

const program = new Command('ks-onboard')
  .description('Durable onboarding of people into KubeSphere, on Temporal')
  .showHelpAfterError()
  .exitOverride();

registerDemo(program);
registerDev(program);
registerOnboard(program);
registerStatus(program);
registerDecisions(program);
registerChangeRole(program);
registerWorker(program);
registerEmulator(program);
registerSetup(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`ks-onboard: ${message}\n`);
  process.exit(error instanceof ExitError ? error.code : error instanceof ConfigError ? 2 : 1);
}
