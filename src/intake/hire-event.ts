import { z } from 'zod';

/**
 * One new hire, as every HR path turns its delivery into it: the generic Standard Webhooks body, a
 * BambooHR or HiBob delivery (with the vendor's employee record fetched where the webhook carries only ids).
 * Pure: read by the intake (to answer fast) and by the worker (which decides).
 */
import { HR_VENDORS, type HrVendor } from '../policy/hr-vendors.js';

export { HR_VENDORS, type HrVendor };

const text = (max = 253) =>
  z.string({ error: 'must be text' }).trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

export const startDateSchema = z
  .string({ error: 'must be a date (YYYY-MM-DD)' })
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date (YYYY-MM-DD)')
  .refine((value) => {
    const date = new Date(`${value}T00:00:00Z`);
    return Number.isFinite(date.getTime()) && date.toISOString().startsWith(value);
  }, 'is not a calendar date');

export const hireEventSchema = z.strictObject({
  /** the vendor's id of this event (the same on every delivery of it) */
  eventId: text(128),
  employeeId: text(128),
  /** the KubeSphere username: given by the generic body, derived from the work email for vendors */
  username: text(32).optional(),
  email: text(254),
  firstName: text(128),
  lastName: text(128),
  department: text(128),
  team: text(128).optional(),
  startDate: startDateSchema,
  /** an explicit placement, instead of the mapping's (the workspace must exist) */
  workspace: text(63).optional(),
  project: text(63).optional(),
});
export type HireEvent = z.infer<typeof hireEventSchema>;

/** A delivery as received: verified again by the worker with its own secrets, so it travels unchanged. */
export interface Delivery {
  /** lower-cased header names; only those the vendor's scheme reads */
  headers: Record<string, string>;
  /** the raw body, exactly as signed */
  body: string;
}

/** What a verified delivery says. */
export type DeliveryContent =
  /** a hire with everything needed */
  | { kind: 'hire'; event: HireEvent }
  /** a hire that names only the employee: the record is fetched from the vendor's API (an activity) */
  | { kind: 'hire-by-id'; eventId: string; employeeId: string }
  /** any other event (termination, change…): acknowledged, never acted on */
  | { kind: 'ignored'; eventId?: string; type: string };

/** A delivery's body or signature is refused; `status` is the HTTP answer, `problems` name fields. */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  constructor(
    readonly status: 400 | 401 | 422,
    message: string,
    readonly problems: { field: string; message: string }[] = [],
  ) {
    super(message);
  }
}

/**
 * An event id as a workflow id part: letters, digits, "." and "-" kept, every other character written as
 * `_<hex>_`, so two different event ids never share a workflow id.
 */
export function eventIdForWorkflowId(eventId: string): string {
  return [...eventId].map((c) => (/[A-Za-z0-9.-]/.test(c) ? c : `_${c.codePointAt(0)!.toString(16)}_`)).join('');
}
