import { createHash } from 'node:crypto';
import type { Delivery, HrVendor } from './hire-event.js';
import { adapterFor } from './vendors/index.js';

/**
 * How a delivery is named in the intake's logs, so that a vendor's delivery log and ours can be matched: the
 * vendor's own delivery id where it sends one (Standard Webhooks' `webhook-id`), else a short digest of the raw
 * body (BambooHR and HiBob send no id; a retry of the same body has the same digest). Never the body itself.
 */
export type DeliveryLabel = { deliveryId: string } | { bodyDigest: string } | Record<string, never>;

/** The first 16 hex digits of the body's SHA-256: enough to tell deliveries apart, nothing to read them by. */
export function bodyDigest(body: string): string {
  return createHash('sha256').update(body, 'utf8').digest('hex').slice(0, 16);
}

/** The delivery's label; `body` undefined when it was never read (over the size limit): its id alone, if any. */
export function deliveryLabel(
  vendor: HrVendor | undefined,
  headers: Delivery['headers'],
  body?: string,
): DeliveryLabel {
  const id = safeId(vendor ? adapterFor(vendor).deliveryId({ headers, body: body ?? '' }) : headers['webhook-id']);
  if (id) return { deliveryId: id };
  return body === undefined ? {} : { bodyDigest: bodyDigest(body) };
}

/** A value a sender chose, for logs: never trusted, so kept short and printable. */
export function safeId(id: string | undefined): string | undefined {
  return id?.replace(/[^\w.:-]/g, '?').slice(0, 100) || undefined;
}
