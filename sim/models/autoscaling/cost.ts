/**
 * What a run costs, per day: machine-hours of the Nomad clients (following the fleet size), vm-service
 * instance-hours, and developers' time spent waiting in the queue.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The integral over time of a step function (instances up, say), advanced as its level changes. */
export class TimeIntegral {
  private sumMs = 0;
  private lastMs = 0;
  private current = 0;

  /** Sets the level from `nowMs` on; times must not go backwards. */
  set(nowMs: number, level: number): void {
    if (nowMs < this.lastMs) throw new RangeError(`time went backwards: ${nowMs} < ${this.lastMs}`);
    this.sumMs += this.current * (nowMs - this.lastMs);
    this.lastMs = nowMs;
    this.current = level;
  }

  get level(): number {
    return this.current;
  }

  /** Level × ms accumulated up to `nowMs`. */
  valueAt(nowMs: number): number {
    return this.sumMs + this.current * Math.max(0, nowMs - this.lastMs);
  }
}

export interface CostInputs {
  /** How long the run lasted (the per-day figures scale to 24 h of it). */
  spanMs: number;
  /** Nomad client instance-milliseconds, and one client's hourly price. */
  clientMs: number;
  clientHourUsd: number;
  /** vm-service instance-milliseconds, and one instance's hourly price. */
  vmMs: number;
  vmHourUsd: number;
  /** Queue time summed over builds, and the price of a developer-hour of waiting. */
  queueMs: number;
  developerHourUsd: number;
}

export interface CostPerDay {
  total_per_day: number;
  machines_per_day: number;
  vm_service_per_day: number;
  waiting_per_day: number;
}

/** USD per day, each part rounded to the cent; the total is the sum of the unrounded parts, rounded. */
export function costPerDay(c: CostInputs): CostPerDay {
  if (!(c.spanMs > 0)) throw new RangeError(`cost over a run of ${c.spanMs} ms: the span must be positive`);
  const perDay = DAY_MS / c.spanMs;
  const machines = (c.clientMs / HOUR_MS) * c.clientHourUsd * perDay;
  const vm = (c.vmMs / HOUR_MS) * c.vmHourUsd * perDay;
  const waiting = (c.queueMs / HOUR_MS) * c.developerHourUsd * perDay;
  return { total_per_day: cents(machines + vm + waiting), machines_per_day: cents(machines), vm_service_per_day: cents(vm), waiting_per_day: cents(waiting) };
}

function cents(x: number): number {
  return Math.round(x * 100) / 100;
}
