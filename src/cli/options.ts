import { InvalidArgumentError } from 'commander';

/** Commander option parsers that reject bad values with a message naming the rule. */
export function integerIn(min: number, max: number) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got "${raw}"`);
    }
    return value;
  };
}

export function fraction(raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new InvalidArgumentError(`expected a number from 0 to 1, got "${raw}"`);
  }
  return value;
}

export function commaList(raw: string): string[] {
  const items = raw.split(',').map((item) => item.trim());
  if (items.some((item) => item === ''))
    throw new InvalidArgumentError(`expected a comma-separated list without empty entries, got "${raw}"`);
  return items;
}

/** Thrown by commands for user-facing failures; main.ts prints it and exits with `code`. */
export class ExitError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}
