import type { EventFn, EventHandle, Scheduler } from '../../sim/engine/simulation.ts';

/**
 * Real time behind the engine's `Scheduler` interface: `nowMs` is the wall clock (optionally sped up by
 * `timeScale`, the live replay's compression), `schedule` is a Node timer. The Nomad API takes any `Scheduler`
 * for its timestamps and simulated task durations, so a test can pass a virtual clock instead.
 *
 * Timers are unref'd: a clock never keeps the process alive on its own; whoever starts work waits for it.
 */
export class WallClock implements Scheduler {
  private readonly timers = new Map<EventHandle, NodeJS.Timeout>();
  private nextHandle = 1;
  private readonly originMs: number;

  /**
   * @param timeScale virtual milliseconds per real millisecond (60 = a minute of model time per second).
   * @param startMs what `nowMs` reads at construction (default: the wall clock).
   */
  constructor(
    readonly timeScale = 1,
    private readonly startMs = Date.now(),
  ) {
    if (!(timeScale > 0) || !Number.isFinite(timeScale)) throw new RangeError(`timeScale must be positive, got ${timeScale}`);
    this.originMs = Date.now();
  }

  get nowMs(): number {
    return Math.floor(this.startMs + (Date.now() - this.originMs) * this.timeScale);
  }

  schedule<A>(delayMs: number, fn: EventFn<A>, arg?: A): EventHandle {
    if (!(delayMs >= 0)) throw new RangeError(`delay must be a non-negative number of ms, got ${delayMs}`);
    const handle = this.nextHandle++;
    const timer = setTimeout(() => {
      this.timers.delete(handle);
      fn(arg as A);
    }, delayMs / this.timeScale);
    timer.unref();
    this.timers.set(handle, timer);
    return handle;
  }

  scheduleAt<A>(atMs: number, fn: EventFn<A>, arg?: A): EventHandle {
    return this.schedule(Math.max(0, atMs - this.nowMs), fn, arg);
  }

  cancel(handle: EventHandle): boolean {
    const t = this.timers.get(handle);
    if (t === undefined) return false;
    clearTimeout(t);
    this.timers.delete(handle);
    return true;
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.timers.size;
  }

  /** Cancels every pending timer (on shutdown). */
  cancelAll(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
