import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { DeliveryError, hireEventSchema, type Delivery, type DeliveryContent, type HireEvent } from '../hire-event.js';
import { checkWindow, parseJson, readWith, sameBytes, unauthorized, vendorId, vendorTime } from './read-body.js';
import type { VendorAdapter, VerifyOptions } from './types.js';

/**
 * BambooHR webhooks (https://documentation.bamboohr.com/docs/webhooks). Both body formats are read:
 * event-based (`{type, timestamp, data: {companyId, employeeId}}`, one event per delivery, BambooHR's
 * recommendation) and field-based (`{employees: [{id, action, fields…}]}`, which may batch employees).
 * A hire is an employee record being created (`employee.created`, or a field-based entry with action Created).
 */

const SIGNATURE = 'x-bamboohr-signature';
const TIMESTAMP = 'x-bamboohr-timestamp';
export const BAMBOOHR_HIRE_TYPE = 'employee.created';

/**
 * A field-based webhook posts BambooHR's English field names unless it was given aliases (then, as a rule, the
 * API's names): both are read. No team: BambooHR has no such field (its division sits above departments).
 */
const POSTED_NAMES = {
  firstName: ['First Name', 'firstName'],
  lastName: ['Last Name', 'lastName'],
  email: ['Work Email', 'workEmail'],
  department: ['Department', 'department'],
  startDate: ['Hire Date', 'hireDate'],
} as const;

/**
 * BambooHR sends no event id. An employee record is created once and its id is never reused, so the creation
 * itself is the event: every retry of the delivery, and the same creation seen through both body formats (two
 * webhooks), carry the same id and the intake's deduplication starts one onboarding.
 */
export function bambooHrEventId(employeeId: string): string {
  return `employee-${employeeId}-created`;
}

const eventBody = z.looseObject({
  type: z.string({ error: 'must be text' }).min(1, 'must not be empty').max(128, 'must be at most 128 characters'),
});
const createdData = z.looseObject({ employeeId: vendorId }, { error: 'must be an object' });
const fieldsBody = z.looseObject({
  employees: z.array(
    z.looseObject(
      {
        id: vendorId,
        action: z.string({ error: 'must be text' }).max(64, 'must be at most 64 characters').optional(),
        fields: z.record(z.string(), z.unknown(), { error: 'must be an object' }).optional(),
      },
      { error: 'must be an object' },
    ),
    { error: 'must be a list' },
  ),
});

export const bambooHrAdapter: VendorAdapter = {
  vendor: 'bamboohr',
  headers: [SIGNATURE, TIMESTAMP],

  // BambooHR gives a delivery no id of its own.
  deliveryId: () => undefined,

  verify(delivery: Delivery, secrets: readonly string[], options: VerifyOptions): void {
    const signature = delivery.headers[SIGNATURE];
    const timestamp = delivery.headers[TIMESTAMP];
    const missing = [SIGNATURE, TIMESTAMP].filter((name) => !delivery.headers[name]);
    if (missing.length || !signature || !timestamp) throw unauthorized(`missing header ${missing.join(', ')}`);
    if (!/^[0-9a-fA-F]{64}$/.test(signature)) throw unauthorized(`${SIGNATURE} is not a hex SHA-256 HMAC`);
    // The timestamp is when BambooHR sent this attempt (each retry is signed anew), and it is signed: a
    // captured delivery cannot be given a fresh one.
    checkWindow(vendorTime(timestamp), options, options.toleranceMs, TIMESTAMP);
    const offered = Buffer.from(signature, 'hex');
    for (const secret of secrets) {
      // The raw body followed by the timestamp's text, nothing between them.
      const expected = createHmac('sha256', secret).update(delivery.body, 'utf8').update(timestamp, 'utf8').digest();
      if (sameBytes(offered, expected)) return;
    }
    throw unauthorized(`${SIGNATURE} matches none of the configured private keys`);
  },

  read(delivery: Delivery): DeliveryContent {
    const body = parseJson(delivery.body, 'BambooHR');
    if (body !== null && typeof body === 'object' && 'employees' in body) return readFieldBased(body);
    if (body !== null && typeof body === 'object' && 'type' in body) return readEventBased(body);
    throw new DeliveryError(
      400,
      'the delivery is neither an event-based ({type, data}) nor a field-based ({employees}) BambooHR body',
      [{ field: 'body', message: 'must hold "type" and "data", or "employees" (JSON format, not form post)' }],
    );
  },
};

function readEventBased(body: object): DeliveryContent {
  const { type } = readWith(eventBody, body, 'the BambooHR event has no type');
  if (type !== BAMBOOHR_HIRE_TYPE) return { kind: 'ignored', type };
  const data = readWith(createdData, (body as { data?: unknown }).data, `the ${type} event names no employee`, 'data');
  return { kind: 'hire-by-id', eventId: bambooHrEventId(data.employeeId), employeeId: data.employeeId };
}

/**
 * The intake answers one delivery with one onboarding, so a field-based delivery may create at most one
 * employee; its updated and deleted entries are not hires and are passed over. Several creations in one
 * delivery are refused (422, shown in BambooHR's webhook log) rather than half-done: no retry of the same body
 * could succeed, and an event-based webhook never batches.
 */
function readFieldBased(body: object): DeliveryContent {
  const { employees } = readWith(fieldsBody, body, 'the field-based BambooHR body is malformed');
  const created = employees.filter((entry) => entry.action?.toLowerCase() === 'created');
  const ids = [...new Set(created.map((entry) => entry.id))];
  if (ids.length === 0) {
    const actions = [...new Set(employees.map((entry) => entry.action ?? 'unknown'))].sort();
    return { kind: 'ignored', type: `employees:${actions.join(',') || 'none'}` };
  }
  if (ids.length > 1) {
    throw new DeliveryError(
      422,
      `the delivery creates ${ids.length} employees (${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ', …' : ''}); ` +
        'one delivery starts one onboarding: use an event-based webhook (one event per delivery)',
      [{ field: 'employees', message: `holds ${ids.length} entries with action Created; at most 1 is read` }],
    );
  }
  const entry = created[0]!;
  const eventId = bambooHrEventId(entry.id);
  const event = hireFromPosted(eventId, entry.id, entry.fields ?? {});
  return event ? { kind: 'hire', event } : { kind: 'hire-by-id', eventId, employeeId: entry.id };
}

/** The hire when the webhook posted every field it needs, else undefined: the worker reads the record. */
function hireFromPosted(eventId: string, employeeId: string, fields: Record<string, unknown>): HireEvent | undefined {
  const pick = (names: readonly string[]) => names.map((name) => fields[name]).find((v) => typeof v === 'string');
  const candidate = {
    eventId,
    employeeId,
    firstName: pick(POSTED_NAMES.firstName),
    lastName: pick(POSTED_NAMES.lastName),
    email: pick(POSTED_NAMES.email),
    department: pick(POSTED_NAMES.department),
    startDate: pick(POSTED_NAMES.startDate),
  };
  const result = hireEventSchema.safeParse(candidate);
  return result.success ? result.data : undefined;
}
