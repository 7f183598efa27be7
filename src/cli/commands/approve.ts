import type { Command } from 'commander';
import { registerDecision } from '../decision.js';

export function registerApprove(program: Command): void {
  registerDecision(program, true);
}
