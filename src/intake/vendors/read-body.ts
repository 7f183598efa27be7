import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { escapeControl } from '../../policy/names.js';
import { DeliveryError } from '../hire-event.js';
import type { VerifyOptions } from './types.js';

/**
 * What the three adapters share: refusing a delivery the same way (401 without a hint of how close a signature
 * came, 400 naming fields), comparing signatures in constant time, and the ids they put in API paths.
 */

export type Problem = { field: string; message: string };

export function unauthorized(message: string): DeliveryError {
  return new DeliveryError(401, message);
}

/** Constant time in the content; the lengths are public (every signature of a scheme has the same length). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function sameText(a: string, b: string): boolean {
  return sameBytes(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Throws 401 when `timeMs` is further from `now` than the window; nothing when the caller checks no time. */
export function checkWindow(timeMs: number, options: VerifyOptions, windowMs: number | undefined, what: string): void {
  if (windowMs === undefined) return;
  if (!Number.isFinite(timeMs)) throw unauthorized(`${what} is not a time`);
  if (Math.abs(options.now - timeMs) > windowMs) {
    throw unauthorized(
      `${what} is more than ${Math.round(windowMs / 1000)} s from now: a late or replayed delivery is refused`,
    );
  }
}

export function parseJson(body: string, vendor: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new DeliveryError(400, `the ${vendor} delivery's body is not JSON`, [
      { field: 'body', message: 'is not valid JSON' },
    ]);
  }
}

/**
 * An employee id as the vendors write it (a number or a string of digits): it goes into an API path, so
 * nothing that could climb out of it (`/`, `..`, `%`) is accepted.
 */
export const vendorId = z
  .union([z.string(), z.number().int().nonnegative()], { error: 'must be an id (text or a whole number)' })
  .transform(String)
  .pipe(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, "_" or "-"'));

/** Reads `input` with `schema` or throws 400 naming each bad field as a path under `prefix` (e.g. data.startDate). */
export function readWith<S extends z.ZodType>(schema: S, input: unknown, what: string, prefix = ''): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = problemsOf(result.error, input, prefix);
  throw new DeliveryError(400, `${what}: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`, problems);
}

function problemsOf(error: z.ZodError, input: unknown, prefix: string): Problem[] {
  const at = (path: readonly PropertyKey[]) =>
    [prefix, ...path.map((key) => escapeControl(String(key)))].filter(Boolean).join('.') || 'body';
  return error.issues.flatMap((issue): Problem[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: at([...issue.path, key]), message: 'is not a known field' }));
    }
    // zod words a missing field like a wrong one ("must be text"): say what it is.
    const missing = valueAt(input, issue.path) === undefined;
    return [{ field: at(issue.path), message: missing ? 'is required' : issue.message }];
  });
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

const ISO_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Milliseconds since 1970 of a vendor's time text, NaN when it is none: an ISO 8601 date-time (`+0000` and
 * `+00:00` alike; without a zone, UTC, never the server's local zone) or whole seconds (milliseconds above 1e11).
 */
export function vendorTime(text: string): number {
  if (/^\d{1,13}$/.test(text)) {
    const n = Number(text);
    return n < 1e11 ? n * 1000 : n;
  }
  const match = ISO_TIME.exec(text);
  if (!match) return Number.NaN;
  const zone = match[2] ?? 'Z';
  return Date.parse(match[1]! + (zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone));
}
