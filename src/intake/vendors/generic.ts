import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { z } from 'zod';
import { hireEventSchema, type Delivery, type DeliveryContent } from '../hire-event.js';
import { checkWindow, parseJson, readWith, sameText, unauthorized } from './read-body.js';
import type { VendorAdapter, VerifyOptions } from './types.js';

/**
 * Any HR system (or a script) that speaks Standard Webhooks (https://www.standardwebhooks.com): the body
 * carries the whole hire, username included, so nothing is fetched afterwards.
 */

const HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;
export const GENERIC_HIRE_TYPE = 'employee.hired';

// The spec's timestamp is whole seconds; a canonical form only, because the package signs the number it
// parses and not the header's text ("0017…" and "17…" would otherwise share a signature).
const SECONDS = /^(0|[1-9]\d{0,11})$/;

const envelope = z.looseObject(
  {
    type: z.string({ error: 'must be text' }).min(1, 'must not be empty').max(128, 'must be at most 128 characters'),
    data: z.unknown().optional(),
  },
  { error: 'must be a JSON object' },
);

export const genericAdapter: VendorAdapter = {
  vendor: 'generic',
  headers: HEADERS,

  deliveryId(delivery: Delivery): string | undefined {
    return delivery.headers['webhook-id'] || undefined;
  },

  verify(delivery: Delivery, secrets: readonly string[], options: VerifyOptions): void {
    const [id, timestamp, signature] = HEADERS.map((name) => delivery.headers[name]);
    const missing = HEADERS.filter((name) => !delivery.headers[name]);
    if (missing.length || !id || !timestamp || !signature) throw unauthorized(`missing header ${missing.join(', ')}`);
    if (!SECONDS.test(timestamp)) throw unauthorized('webhook-timestamp must be whole seconds since 1970');
    if (options.arriving) return verifyArrival(delivery, secrets);
    verifyStored(delivery, secrets, options, { id, seconds: Number(timestamp), signature });
  },

  read(delivery: Delivery): DeliveryContent {
    const body = parseJson(delivery.body, 'generic');
    const { type, data } = readWith(envelope, body, 'the delivery is not a Standard Webhooks event');
    if (type !== GENERIC_HIRE_TYPE) {
      const eventId = (data as { eventId?: unknown } | null | undefined)?.eventId;
      const usable = typeof eventId === 'string' && eventId.length > 0 && eventId.length <= 128;
      return { kind: 'ignored', type, ...(usable ? { eventId } : {}) };
    }
    const event = readWith(hireEventSchema, data, `invalid ${GENERIC_HIRE_TYPE} event`, 'data');
    return { kind: 'hire', event };
  },
};

/**
 * A delivery arriving now: the package's own `Webhook.verify` decides, with each configured secret in turn (any
 * one accepted: rotation), and its own 5-minute window against this machine's clock. Whatever it says is one 401
 * that does not tell a wrong signature from a stale timestamp.
 */
function verifyArrival(delivery: Delivery, secrets: readonly string[]): void {
  for (const secret of secrets) {
    try {
      // The body is read afterwards, and a body that is not JSON is a 400 of its own: not parsed here.
      new Webhook(secret).verify(delivery.body, delivery.headers, { jsonParse: false });
      return;
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
    }
  }
  throw unauthorized(
    'webhook-signature does not hold: not signed with a configured secret, or webhook-timestamp more than 5 minutes from now',
  );
}

/**
 * A delivery kept in a workflow, verified again by the worker against its run's start, days or weeks later:
 * `Webhook.verify` cannot judge it (its window is the real clock's), so the window is checked against the given
 * time and the package only signs, for a constant-time comparison with each `v1` entry.
 */
function verifyStored(
  delivery: Delivery,
  secrets: readonly string[],
  options: VerifyOptions,
  signed: { id: string; seconds: number; signature: string },
): void {
  checkWindow(signed.seconds * 1000, options, options.toleranceMs, 'webhook-timestamp');
  const offered = signed.signature
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => entry.slice(3));
  if (!offered.length) throw unauthorized('webhook-signature holds no v1 signature');
  const sentAt = new Date(signed.seconds * 1000);
  for (const secret of secrets) {
    const expected = new Webhook(secret).sign(signed.id, sentAt, delivery.body).slice('v1,'.length);
    if (offered.some((candidate) => sameText(candidate, expected))) return;
  }
  throw unauthorized('webhook-signature matches none of the configured secrets');
}
