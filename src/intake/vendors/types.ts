import type { Delivery, DeliveryContent, HireEvent, HrVendor } from '../hire-event.js';

export interface VerifyOptions {
  now: number;
  /** how far the delivery's timestamp may be from now; undefined: not checked (the worker verifies again, later) */
  toleranceMs?: number;
  /**
   * the delivery is arriving now (the intake): judged by this machine's clock, and by the scheme's own library
   * where it has one (Standard Webhooks: `Webhook.verify` and its 5-minute window, `now` and `toleranceMs` unused)
   */
  arriving?: boolean;
}

/** One HR vendor's webhook format: its signature scheme and its body. */
export interface VendorAdapter {
  vendor: HrVendor;
  /** the (lower-case) header names its scheme reads: kept with the delivery so the worker can verify it again */
  headers: readonly string[];
  /** the delivery's own id for logs, before it is verified (never trusted) */
  deliveryId(delivery: Delivery): string | undefined;
  /** throws DeliveryError(401) unless one of the secrets signed it; never says how close a signature was */
  verify(delivery: Delivery, secrets: readonly string[], options: VerifyOptions): void;
  /** what a verified body says; throws DeliveryError(400) naming the fields */
  read(delivery: Delivery): DeliveryContent;
}

/** Reads a hire the webhook named only by ids from the vendor's API (in an activity, never in the request path). */
export interface VendorApi {
  fetchHire(vendor: HrVendor, ref: { eventId: string; employeeId: string }): Promise<HireEvent>;
}
