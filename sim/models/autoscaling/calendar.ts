/**
 * UTC calendar arithmetic on epoch milliseconds, without the wall clock: the proleptic Gregorian civil date of a
 * day number and back (Howard Hinnant's `days_from_civil` / `civil_from_days`), for cron schedules and the
 * timestamps Auto Scaling writes. The simulation's virtual time 0 is `SIM_EPOCH_MS`, a Monday 00:00 UTC.
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** Days since 1970-01-01 of a civil date (month 1-12). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** The civil date of a day number (days since 1970-01-01). */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

export interface UtcParts {
  year: number;
  /** 1-12. */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday … 6 = Saturday. */
  dayOfWeek: number;
}

export function utcParts(ms: number): UtcParts {
  const days = Math.floor(ms / DAY_MS);
  const inDay = ms - days * DAY_MS;
  return {
    ...civilFromDays(days),
    hour: Math.floor(inDay / HOUR_MS),
    minute: Math.floor((inDay % HOUR_MS) / MINUTE_MS),
    second: Math.floor((inDay % MINUTE_MS) / 1000),
    dayOfWeek: (((days + 4) % 7) + 7) % 7, // 1970-01-01 was a Thursday
  };
}

/** Epoch ms of a civil date and time; months past 12 roll into the next year, days past the month's end roll on. */
export function utcMs(year: number, month: number, day = 1, hour = 0, minute = 0): number {
  const y = year + Math.floor((month - 1) / 12);
  const m = ((((month - 1) % 12) + 12) % 12) + 1;
  return daysFromCivil(y, m, 1) * DAY_MS + (day - 1) * DAY_MS + hour * HOUR_MS + minute * MINUTE_MS;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `2020-01-21T13:48:33Z`, as Auto Scaling writes times in activity causes. */
export function isoSeconds(ms: number): string {
  const p = utcParts(ms);
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}Z`;
}

/** The simulation's virtual time 0: Monday 1 January 2024, 00:00 UTC (the diurnal arrivals start on a Monday too). */
export const SIM_EPOCH_MS = utcMs(2024, 1, 1);
