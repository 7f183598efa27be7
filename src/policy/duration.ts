import { quote } from './names.js';
/**
 * The one duration syntax of ks-onboard: a whole number and a unit, e.g. `90s`, `15m`, `72h`, `7d`.
 * Used by the worker's configuration and checked again inside workflows, so both always agree.
 */
const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export interface DurationBounds {
  minMs: number;
  maxMs: number;
}

/** How long an elevated grant may wait for its approval: long enough for a weekend, short enough to matter. */
export const APPROVAL_TIMEOUT_BOUNDS: DurationBounds = { minMs: 60_000, maxMs: 30 * UNITS.d };
export const DEFAULT_APPROVAL_TIMEOUT = '72h';

export type DurationResult = { ok: true; ms: number } | { ok: false; reason: string };

export function parseDuration(text: string, bounds: DurationBounds): DurationResult {
  const match = /^(\d{1,9})(ms|s|m|h|d)$/.exec(text);
  if (!match) return { ok: false, reason: `${quote(text.slice(0, 40))} must look like 90s, 15m, 72h or 7d` };
  const ms = Number(match[1]) * UNITS[match[2] as keyof typeof UNITS];
  return checkDuration(ms, bounds);
}

export function checkDuration(ms: number, bounds: DurationBounds): DurationResult {
  if (!Number.isFinite(ms) || ms < bounds.minMs || ms > bounds.maxMs)
    return { ok: false, reason: `must be between ${formatDuration(bounds.minMs)} and ${formatDuration(bounds.maxMs)}` };
  return { ok: true, ms };
}

export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) if (ms % UNITS[unit] === 0) return `${ms / UNITS[unit]}${unit}`;
  return `${ms}ms`;
}
