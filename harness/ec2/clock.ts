/**
 * Where the EC2 model reads the time: an injected clock, so that tests move time by hand and the live harness
 * can compress it. Times are integer epoch milliseconds.
 */
export interface Clock {
  nowMs(): number;
}

/** The machine's wall clock. */
export const systemClock: Clock = { nowMs: () => Date.now() };

/** Wall-clock time compressed by `timeScale` (60 = one real second is one simulated minute), from `startMs`. */
export function scaledClock(timeScale: number, startMs: number = Date.now(), real: Clock = systemClock): Clock {
  if (!(timeScale > 0) || !Number.isFinite(timeScale)) throw new RangeError(`timeScale must be > 0, got ${timeScale}`);
  const realStart = real.nowMs();
  return { nowMs: () => startMs + Math.floor((real.nowMs() - realStart) * timeScale) };
}

/** A clock that moves only when told: what the unit and contract tests use. */
export class ManualClock implements Clock {
  private now: number;

  /** The default start is a fixed instant, so that ids, timestamps and reports are the same on every run. */
  constructor(startMs: number = Date.UTC(2020, 0, 21, 13, 48, 33)) {
    if (!Number.isInteger(startMs)) throw new RangeError(`startMs must be an integer, got ${startMs}`);
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  /** Moves time forward by `ms` (a non-negative integer). */
  advance(ms: number): this {
    if (!Number.isInteger(ms) || ms < 0) throw new RangeError(`advance by a non-negative integer, got ${ms}`);
    this.now += ms;
    return this;
  }

  /** Moves time forward to `ms` (never back). */
  set(ms: number): this {
    if (!Number.isInteger(ms) || ms < this.now) throw new RangeError(`cannot move the clock back to ${ms} from ${this.now}`);
    this.now = ms;
    return this;
  }
}
