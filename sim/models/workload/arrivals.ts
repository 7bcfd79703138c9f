import type { Rng } from '../../engine/rng.ts';
import type { ArrivalSpec, TraceArrival } from './types.ts';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;

/**
 * Steps (candidates or rate segments) one `next()` may take before it gives up. Quiet periods are skipped
 * in bulk (whole weeks or burst periods at once), so a correct spec needs a handful; hitting the limit
 * means a broken invariant, not a quiet period.
 */
const MAX_STEPS_PER_ARRIVAL = 10_000_000;

/** One arrival: when, and for a trace optionally which job template (an index into the job mix). */
export interface Arrival {
  atMs: number;
  job?: number;
}

/** Successive arrival times, non-decreasing integers; `undefined` once there are no more (a trace ran out). */
export interface ArrivalProcess {
  next(): Arrival | undefined;
}

/**
 * The generator for an arrival spec.
 *
 * Each process keeps its clock as a real number and rounds only what it returns, so rounding never
 * accumulates and the output stays non-decreasing.
 */
export function createArrivalProcess(spec: ArrivalSpec, rng: Rng): ArrivalProcess {
  validateArrivalSpec(spec);
  switch (spec.kind) {
    case 'poisson':
      return new PoissonProcess(spec.ratePerHour, rng);
    case 'diurnal':
      return new DiurnalProcess(spec, rng);
    case 'burst':
      return new BurstProcess(spec, rng);
    case 'trace':
      return new TraceProcess(spec.arrivals);
  }
}

/**
 * The intensity of the spec at virtual time `tMs`, in arrivals per hour.
 *
 * For a trace it is the number of trace arrivals in the clock hour that contains `tMs` (a step function),
 * so that reports can plot every kind on one axis.
 */
export function rateAt(spec: ArrivalSpec, tMs: number): number {
  switch (spec.kind) {
    case 'poisson':
      return spec.ratePerHour;
    case 'diurnal':
      return diurnalRate(spec, tMs);
    case 'burst':
      return spec.baseRatePerHour + (isInBurst(spec, tMs) ? spec.burstRatePerHour : 0);
    case 'trace': {
      const hourStartMs = Math.floor(tMs / HOUR_MS) * HOUR_MS;
      return lowerBound(spec.arrivals, hourStartMs + HOUR_MS) - lowerBound(spec.arrivals, hourStartMs);
    }
  }
}

/** Throws a `RangeError` for a spec that the scenario boundary should never have settled. */
export function validateArrivalSpec(spec: ArrivalSpec): void {
  const rate = (name: string, value: number): void => {
    if (!(value >= 0) || !Number.isFinite(value)) throw new RangeError(`${name} must be a finite rate >= 0, got ${value}`);
  };
  switch (spec.kind) {
    case 'poisson':
      rate('ratePerHour', spec.ratePerHour);
      return;
    case 'diurnal':
      rate('peakPerHour', spec.peakPerHour);
      rate('nightPerHour', spec.nightPerHour);
      if (!(spec.peakAtMs >= 0 && spec.peakAtMs < DAY_MS)) {
        throw new RangeError(`peakAtMs must be a time of day in [0, ${DAY_MS}), got ${spec.peakAtMs}`);
      }
      if (!(spec.widthMs > 0) || !Number.isFinite(spec.widthMs)) {
        throw new RangeError(`widthMs must be a positive finite number, got ${spec.widthMs}`);
      }
      return;
    case 'burst':
      rate('baseRatePerHour', spec.baseRatePerHour);
      rate('burstRatePerHour', spec.burstRatePerHour);
      if (!(spec.firstAtMs >= 0) || !Number.isFinite(spec.firstAtMs)) {
        throw new RangeError(`firstAtMs must be finite and >= 0, got ${spec.firstAtMs}`);
      }
      if (!(spec.everyMs > 0)) throw new RangeError(`everyMs must be > 0 (Infinity: a single burst), got ${spec.everyMs}`);
      if (!(spec.lengthMs >= 0 && spec.lengthMs <= spec.everyMs) || !Number.isFinite(spec.lengthMs)) {
        throw new RangeError(`lengthMs must be in [0, everyMs] so bursts do not overlap, got ${spec.lengthMs}`);
      }
      return;
    case 'trace': {
      let previous = 0;
      spec.arrivals.forEach((arrival, i) => {
        if (!Number.isSafeInteger(arrival.atMs) || arrival.atMs < 0) {
          throw new RangeError(`trace arrival ${i} has atMs ${arrival.atMs}: times are integers >= 0`);
        }
        if (arrival.atMs < previous) {
          throw new RangeError(`trace arrival ${i} at ${arrival.atMs} ms comes before the previous one at ${previous} ms`);
        }
        if (arrival.job !== undefined && (!Number.isSafeInteger(arrival.job) || arrival.job < 0)) {
          throw new RangeError(`trace arrival ${i} has job ${arrival.job}: a template index is an integer >= 0`);
        }
        previous = arrival.atMs;
      });
      return;
    }
  }
}

