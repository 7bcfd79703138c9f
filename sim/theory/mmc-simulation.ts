import { Rng } from '../engine/rng.ts';
import { Simulation } from '../engine/simulation.ts';
import { createArrivalProcess } from '../models/workload/arrivals.ts';
import { createDurationSampler } from '../models/workload/durations.ts';
import { feedArrivals } from '../models/workload/feed-arrivals.ts';

const HOUR_MS = 3_600_000;

export interface MmcSimulationParams {
  servers: number;
  arrivalsPerHour: number;
  meanServiceMs: number;
  /** Customers whose waits are measured, after the warm-up. */
  customers: number;
  /** Customers served first and not measured, so the empty start does not bias the mean. */
  warmupCustomers: number;
  /** Number of consecutive batches the measured waits are split into, for a batch-means standard error. */
  batches?: number;
  seed: number;
}

export interface MmcSimulationResult {
  /** Mean wait in the queue of the measured customers. */
  meanWaitMs: number;
  /** Batch-means estimate of the standard error of `meanWaitMs` (it accounts for the waits' correlation). */
  meanWaitStdErrorMs: number;
  /** Share of measured customers that waited at all. */
  waitedShare: number;
  /** Time-average number waiting over the measurement window (first to last measured arrival). */
  meanQueueLength: number;
  /** Customers waiting when the last one arrived (grows with the run when the system is unstable). */
  queueLengthAtEnd: number;
  /** Arrivals per hour observed in the measurement window. */
  observedArrivalsPerHour: number;
  /** Length of the measurement window. */
  windowMs: number;
  events: number;
}

/**
 * An M/M/c queue run on the engine with the workload model's own generators: `servers` identical slots,
 * one FIFO queue, Poisson arrivals, exponential service. It exists to check the engine and the generators
 * against Erlang C, so it uses exactly the code paths a scenario does (feed, scheduler, samplers).
 */
export function simulateMmc(p: MmcSimulationParams): MmcSimulationResult {
  const batches = p.batches ?? 20;
  const total = p.warmupCustomers + p.customers;
  const sim = new Simulation();
  const rng = new Rng(p.seed);
  const arrivals = createArrivalProcess({ kind: 'poisson', ratePerHour: p.arrivalsPerHour }, rng.fork('arrivals'));
  const serviceRng = rng.fork('service');
  const serviceMs = createDurationSampler({ kind: 'exponential', meanMs: p.meanServiceMs });

  // FIFO of (arrival time, customer number) in a ring buffer; the queue length is bounded by the customers.
  let capacity = 1024;
  let queueAt = new Float64Array(capacity);
  let queueId = new Float64Array(capacity);
  let head = 0;
  let length = 0;
  let busy = 0;
  let arrived = 0;

  let measuring = false;
  let lastChangeMs = 0;
  let areaMs = 0;
  let windowStartMs = 0;
  let windowEndMs = 0;
  let queueLengthAtEnd = 0;
  let waitSumMs = 0;
  let waited = 0;
  const batchSize = Math.ceil(p.customers / batches);
  const batchSumMs = new Float64Array(batches);

  const record = (id: number, waitMs: number): void => {
    if (id < p.warmupCustomers) return;
    const k = id - p.warmupCustomers;
    waitSumMs += waitMs;
    batchSumMs[Math.floor(k / batchSize)]! += waitMs;
    if (waitMs > 0) waited++;
  };
  /** Accumulates the queue length over time up to now; call before every change of `length`. */
  const integrate = (): void => {
    if (measuring) areaMs += length * (sim.nowMs - lastChangeMs);
    lastChangeMs = sim.nowMs;
  };
  const depart = (): void => {
    if (length === 0) {
      busy--;
      return;
    }
    integrate();
    const at = queueAt[head]!;
    const id = queueId[head]!;
    head = (head + 1) % capacity;
    length--;
    record(id, sim.nowMs - at);
    sim.schedule(serviceMs(serviceRng), depart);
  };
  const grow = (): void => {
    const at = new Float64Array(capacity * 2);
    const ids = new Float64Array(capacity * 2);
    for (let i = 0; i < length; i++) {
      at[i] = queueAt[(head + i) % capacity]!;
      ids[i] = queueId[(head + i) % capacity]!;
    }
    queueAt = at;
    queueId = ids;
    head = 0;
    capacity *= 2;
  };

  feedArrivals(
    sim,
    arrivals,
    () => {
      const id = arrived++;
      integrate();
      if (id === p.warmupCustomers) {
        measuring = true;
        windowStartMs = sim.nowMs;
      }
      if (id === total - 1) {
        measuring = false;
        windowEndMs = sim.nowMs;
        queueLengthAtEnd = length;
      }
      if (busy < p.servers) {
        busy++;
        record(id, 0);
        sim.schedule(serviceMs(serviceRng), depart);
        return;
      }
      if (length === capacity) grow();
      queueAt[(head + length) % capacity] = sim.nowMs;
      queueId[(head + length) % capacity] = id;
      length++;
    },
    { maxArrivals: total },
  );
  const result = sim.run({ maxEvents: 4 * total + 16 });
  if (result.reason !== 'drained') throw new Error(`M/M/c simulation did not drain: ${result.reason}`);

  const meanWaitMs = waitSumMs / p.customers;
  const means = Array.from(batchSumMs, (sum, k) => sum / Math.min(batchSize, p.customers - k * batchSize));
  const variance = means.reduce((s, m) => s + (m - meanWaitMs) ** 2, 0) / (batches - 1);
  const windowMs = windowEndMs - windowStartMs;
  return {
    meanWaitMs,
    meanWaitStdErrorMs: Math.sqrt(variance / batches),
    waitedShare: waited / p.customers,
    meanQueueLength: areaMs / windowMs,
    queueLengthAtEnd,
    observedArrivalsPerHour: ((p.customers - 1) / windowMs) * HOUR_MS,
    windowMs,
    events: sim.eventsFired,
  };
}
