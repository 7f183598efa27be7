import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { Delivery, DeliveryContent } from '../hire-event.js';
import { checkWindow, parseJson, readWith, sameText, unauthorized, vendorId, vendorTime } from './read-body.js';
import type { VendorAdapter, VerifyOptions } from './types.js';

/**
 * HiBob (Bob) webhooks v2 (https://apidocs.hibob.com/reference/getting-started-webhooks): the body names the
 * company, the event type, when it happened and the employee's id, never the employee's data, which the worker
 * reads from Bob's API. A hire is `employee.joined`: fired when the employee is granted access, at midnight
 * (site time) of the lifecycle entry's effective date.
 */

const SIGNATURE = 'bob-signature';
export const HIBOB_HIRE_TYPE = 'employee.joined';

/**
 * Bob signs the body only, with no send time: the body's `triggeredAt` (when the event happened, the same on
 * every retry) is the only signed time, and Bob retries a failed delivery for up to 3 days. A window shorter
 * than that would refuse Bob's own retries, so with any tolerance set this one applies instead when it is
 * wider: 3 days of retries and 1 day of margin for the time's missing zone and for clock skew. Past it, a
 * captured delivery is refused; within it, a replay carries the same event id and the intake starts nothing new.
 */
export const HIBOB_REPLAY_WINDOW_MS = 4 * 24 * 3_600_000;

// An HMAC-SHA512 is 64 bytes: 86 base64 characters and "==".
const BASE64_SHA512 = /^[A-Za-z0-9+/]{86}==$/;

const isoTime = z
  .string({ error: 'must be an ISO 8601 date-time' })
  .max(40, 'must be an ISO 8601 date-time')
  .refine((text) => !/^\d+$/.test(text) && Number.isFinite(vendorTime(text)), 'must be an ISO 8601 date-time');

const typed = z.looseObject(
  { type: z.string({ error: 'must be text' }).min(1, 'must not be empty').max(128, 'must be at most 128 characters') },
  { error: 'must be a JSON object' },
);
const hireBody = z.looseObject({
  companyId: vendorId,
  triggeredAt: isoTime,
  version: z.literal('v2', { error: 'must be "v2": only Bob webhooks v2 are read' }),
  data: z.looseObject({ employeeId: vendorId }, { error: 'must be an object' }),
});

/**
 * Bob sends no event id. A join is one lifecycle entry taking effect, fired once at a time of its own: company,
 * employee and that time name it, the same on every retry and different for a rehire. The time's ":" are
 * dropped so that the id stays readable inside a workflow id.
 */
export function hiBobEventId(companyId: string, employeeId: string, triggeredAt: string): string {
  return `joined-${companyId}-${employeeId}-${triggeredAt.replace(/:/g, '')}`;
}

/**
 * Bob's connection test, sent when a webhook is set up: the text `Ping test`, then, if that failed, the JSON
 * `{"text":"Ping test"}` (https://apidocs.hibob.com/docs/working-with-webhooks). Bob wants a 200 at once, or it
 * does not establish the connection. Exactly these bodies (a JSON string of the text too, however it is typed);
 * anything else is a delivery like any other.
 */
const CONNECTION_TEST_TEXT = 'Ping test';

export function isBobConnectionTest(body: string): boolean {
  const text = body.trim();
  if (text === CONNECTION_TEST_TEXT) return true;
  const parsed = parseJsonOrUndefined(text);
  if (parsed === CONNECTION_TEST_TEXT) return true;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return false;
  const keys = Object.keys(parsed);
  return keys.length === 1 && (parsed as { text?: unknown }).text === CONNECTION_TEST_TEXT;
}

export const hiBobAdapter: VendorAdapter = {
  vendor: 'hibob',
  headers: [SIGNATURE],

  // Bob gives a delivery no id of its own.
  deliveryId: () => undefined,

  verify(delivery: Delivery, secrets: readonly string[], options: VerifyOptions): void {
    const signature = delivery.headers[SIGNATURE];
    if (!signature) throw unauthorized(`missing header ${SIGNATURE}`);
    if (!BASE64_SHA512.test(signature)) throw unauthorized(`${SIGNATURE} is not a base64 SHA-512 HMAC`);
    const signed = secrets.some((secret) =>
      sameText(signature, createHmac('sha512', secret).update(delivery.body, 'utf8').digest('base64')),
    );
    if (!signed) throw unauthorized(`${SIGNATURE} matches none of the configured secrets`);
    if (options.toleranceMs === undefined) return;
    // Only now is the body's time worth reading. A body without one is never a hire (read() refuses it), so
    // nothing it says can be acted on. (Bob's connection test has none, but the intake answers it before this.)
    const triggeredAt = (parseJsonOrUndefined(delivery.body) as { triggeredAt?: unknown } | undefined)?.triggeredAt;
    if (typeof triggeredAt !== 'string') return;
    checkWindow(
      vendorTime(triggeredAt),
      options,
      Math.max(options.toleranceMs, HIBOB_REPLAY_WINDOW_MS),
      'the signed triggeredAt',
    );
  },

  read(delivery: Delivery): DeliveryContent {
    const body = parseJson(delivery.body, 'HiBob');
    const { type } = readWith(typed, body, 'the delivery is not a Bob event');
    if (type !== HIBOB_HIRE_TYPE) return { kind: 'ignored', type };
    const hire = readWith(hireBody, body, `the ${type} event is malformed`);
    return {
      kind: 'hire-by-id',
      eventId: hiBobEventId(hire.companyId, hire.data.employeeId, hire.triggeredAt),
      employeeId: hire.data.employeeId,
    };
  },
};

function parseJsonOrUndefined(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}
