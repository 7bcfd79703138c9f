import type { Scheduler } from '../../engine/simulation.ts';
import type { Arrival, ArrivalProcess } from './arrivals.ts';

export interface FeedLimits {
  /** No arrival at or after this virtual time is delivered (the scenario's `duration`). */
  untilMs?: number;
  /** At most this many arrivals are delivered (a bound on the run). */
  maxArrivals?: number;
  /** Event priority of arrivals among events at the same time (lower fires first). */
  priority?: number;
  /** Deliver each arrival this long after its time (a network hop folded into the arrival event). */
  delayMs?: number;
}

/** Handle on a running feed: how many arrivals it delivered, and a way to end it early. */
export interface ArrivalFeed {
  readonly delivered: number;
  stop(): void;
}

/**
 * Delivers an arrival process into the engine: one pending event at a time, each scheduling the next.
 *
 * Keeping a single event in the queue (rather than pre-scheduling the whole run) keeps the heap small and lets
 * `stop()` end the stream, as a fault that takes down the webhook receiver would.
 */
export function feedArrivals(
  scheduler: Scheduler,
  process: ArrivalProcess,
  onArrival: (arrival: Arrival) => void,
  limits: FeedLimits = {},
): ArrivalFeed {
  const untilMs = limits.untilMs ?? Infinity;
  const maxArrivals = limits.maxArrivals ?? Infinity;
  const priority = limits.priority ?? 0;
  const delayMs = limits.delayMs ?? 0;
  let delivered = 0;
  let stopped = false;
  let pending: number | undefined;

  const deliver = (arrival: Arrival): void => {
    pending = undefined;
    if (stopped) return;
    delivered++;
    onArrival(arrival);
    scheduleNext();
  };
  const scheduleNext = (): void => {
    if (stopped || delivered >= maxArrivals) return;
    const arrival = process.next();
    if (arrival === undefined || arrival.atMs >= untilMs) return;
    // A process never goes back in time, but a feed started late must not schedule into the past.
    pending = scheduler.scheduleAt(Math.max(arrival.atMs + delayMs, scheduler.nowMs), deliver, arrival, priority);
  };

  scheduleNext();
  return {
    get delivered() {
      return delivered;
    },
    stop() {
      stopped = true;
      if (pending !== undefined) scheduler.cancel(pending);
      pending = undefined;
    },
  };
}