/** Diurnal intensity (per hour): a bell around the nearest peak on weekdays, the night rate on quiet days. */
function diurnalRate(spec: Extract<ArrivalSpec, { kind: 'diurnal' }>, tMs: number): number {
  if (spec.weekends && isWeekend(tMs)) return spec.nightPerHour;
  const todMs = mod(tMs, DAY_MS);
  // Wrap the offset into [-12h, 12h) so a peak at 23:00 also lifts 00:30 (the nearest peak is yesterday's).
  const offsetMs = mod(todMs - spec.peakAtMs + DAY_MS / 2, DAY_MS) - DAY_MS / 2;
  return bell(spec, offsetMs);
}

function bell(spec: Extract<ArrivalSpec, { kind: 'diurnal' }>, offsetMs: number): number {
  const z = offsetMs / spec.widthMs;
  return spec.nightPerHour + (spec.peakPerHour - spec.nightPerHour) * Math.exp(-0.5 * z * z);
}

/** Saturday and Sunday: days 5 and 6 after the Monday at virtual time 0. */
function isWeekend(tMs: number): boolean {
  return mod(Math.floor(tMs / DAY_MS), 7) >= 5;
}

function isInBurst(spec: Extract<ArrivalSpec, { kind: 'burst' }>, tMs: number): boolean {
  if (tMs < spec.firstAtMs) return false;
  return tMs < windowStartMs(spec, windowIndex(spec, tMs)) + spec.lengthMs;
}

/** The k of the burst period [firstAt + k·every, firstAt + (k+1)·every) holding `tMs` (≥ firstAt). */
function windowIndex(spec: Extract<ArrivalSpec, { kind: 'burst' }>, tMs: number): number {
  if (spec.everyMs === Infinity) return 0;
  let k = Math.floor((tMs - spec.firstAtMs) / spec.everyMs);
  // Division can land one period off at a boundary when the spec is not in whole ms; settle k exactly so
  // that every segment ends strictly after `tMs` and the walk always advances.
  if (k > 0 && windowStartMs(spec, k) > tMs) k--;
  else if (windowStartMs(spec, k + 1) <= tMs) k++;
  return k;
}

function windowStartMs(spec: Extract<ArrivalSpec, { kind: 'burst' }>, k: number): number {
  return k === 0 ? spec.firstAtMs : spec.firstAtMs + k * spec.everyMs;
}

function mod(a: number, n: number): number {
  const r = a % n;
  return r < 0 ? r + n : r;
}

