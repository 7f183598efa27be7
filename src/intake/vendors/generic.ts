import { Webhook } from 'standardwebhooks';
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
    const seconds = Number(timestamp);
    checkWindow(seconds * 1000, options, options.toleranceMs, 'webhook-timestamp');

    // `Webhook.verify` would also check its own 5-minute window against the real clock: the worker verifies a
    // stored delivery days later and tests inject `now`, so the package only signs and this compares.
    const offered = signature
      .split(' ')
      .filter((entry) => entry.startsWith('v1,'))
      .map((entry) => entry.slice(3));
    if (!offered.length) throw unauthorized('webhook-signature holds no v1 signature');
    const sentAt = new Date(seconds * 1000);
    for (const secret of secrets) {
      const expected = new Webhook(secret).sign(id, sentAt, delivery.body).slice('v1,'.length);
      if (offered.some((candidate) => sameText(candidate, expected))) return;
    }
    throw unauthorized('webhook-signature matches none of the configured secrets');
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
