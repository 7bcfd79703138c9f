/**
 * Scheduled actions' cron expressions, as AWS Auto Scaling takes them (UTC): `minute hour day-of-month month
 * day-of-week`, of which the simulation honours minute, hour and day-of-week; day-of-month and month must be `*`.
 * Virtual time 0 is a Monday 00:00 (the diurnal arrivals assume the same: `workload/arrivals.ts`).
 */

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

export interface Cron {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  /** 0 = Sunday … 6 = Saturday (7 is Sunday too), as cron writes them. */
  daysOfWeek: ReadonlySet<number>;
}

/** Parses `m h * * dow`: each field `*`, a number, a range `a-b`, a list of those, or `*​/n`. Throws RangeError naming the field. */
export function parseCron(text: string): Cron {
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 5) throw new RangeError(`cron "${text}" has ${fields.length} fields; expected 5: minute hour day-of-month month day-of-week`);
  const [m, h, dom, mon, dow] = fields as [string, string, string, string, string];
  if (dom !== '*' || mon !== '*') throw new RangeError(`cron "${text}": day-of-month and month must be * (the simulation schedules by minute, hour and day of week)`);
  const days = field(dow, 0, 7, 'day-of-week', text);
  const daysOfWeek = new Set([...days].map((d) => d % 7));
  return { minutes: field(m, 0, 59, 'minute', text), hours: field(h, 0, 23, 'hour', text), daysOfWeek };
}

function field(f: string, lo: number, hi: number, name: string, text: string): Set<number> {
  const out = new Set<number>();
  for (const part of f.split(',')) {
    const step = /^\*\/(\d+)$/.exec(part);
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (part === '*' || step) {
      const by = step ? Number(step[1]) : 1;
      if (by < 1) throw new RangeError(`cron "${text}": ${name} step must be at least 1`);
      for (let v = lo; v <= hi; v += by) out.add(v);
    } else if (range) {
      const a = Number(range[1]);
      const b = range[2] === undefined ? a : Number(range[2]);
      if (a < lo || b > hi || a > b) throw new RangeError(`cron "${text}": ${name} ${part} is outside ${lo}-${hi}`);
      for (let v = a; v <= b; v++) out.add(v);
    } else throw new RangeError(`cron "${text}": ${name} field "${part}" is not *, n, a-b or */n`);
  }
  return out;
}

/** Whether the cron fires at the virtual minute starting at `atMs` (time 0: Monday 00:00). */
export function cronMatches(cron: Cron, atMs: number): boolean {
  const minuteOfDay = Math.floor((atMs % DAY_MS) / MINUTE_MS);
  const day = Math.floor(atMs / DAY_MS);
  const dayOfWeek = (day + 1) % 7; // day 0 is a Monday, cron's 1
  return cron.minutes.has(minuteOfDay % 60) && cron.hours.has(Math.floor(minuteOfDay / 60)) && cron.daysOfWeek.has(dayOfWeek);
}