/** Index of the first arrival at or after `tMs`. */
function lowerBound(arrivals: readonly TraceArrival[], tMs: number): number {
  let lo = 0;
  let hi = arrivals.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arrivals[mid]!.atMs < tMs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** About 35,000 years of virtual time: far past any run (`max_duration` is 90 days), well inside exact integers. */
const HORIZON_MS = 2 ** 50;

function tooManySteps(kind: string): never {
  throw new Error(`${kind} arrival process drew ${MAX_STEPS_PER_ARRIVAL} candidates without an arrival: a broken spec`);
}

/** Homogeneous Poisson: exponential gaps with mean 1/λ. */
class PoissonProcess implements ArrivalProcess {
  private tMs = 0;
  private readonly meanGapMs: number;

  constructor(
    ratePerHour: number,
    private readonly rng: Rng,
  ) {
    this.meanGapMs = ratePerHour > 0 ? HOUR_MS / ratePerHour : Infinity;
  }

  next(): Arrival | undefined {
    if (this.meanGapMs === Infinity) return undefined;
    this.tMs += this.rng.exponential(this.meanGapMs);
    return { atMs: Math.round(this.tMs) };
  }
}

/** Divisors of an hour in ms that the thinning bound's segments may use (finer for narrow bells). */
const SEGMENTS_PER_HOUR = [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 60] as const;

/**
 * Diurnal: a non-homogeneous Poisson process by thinning (Lewis–Shedler).
 *
 * The dominating rate is piecewise constant over the week, not one global peak: each segment (an hour, or
 * a divisor of an hour no longer than the bell's width) gets the largest rate inside it, so night hours and
 * quiet weekends cost almost nothing and most candidates are kept. Candidates are drawn by inverting the dominating
 * process's cumulative rate (one Exp(1) and a binary search each); each is kept with probability
 * rate(t) / bound.
 */
class DiurnalProcess implements ArrivalProcess {
  private tMs = 0;
  private readonly segmentMs: number;
  /** The bound (per hour) of each segment of the week. */
  private readonly bound: Float64Array;
  /** cumulative[i]: expected candidates from the start of the week to the start of segment i. */
  private readonly cumulative: Float64Array;
  private readonly candidatesPerWeek: number;

  constructor(
    private readonly spec: Extract<ArrivalSpec, { kind: 'diurnal' }>,
    private readonly rng: Rng,
  ) {
    const perHour = SEGMENTS_PER_HOUR.find((n) => HOUR_MS / n <= spec.widthMs) ?? 60;
    this.segmentMs = HOUR_MS / perHour;
    const segments = WEEK_MS / this.segmentMs;
    this.bound = new Float64Array(segments);
    this.cumulative = new Float64Array(segments + 1);
    for (let i = 0; i < segments; i++) {
      const bound = maxDiurnalRate(spec, i * this.segmentMs, (i + 1) * this.segmentMs);
      this.bound[i] = bound;
      this.cumulative[i + 1] = this.cumulative[i]! + (bound * this.segmentMs) / HOUR_MS;
    }
    this.candidatesPerWeek = this.cumulative[segments]!;
  }

  next(): Arrival | undefined {
    if (this.candidatesPerWeek === 0) return undefined;
    for (let candidates = 0; candidates < MAX_STEPS_PER_ARRIVAL; candidates++) {
      const { atMs, boundPerHour, segmentEndMs } = this.nextCandidate();
      this.tMs = atMs;
      const ratePerHour = diurnalRate(this.spec, atMs);
      // Far into a run, floating-point rounding can put a point exactly on a segment's end, where the next
      // segment's rate applies; there the bound is allowed to be short (an event of probability ~1e-10).
      if (ratePerHour > boundPerHour * (1 + 1e-9) && atMs < segmentEndMs) {
        throw new Error(`diurnal thinning bound ${boundPerHour}/h is below the rate ${ratePerHour}/h at ${atMs} ms`);
      }
      if (this.rng.nextFloat() * boundPerHour < ratePerHour) return { atMs: Math.round(atMs) };
    }
    return tooManySteps('diurnal');
  }

  /** The next point of the dominating process after `tMs`, and the bound of the segment it falls in. */
  private nextCandidate(): { atMs: number; boundPerHour: number; segmentEndMs: number } {
    const segments = this.bound.length;
    let weekStartMs = Math.floor(this.tMs / WEEK_MS) * WEEK_MS;
    const offsetMs = this.tMs - weekStartMs;
    const here = Math.min(Math.floor(offsetMs / this.segmentMs), segments - 1);
    let target = this.cumulative[here]! + (this.bound[here]! * (offsetMs - here * this.segmentMs)) / HOUR_MS;
    target += this.rng.exponential(1);
    if (target >= this.candidatesPerWeek) {
      const weeks = Math.floor(target / this.candidatesPerWeek);
      weekStartMs += weeks * WEEK_MS;
      target -= weeks * this.candidatesPerWeek;
    }
    // The first segment whose cumulative end passes the target (zero-bound segments are never chosen).
    let lo = 0;
    let hi = segments - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid + 1]! > target) hi = mid;
      else lo = mid + 1;
    }
    const bound = this.bound[lo]!;
    const segmentStartMs = weekStartMs + lo * this.segmentMs;
    const intoMs = bound > 0 ? ((target - this.cumulative[lo]!) / bound) * HOUR_MS : 0;
    // Keep the point inside its segment: the next segment's bound may be lower.
    const atMs = Math.max(this.tMs, segmentStartMs + Math.min(Math.max(intoMs, 0), this.segmentMs * (1 - 1e-12)));
    return { atMs, boundPerHour: bound, segmentEndMs: segmentStartMs + this.segmentMs };
  }
}

