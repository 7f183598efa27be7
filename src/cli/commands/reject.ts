import type { Command } from 'commander';
import { registerDecision } from '../decision.js';

export function registerReject(program: Command): void {
  registerDecision(program, false);
}
