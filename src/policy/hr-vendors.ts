/** The HR systems whose deliveries the intake reads (src/intake): a constant that workflow code needs too. */
export const HR_VENDORS = ['generic', 'bamboohr', 'hibob'] as const;
export type HrVendor = (typeof HR_VENDORS)[number];
