/**
 * When a hire is provisioned: the first moment of their start date in the company's time zone, less the lead
 * time (so accounts exist on day one). Pure; uses Intl only, so a worker's time-zone data decides.
 */
/** How far ahead a start date may be: further is a typo, or a way to hold someone's onboarding id for years. */
export const MAX_DAYS_AHEAD = 366;
/** How far back: a delivery that late is a mistake or a replay, not a new hire. */
export const MAX_DAYS_BACK = 90;

/** Why a start date is refused (measured from `now`), or undefined. */
export function startDateProblem(startDate: string, timeZone: string, now: number): string | undefined {
  const start = startOfDay(startDate, timeZone);
  if (start > now + MAX_DAYS_AHEAD * 86_400_000)
    return `the start date ${startDate} is more than ${MAX_DAYS_AHEAD} days ahead`;
  if (start < now - MAX_DAYS_BACK * 86_400_000)
    return `the start date ${startDate} is more than ${MAX_DAYS_BACK} days ago: not a new hire`;
  return undefined;
}

export function startOfDay(startDate: string, timeZone: string): number {
  const [year, month, day] = startDate.split('-').map(Number) as [number, number, number];
  const wallClock = Date.UTC(year, month - 1, day);
  // The zone's offset at that instant, measured twice: a DST change near midnight moves it.
  let instant = wallClock - offsetAt(wallClock, timeZone);
  instant = wallClock - offsetAt(instant, timeZone);
  return instant;
}

export function provisionTime(startDate: string, timeZone: string, leadMs: number): number {
  return startOfDay(startDate, timeZone) - leadMs;
}

/** `timeZone`'s offset from UTC (ms) at `instant`. */
function offsetAt(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(instant));
  const value = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(
    value('year'),
    value('month') - 1,
    value('day'),
    value('hour'),
    value('minute'),
    value('second'),
  );
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** Whether this runtime knows the zone (an unknown one throws in Intl). */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}
