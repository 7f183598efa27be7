#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerEmulator } from './commands/emulator.js';
import { ExitError } from './options.js';

const program = new Command('ks-onboard')
  .description('Durable onboarding of people into KubeSphere, on Temporal')
  .showHelpAfterError()
  .exitOverride();

registerEmulator(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`ks-onboard: ${message}\n`);
  process.exit(error instanceof ExitError ? error.code : 1);
}
