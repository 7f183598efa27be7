import { TypedSearchAttributes } from '@temporalio/common';
import type { HrSource } from '../policy/requests.js';
import { SA } from '../workflows/definitions.js';
import { adapterFor } from './vendors/index.js';

/**
 * What an HR onboarding carries from its start, for operators and for deduplication: the vendor and the event in
 * search attributes (a delivery seen before is found by `OnboardingEventId`, even after its run closed), the
 * delivery's own id in the memo. Labels only: the worker trusts none of it.
 */
export function hrStartOptions(source: HrSource) {
  const deliveryId = adapterFor(source.vendor).deliveryId(source.delivery);
  return {
    memo: {
      source: `hr:${source.vendor}`,
      eventId: source.eventId,
      receiptId: source.receiptId,
      ...(deliveryId ? { deliveryId: deliveryId.slice(0, 200) } : {}),
    },
    typedSearchAttributes: new TypedSearchAttributes([
      { key: SA.source, value: `hr:${source.vendor}` },
      { key: SA.eventId, value: source.eventId },
    ]),
  };
}

export type StartLabels = ReturnType<typeof hrStartOptions>;
