/**
 * Closed-form queueing results (M/M/c, Erlang B and C, Little's law) used as an independent check of the
 * simulation and for quick capacity estimates in tuning.
 *
 * Conventions: arrival rates per hour and times in ms, as in the workload model. An unstable system
 * (utilisation ≥ 1) is a legitimate answer, not a programmer error: its mean wait is `Infinity` and its
 * probability of waiting is 1, so a sweep can rank it last without catching exceptions. Inputs that make
 * no sense (negative rates, a non-integer number of servers) throw a `RangeError`.
 */

const HOUR_MS = 3_600_000;

/** An M/M/c system: `servers` identical slots, Poisson arrivals, exponential service with the given mean. */
export interface MmcParams {
  servers: number;
  arrivalsPerHour: number;
  meanServiceMs: number;
}

/**
 * Erlang B: the probability that an arrival finds all `servers` busy in a loss system (M/M/c/c).
 *
 * Computed by the recursion B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)), which stays within [0, 1] at every
 * step and so never overflows, unlike the textbook ratio of aᶜ/c! to a partial exponential series.
 */
export function erlangB(servers: number, offeredLoadErlangs: number): number {
  checkServers(servers);
  checkLoad(offeredLoadErlangs);
  let b = 1;
  for (let k = 1; k <= servers; k++) b = (offeredLoadErlangs * b) / (k + offeredLoadErlangs * b);
  return b;
}

/**
 * Erlang C: the probability that an arrival has to wait in an M/M/c queue with offered load a = λ/μ.
 *
 * From Erlang B: C = c·B / (c − a·(1 − B)). Returns 1 when a ≥ c (unstable: the queue grows without bound,
 * so in the long run everyone waits).
 */
export function erlangC(servers: number, offeredLoadErlangs: number): number {
  const b = erlangB(servers, offeredLoadErlangs);
  if (offeredLoadErlangs >= servers) return 1;
  return (servers * b) / (servers - offeredLoadErlangs * (1 - b));
}

/** Offered load a = λ·E[S] in Erlangs (the mean number of busy servers if none were ever short). */
export function offeredLoadErlangs(p: Pick<MmcParams, 'arrivalsPerHour' | 'meanServiceMs'>): number {
  checkRate(p.arrivalsPerHour);
  checkService(p.meanServiceMs);
  return (p.arrivalsPerHour / HOUR_MS) * p.meanServiceMs;
}

/** Utilisation ρ = a / c: the share of server time busy; ≥ 1 means the system is unstable. */
export function mmcUtilisation(p: MmcParams): number {
  checkServers(p.servers);
  return offeredLoadErlangs(p) / p.servers;
}

/** True when the queue has a steady state (ρ < 1). */
export function mmcIsStable(p: MmcParams): boolean {
  return mmcUtilisation(p) < 1;
}

/** Mean wait in the queue before service, W_q = C(c, a) · E[S] / (c − a); `Infinity` when ρ ≥ 1. */
export function mmcMeanWaitMs(p: MmcParams): number {
  const a = offeredLoadErlangs(p);
  checkServers(p.servers);
  if (a >= p.servers) return Infinity;
  return (erlangC(p.servers, a) * p.meanServiceMs) / (p.servers - a);
}

/** Mean number waiting (not in service), L_q = λ·W_q by Little's law; `Infinity` when ρ ≥ 1. */
export function mmcMeanQueueLength(p: MmcParams): number {
  return littlesLawMeanNumber({ arrivalsPerHour: p.arrivalsPerHour, meanTimeMs: mmcMeanWaitMs(p) });
}

/** P(wait > t) = C(c, a) · exp(−(c − a)·t / E[S]); 1 when ρ ≥ 1. */
export function mmcWaitExceedance(p: MmcParams, waitMs: number): number {
  const a = offeredLoadErlangs(p);
  if (a >= p.servers) return 1;
  if (waitMs < 0) return 1;
  return erlangC(p.servers, a) * Math.exp((-(p.servers - a) * waitMs) / p.meanServiceMs);
}

/**
 * The q-quantile of the wait (q in [0, 1)): 0 when at least a share q of arrivals are served at once, else
 * E[S]·ln(C / (1 − q)) / (c − a); `Infinity` when ρ ≥ 1. Gives the theoretical queue-time p95 a tuning
 * cell is compared with.
 */
export function mmcWaitQuantileMs(p: MmcParams, q: number): number {
  if (!(q >= 0 && q < 1)) throw new RangeError(`quantile must be in [0, 1), got ${q}`);
  const a = offeredLoadErlangs(p);
  checkServers(p.servers);
  if (a >= p.servers) return Infinity;
  const c = erlangC(p.servers, a);
  if (c <= 1 - q) return 0;
  return (p.meanServiceMs * Math.log(c / (1 - q))) / (p.servers - a);
}

/** Little's law L = λ·W: the mean number in a system from the arrival rate and the mean time spent in it. */
export function littlesLawMeanNumber(p: { arrivalsPerHour: number; meanTimeMs: number }): number {
  checkRate(p.arrivalsPerHour);
  if (!(p.meanTimeMs >= 0)) throw new RangeError(`meanTimeMs must be >= 0, got ${p.meanTimeMs}`);
  return (p.arrivalsPerHour / HOUR_MS) * p.meanTimeMs;
}

/** Little's law W = L / λ: the mean time spent from the mean number present and the arrival rate. */
export function littlesLawMeanTimeMs(p: { arrivalsPerHour: number; meanNumber: number }): number {
  if (!(p.arrivalsPerHour > 0) || !Number.isFinite(p.arrivalsPerHour)) {
    throw new RangeError(`arrivalsPerHour must be a finite rate > 0, got ${p.arrivalsPerHour}`);
  }
  if (!(p.meanNumber >= 0)) throw new RangeError(`meanNumber must be >= 0, got ${p.meanNumber}`);
  return p.meanNumber / (p.arrivalsPerHour / HOUR_MS);
}

/** Little's law λ = L / W: the throughput implied by the mean number present and the mean time spent. */
export function littlesLawArrivalsPerHour(p: { meanNumber: number; meanTimeMs: number }): number {
  if (!(p.meanTimeMs > 0) || !Number.isFinite(p.meanTimeMs)) throw new RangeError(`meanTimeMs must be a finite time > 0, got ${p.meanTimeMs}`);
  if (!(p.meanNumber >= 0)) throw new RangeError(`meanNumber must be >= 0, got ${p.meanNumber}`);
  return (p.meanNumber / p.meanTimeMs) * HOUR_MS;
}

function checkServers(servers: number): void {
  if (!Number.isSafeInteger(servers) || servers < 1) throw new RangeError(`servers must be an integer >= 1, got ${servers}`);
}

function checkLoad(a: number): void {
  if (!(a >= 0) || !Number.isFinite(a)) throw new RangeError(`offered load must be finite and >= 0 Erlangs, got ${a}`);
}

function checkRate(arrivalsPerHour: number): void {
  if (!(arrivalsPerHour >= 0) || !Number.isFinite(arrivalsPerHour)) {
    throw new RangeError(`arrivalsPerHour must be finite and >= 0, got ${arrivalsPerHour}`);
  }
}

function checkService(meanServiceMs: number): void {
  if (!(meanServiceMs > 0) || !Number.isFinite(meanServiceMs)) {
    throw new RangeError(`meanServiceMs must be finite and > 0, got ${meanServiceMs}`);
  }
}
