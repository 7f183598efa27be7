import type { HrVendor } from '../hire-event.js';
import { bambooHrAdapter } from './bamboohr.js';
import { genericAdapter } from './generic.js';
import { hiBobAdapter } from './hibob.js';
import type { VendorAdapter } from './types.js';

export { bambooHrAdapter, genericAdapter, hiBobAdapter };

const ADAPTERS: Readonly<Record<HrVendor, VendorAdapter>> = {
  generic: genericAdapter,
  bamboohr: bambooHrAdapter,
  hibob: hiBobAdapter,
};

/** The adapter of a vendor; throws for a name that is none (a vendor comes from a route, so check it first). */
export function adapterFor(vendor: HrVendor): VendorAdapter {
  const adapter = Object.hasOwn(ADAPTERS, vendor) ? ADAPTERS[vendor] : undefined;
  if (!adapter) throw new Error(`no HR vendor ${JSON.stringify(vendor)}`);
  return adapter;
}
