/**
 * The five-field cron of Auto Scaling scheduled actions (`minute hour day-of-month month day-of-week`), in UTC:
 * numbers, `*` (or `?` in the day fields), ranges `a-b`, steps (`a-b/n`, or `*` with `/n`), lists, and the names
 * `JAN`…`DEC`, `SUN`…`SAT`. When both day fields are restricted a day matches either, as in Vixie cron. One
 * implementation for the simulation's scheduled actions (virtual time 0 is `SIM_EPOCH_MS`, a Monday) and the
 * twin's Auto Scaling endpoint (epoch time).
 */
import { SIM_EPOCH_MS, utcMs, utcParts, type UtcParts } from './calendar.ts';

export interface CronSchedule {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 0 = Sunday … 6 = Saturday (7 is read as Sunday too). */
  readonly daysOfWeek: ReadonlySet<number>;
  readonly domRestricted: boolean;
  readonly dowRestricted: boolean;
}

/** The simulation's name for a parsed schedule. */
export type Cron = CronSchedule;

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
/** How far ahead `nextCronTime` searches before it gives up (a date that never comes, such as 31 February). */
export const CRON_SEARCH_YEARS = 5;

/** A cron syntax error, with the field at fault. */
export class CronError extends RangeError {}

function parseField(text: string, min: number, max: number, what: string, names: readonly string[] = [], nameBase = 0): Set<number> {
  const out = new Set<number>();
  const value = (s: string): number => {
    const idx = names.indexOf(s.toUpperCase());
    const n = idx >= 0 ? idx + nameBase : /^\d+$/.test(s) ? Number(s) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) throw new CronError(`${what} '${s}' is not in ${min}-${max}`);
    return n;
  };
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    if (range === undefined || range === '') throw new CronError(`${what}: empty element in '${text}'`);
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new CronError(`${what}: bad step in '${part}'`);
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      lo = min;
      hi = max;
    } else if (range.includes('-')) {
      const [a, b] = range.split('-');
      lo = value(a ?? '');
      hi = value(b ?? '');
      if (hi < lo) throw new CronError(`${what}: range '${range}' runs backwards`);
    } else {
      lo = value(range);
      hi = stepText === undefined ? lo : max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** Parses a five-field expression; throws CronError naming the field at fault. */
export function parseCron(expression: string): CronSchedule {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) throw new CronError(`want 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`);
  const [mi, h, dom, mon, dow] = fields as [string, string, string, string, string];
  const daysOfWeek = parseField(dow, 0, 7, 'day-of-week', DAYS);
  if (daysOfWeek.has(7)) daysOfWeek.add(0);
  return {
    minutes: parseField(mi, 0, 59, 'minute'),
    hours: parseField(h, 0, 23, 'hour'),
    daysOfMonth: parseField(dom, 1, 31, 'day-of-month'),
    months: parseField(mon, 1, 12, 'month', MONTHS, 1),
    daysOfWeek,
    domRestricted: dom !== '*' && dom !== '?',
    dowRestricted: dow !== '*' && dow !== '?',
  };
}

function dayMatches(c: CronSchedule, p: UtcParts): boolean {
  const dom = c.daysOfMonth.has(p.day);
  const dow = c.daysOfWeek.has(p.dayOfWeek);
  if (c.domRestricted && c.dowRestricted) return dom || dow;
  if (c.domRestricted) return dom;
  if (c.dowRestricted) return dow;
  return true;
}

/** Whether the schedule fires at the minute starting at epoch `ms`. */
export function cronMatchesEpoch(c: CronSchedule, ms: number): boolean {
  const p = utcParts(ms);
  return c.months.has(p.month) && dayMatches(c, p) && c.hours.has(p.hour) && c.minutes.has(p.minute);
}

/** Whether the schedule fires at the virtual minute starting at `atMs` (virtual time 0: `SIM_EPOCH_MS`, a Monday). */
export function cronMatches(c: CronSchedule, atMs: number): boolean {
  return cronMatchesEpoch(c, SIM_EPOCH_MS + atMs);
}

/** The first minute strictly after epoch `afterMs` that the schedule matches, searched `CRON_SEARCH_YEARS` ahead. */
export function nextCronTime(c: CronSchedule, afterMs: number): number | undefined {
  const lastYear = utcParts(afterMs).year + CRON_SEARCH_YEARS;
  let t = Math.floor(afterMs / 60_000) * 60_000 + 60_000;
  for (let guard = 0; guard < 100_000; guard++) {
    const p = utcParts(t);
    if (p.year > lastYear) return undefined;
    if (!c.months.has(p.month)) t = utcMs(p.year, p.month + 1);
    else if (!dayMatches(c, p)) t = utcMs(p.year, p.month, p.day + 1);
    else if (!c.hours.has(p.hour)) t = utcMs(p.year, p.month, p.day, p.hour + 1);
    else if (!c.minutes.has(p.minute)) t += 60_000;
    else return t;
  }
  return undefined;
}
