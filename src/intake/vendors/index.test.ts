import { describe, expect, it } from 'vitest';
import { HR_VENDORS, type HrVendor } from '../hire-event.js';
import { adapterFor } from './index.js';

describe('adapterFor', () => {
  it.each(HR_VENDORS)('has an adapter for %s that names itself', (vendor) => {
    expect(adapterFor(vendor).vendor).toBe(vendor);
  });

  it('refuses a name that is no vendor, inherited ones included', () => {
    expect(() => adapterFor('workday' as HrVendor)).toThrow(/no HR vendor "workday"/);
    expect(() => adapterFor('toString' as HrVendor)).toThrow(/no HR vendor/);
  });
});
