import { describe, expect, it } from 'vitest';
import { isTimeZone, provisionTime, startOfDay } from './start-date.js';

describe('start dates', () => {
  it('starts the day at midnight in the time zone', () => {
    expect(new Date(startOfDay('2026-12-01', 'UTC')).toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(new Date(startOfDay('2026-12-01', 'Europe/Berlin')).toISOString()).toBe('2026-11-30T23:00:00.000Z');
    expect(new Date(startOfDay('2026-07-01', 'Europe/Berlin')).toISOString()).toBe('2026-06-30T22:00:00.000Z');
    expect(new Date(startOfDay('2026-12-01', 'America/New_York')).toISOString()).toBe('2026-12-01T05:00:00.000Z');
    expect(new Date(startOfDay('2027-01-01', 'Asia/Kolkata')).toISOString()).toBe('2026-12-31T18:30:00.000Z');
  });

  it('keeps midnight across a daylight-saving change', () => {
    // Europe/Berlin leaves summer time on 2026-10-25 at 03:00.
    expect(new Date(startOfDay('2026-10-25', 'Europe/Berlin')).toISOString()).toBe('2026-10-24T22:00:00.000Z');
    expect(new Date(startOfDay('2026-10-26', 'Europe/Berlin')).toISOString()).toBe('2026-10-25T23:00:00.000Z');
  });

  it('provisions the lead time before the start', () => {
    expect(new Date(provisionTime('2026-12-03', 'UTC', 2 * 86_400_000)).toISOString()).toBe('2026-12-01T00:00:00.000Z');
  });

  it('knows which zones exist', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });
});
