import { EventQueue, type EventFn, type EventHandle } from './event-queue.ts';

export type { EventFn, EventHandle } from './event-queue.ts';

/** Why a run returned: the queue ran dry, the time limit was reached, the event limit was hit, or `stop()`. */
export type StopReason = 'drained' | 'until' | 'max-events' | 'stopped';

export interface RunLimits {
  /** Stop before firing any event later than this virtual time (ms); the clock is left at this time. */
  untilMs?: number;
  /** Stop after this many events (a guard against runaway models). */
  maxEvents?: number;
}

export interface RunResult {
  reason: StopReason;
  nowMs: number;
  events: number;
}

/** The part of the engine a model sees: the time and a way to be called back later. */
export interface Scheduler {
  readonly nowMs: number;
  /** Calls `fn(arg)` after `delayMs` (a non-negative integer). Lower `priority` fires first among equal times. */
  schedule<A>(delayMs: number, fn: EventFn<A>, arg?: A, priority?: number): EventHandle;
  /** Calls `fn(arg)` at absolute time `atMs` (not before now). */
  scheduleAt<A>(atMs: number, fn: EventFn<A>, arg?: A, priority?: number): EventHandle;
  cancel(handle: EventHandle): boolean;
}

/**
 * The discrete-event engine: a virtual clock in integer milliseconds and an event queue ordered by
 * (time, priority, sequence). It knows no domain words; models schedule callbacks on it.
 */
export class Simulation implements Scheduler {
  private readonly queue = new EventQueue();
  private now = 0;
  private stopRequested = false;
  private fired = 0;

  get nowMs(): number {
    return this.now;
  }

  /** Total events fired over the simulation's life. */
  get eventsFired(): number {
    return this.fired;
  }

  /** Events waiting to fire. */
  get pending(): number {
    return this.queue.length;
  }

  schedule<A>(delayMs: number, fn: EventFn<A>, arg?: A, priority = 0): EventHandle {
    if (!(delayMs >= 0) || !Number.isInteger(delayMs)) {
      throw new RangeError(`delay must be a non-negative integer number of ms, got ${delayMs}`);
    }
    return this.queue.push(this.now + delayMs, priority, fn, arg);
  }

  scheduleAt<A>(atMs: number, fn: EventFn<A>, arg?: A, priority = 0): EventHandle {
    if (!Number.isInteger(atMs) || atMs < this.now) {
      throw new RangeError(`cannot schedule at ${atMs} ms: now is ${this.now} ms and times are integers`);
    }
    return this.queue.push(atMs, priority, fn, arg);
  }

  cancel(handle: EventHandle): boolean {
    return this.queue.cancel(handle);
  }

  /** Asks the running loop to return after the current event. */
  stop(): void {
    this.stopRequested = true;
  }

  /** Fires the next event, if any. Returns false when the queue is empty. */
  step(): boolean {
    const q = this.queue;
    const slot = q.popSlot();
    if (slot < 0) return false;
    this.now = q.lastTime;
    const fn = q.fnOf(slot);
    const arg = q.argOf(slot);
    this.fired++;
    fn(arg);
    return true;
  }

  /** Runs until a limit is reached, the queue drains, or `stop()` is called. */
  run(limits: RunLimits = {}): RunResult {
    const untilMs = limits.untilMs ?? Infinity;
    const maxEvents = limits.maxEvents ?? Infinity;
    const q = this.queue;
    let events = 0;
    this.stopRequested = false;
    for (;;) {
      if (events >= maxEvents) return { reason: 'max-events', nowMs: this.now, events };
      const slot = q.popSlotUntil(untilMs);
      if (slot < 0) {
        if (untilMs !== Infinity && untilMs > this.now) this.now = untilMs;
        return { reason: slot === -1 ? 'drained' : 'until', nowMs: this.now, events };
      }
      this.now = q.lastTime;
      const fn = q.fnOf(slot);
      const arg = q.argOf(slot);
      events++;
      this.fired++;
      fn(arg);
      if (this.stopRequested) {
        this.stopRequested = false;
        return { reason: 'stopped', nowMs: this.now, events };
      }
    }
  }
}