/** The largest diurnal rate over [fromMs, toMs] inside one day: at the point nearest a peak. */
function maxDiurnalRate(spec: Extract<ArrivalSpec, { kind: 'diurnal' }>, fromMs: number, toMs: number): number {
  if (spec.weekends && isWeekend(fromMs)) return spec.nightPerHour;
  if (spec.peakPerHour <= spec.nightPerHour) return spec.nightPerHour;
  const dayStartMs = Math.floor(fromMs / DAY_MS) * DAY_MS;
  let nearestMs = Infinity;
  for (const dayOffsetMs of [-DAY_MS, 0, DAY_MS]) {
    const peakMs = dayStartMs + dayOffsetMs + spec.peakAtMs;
    const distanceMs = peakMs < fromMs ? fromMs - peakMs : peakMs > toMs ? peakMs - toMs : 0;
    nearestMs = Math.min(nearestMs, distanceMs);
  }
  return bell(spec, nearestMs);
}

/**
 * Burst: a piecewise-constant rate (base, or base + burst inside a window), generated exactly by inverting
 * the cumulative intensity: draw an Exp(1) amount of "expected arrivals" and walk the segments until it is
 * used up, skipping whole periods at once. No candidates are rejected.
 */
class BurstProcess implements ArrivalProcess {
  private tMs = 0;
  private readonly silent: boolean;
  /** Expected arrivals in one whole period after `firstAtMs` (the rate repeats with period `everyMs`). */
  private readonly perPeriod: number;

  constructor(
    private readonly spec: Extract<ArrivalSpec, { kind: 'burst' }>,
    private readonly rng: Rng,
  ) {
    this.silent = spec.baseRatePerHour === 0 && (spec.burstRatePerHour === 0 || spec.lengthMs === 0);
    this.perPeriod =
      spec.everyMs === Infinity ? Infinity : (spec.baseRatePerHour * spec.everyMs + spec.burstRatePerHour * spec.lengthMs) / HOUR_MS;
  }

  next(): Arrival | undefined {
    if (this.silent) return undefined;
    let remaining = this.rng.exponential(1);
    for (let step = 0; step < MAX_STEPS_PER_ARRIVAL; step++) {
      // The rate repeats every period from `firstAtMs` on, from any point: skip whole periods at once, also
      // after the quiet start before the first burst (a tiny rate over short periods would walk billions).
      if (this.tMs >= this.spec.firstAtMs && remaining >= this.perPeriod) {
        const periods = Math.floor(remaining / this.perPeriod);
        this.tMs += periods * this.spec.everyMs;
        remaining -= periods * this.perPeriod;
        // Past the horizon times lose whole milliseconds (and the walk could not advance): no more arrivals.
        if (this.tMs > HORIZON_MS) return undefined;
      }
      const { endMs, ratePerHour } = this.segmentAt(this.tMs);
      const perMs = ratePerHour / HOUR_MS;
      const expected = perMs * (endMs - this.tMs);
      if (perMs > 0 && remaining <= expected) {
        this.tMs = Math.min(this.tMs + remaining / perMs, endMs);
        return { atMs: Math.round(this.tMs) };
      }
      if (endMs === Infinity) return undefined; // a single burst is over and there is no base rate
      remaining -= expected;
      this.tMs = endMs;
    }
    return tooManySteps('burst');
  }

  /** The constant-rate segment containing `tMs`: where it ends and its rate. */
  private segmentAt(tMs: number): { endMs: number; ratePerHour: number } {
    const spec = this.spec;
    const base = spec.baseRatePerHour;
    if (tMs < spec.firstAtMs) return { endMs: spec.firstAtMs, ratePerHour: base };
    const k = windowIndex(spec, tMs);
    const startMs = windowStartMs(spec, k);
    const burstEndMs = startMs + spec.lengthMs;
    if (tMs < burstEndMs) return { endMs: burstEndMs, ratePerHour: base + spec.burstRatePerHour };
    return { endMs: windowStartMs(spec, k + 1), ratePerHour: base };
  }
}

/** Trace: the recorded arrivals, in order; `validateArrivalSpec` has already checked the order. */
class TraceProcess implements ArrivalProcess {
  private index = 0;

  constructor(private readonly arrivals: readonly TraceArrival[]) {}

  next(): Arrival | undefined {
    const arrival = this.arrivals[this.index];
    if (arrival === undefined) return undefined;
    this.index++;
    return arrival.job === undefined ? { atMs: arrival.atMs } : { atMs: arrival.atMs, job: arrival.job };
  }
}

/** Draws arrivals before `endMs` (exclusive), at most `maxCount` of them: for tests, reports and previews. */
export function takeArrivalsUntil(process: ArrivalProcess, endMs: number, maxCount = 10_000_000): Arrival[] {
  const out: Arrival[] = [];
  while (out.length < maxCount) {
    const arrival = process.next();
    if (arrival === undefined || arrival.atMs >= endMs) break;
    out.push(arrival);
  }
  return out;
}
