import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.ts';
import { createArrivalProcess, DAY_MS, HOUR_MS, rateAt, takeArrivalsUntil, WEEK_MS } from './arrivals.ts';
import type { ArrivalSpec } from './types.ts';

/*
 * Statistical tolerances. Arrival counts over a window are Poisson, so a count with mean μ has standard
 * deviation √μ; counts are accepted within 5σ (a correct generator fails one check with probability 6e-7,
 * so the whole file stays far below 1e-4 even with fast-check drawing fresh seeds on every run). Expected
 * counts are kept in the thousands so the normal approximation is good at 5σ. The hourly shape of the
 * diurnal process is checked with a chi-square test whose critical value is set at p = 1e-6.
 */
const SIGMAS = 5;

type Diurnal = Extract<ArrivalSpec, { kind: 'diurnal' }>;
type Burst = Extract<ArrivalSpec, { kind: 'burst' }>;

const times = (spec: ArrivalSpec, seed: number, endMs: number): number[] =>
  takeArrivalsUntil(createArrivalProcess(spec, new Rng(seed)), endMs).map((a) => a.atMs);

const countIn = (sorted: readonly number[], fromMs: number, toMs: number): number =>
  lowerBound(sorted, toMs) - lowerBound(sorted, fromMs);

function lowerBound(sorted: readonly number[], t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Expected arrivals in [from, to): Simpson's rule on `rateAt` over one-minute steps (to − from whole minutes). */
function expectedCount(spec: ArrivalSpec, fromMs: number, toMs: number): number {
  const stepMs = 60_000;
  const n = Math.round((toMs - fromMs) / stepMs);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const a = fromMs + i * stepMs;
    // Evaluate just inside the step so a rate that jumps at a boundary is read on the right side.
    const left = rateAt(spec, a);
    const mid = rateAt(spec, a + stepMs / 2);
    const right = rateAt(spec, a + stepMs - 1e-6);
    sum += ((left + 4 * mid + right) / 6) * (stepMs / HOUR_MS);
  }
  return sum;
}

function expectPoissonCount(observed: number, expected: number, what: string): void {
  expect(Math.abs(observed - expected), `${what}: observed ${observed}, expected ${expected.toFixed(1)}`).toBeLessThanOrEqual(
    SIGMAS * Math.sqrt(expected) + 1,
  );
}

/** Chi-square critical value by the Wilson–Hilferty approximation, for a standard-normal quantile z. */
function chiSquareCritical(df: number, z: number): number {
  const c = 2 / (9 * df);
  return df * (1 - c + z * Math.sqrt(c)) ** 3;
}

const officeHours: Diurnal = {
  kind: 'diurnal',
  peakPerHour: 600,
  nightPerHour: 20,
  peakAtMs: 14 * HOUR_MS,
  widthMs: 2.5 * HOUR_MS,
  weekends: true,
};

const arbitrarySpec: fc.Arbitrary<ArrivalSpec> = fc.oneof(
  fc.record({ kind: fc.constant('poisson' as const), ratePerHour: fc.double({ min: 0.5, max: 50_000, noNaN: true }) }),
  fc.record({
    kind: fc.constant('diurnal' as const),
    peakPerHour: fc.double({ min: 1, max: 20_000, noNaN: true }),
    nightPerHour: fc.double({ min: 0, max: 500, noNaN: true }),
    peakAtMs: fc.integer({ min: 0, max: DAY_MS - 1 }),
    widthMs: fc.integer({ min: 60_000, max: 8 * HOUR_MS }),
    weekends: fc.boolean(),
  }),
  fc
    .record({
      kind: fc.constant('burst' as const),
      baseRatePerHour: fc.double({ min: 0, max: 5_000, noNaN: true }),
      burstRatePerHour: fc.double({ min: 1, max: 50_000, noNaN: true }),
      firstAtMs: fc.integer({ min: 0, max: DAY_MS }),
      everyMs: fc.integer({ min: 60_000, max: DAY_MS }),
      lengthFraction: fc.double({ min: 0.01, max: 1, noNaN: true }),
    })
    .map(({ lengthFraction, ...s }) => ({ ...s, lengthMs: Math.round(s.everyMs * lengthFraction) })),
  fc
    .array(fc.record({ atMs: fc.nat({ max: WEEK_MS }), job: fc.option(fc.nat({ max: 5 }), { nil: undefined }) }), { maxLength: 200 })
    .map((arrivals) => ({ kind: 'trace' as const, arrivals: [...arrivals].sort((a, b) => a.atMs - b.atMs) })),
);

describe('every arrival process', () => {
  it('yields non-decreasing, non-negative integer times', () => {
    fc.assert(
      fc.property(arbitrarySpec, fc.nat(), (spec, seed) => {
        const process = createArrivalProcess(spec, new Rng(seed));
        let previous = 0;
        const bad: string[] = [];
        for (let i = 0; i < 400; i++) {
          const arrival = process.next();
          if (arrival === undefined) break;
          if (!Number.isInteger(arrival.atMs) || arrival.atMs < previous) bad.push(`#${i}: ${arrival.atMs} after ${previous}`);
          previous = arrival.atMs;
        }
        expect(bad).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('is deterministic for a seed, and forks by label give different streams', () => {
    fc.assert(
      fc.property(arbitrarySpec.filter((s) => s.kind !== 'trace'), fc.nat(), (spec, seed) => {
        const first = takeArrivalsUntil(createArrivalProcess(spec, new Rng(seed).fork('workload')), Infinity, 300);
        const again = takeArrivalsUntil(createArrivalProcess(spec, new Rng(seed).fork('workload')), Infinity, 300);
        const other = takeArrivalsUntil(createArrivalProcess(spec, new Rng(seed).fork('workload-2')), Infinity, 300);
        expect(again).toEqual(first);
        expect(other).not.toEqual(first);
      }),
      { numRuns: 50 },
    );
  });

  it('a tiny burst rate over 1 ms periods after a quiet start skips whole periods instead of walking billions of them', () => {
    // Found by the hostile-input property test: the skip applied only when the walk began after firstAt.
    const spec: ArrivalSpec = { kind: 'burst', baseRatePerHour: 0, burstRatePerHour: 0.001, firstAtMs: 1, everyMs: 1, lengthMs: 1 };
    const [first] = takeArrivalsUntil(createArrivalProcess(spec, new Rng(7)), Infinity, 1);
    expect(first!.atMs).toBeGreaterThan(HOUR_MS); // about 1,000 hours away on average
  });

  it('a burst so rare that its next arrival lies past the exact-integer horizon ends the process', () => {
    // Found by the hostile-input property test: a 1 ms burst each hour at 0.001/h is 10^16 ms away.
    const spec: ArrivalSpec = { kind: 'burst', baseRatePerHour: 0, burstRatePerHour: 0.001, firstAtMs: 3_539_443, everyMs: 3_539_443, lengthMs: 1 };
    expect(takeArrivalsUntil(createArrivalProcess(spec, new Rng(1)), Infinity, 5)).toEqual([]);
  });

  it('rejects specs that should never have been settled', () => {
    const rng = new Rng(1);
    expect(() => createArrivalProcess({ kind: 'poisson', ratePerHour: -1 }, rng)).toThrow(RangeError);
    expect(() => createArrivalProcess({ kind: 'poisson', ratePerHour: Infinity }, rng)).toThrow(RangeError);
    expect(() => createArrivalProcess({ ...officeHours, widthMs: 0 }, rng)).toThrow(RangeError);
    expect(() => createArrivalProcess({ ...officeHours, peakAtMs: DAY_MS }, rng)).toThrow(RangeError);
    expect(() =>
      createArrivalProcess({ kind: 'burst', baseRatePerHour: 1, burstRatePerHour: 1, firstAtMs: 0, everyMs: 10, lengthMs: 11 }, rng),
    ).toThrow(RangeError);
  });

  it('ends at once when the rate is zero everywhere', () => {
    expect(createArrivalProcess({ kind: 'poisson', ratePerHour: 0 }, new Rng(1)).next()).toBeUndefined();
    expect(createArrivalProcess({ ...officeHours, peakPerHour: 0, nightPerHour: 0 }, new Rng(1)).next()).toBeUndefined();
  });
});

describe('poisson', () => {
  it('has about rate × time arrivals in a long window', () => {
    fc.assert(
      fc.property(fc.double({ min: 1, max: 20_000, noNaN: true }), fc.nat(), (ratePerHour, seed) => {
        const expected = 4_000;
        const windowMs = (expected / ratePerHour) * HOUR_MS;
        const arrivals = times({ kind: 'poisson', ratePerHour }, seed, windowMs);
        expectPoissonCount(arrivals.length, expected, `rate ${ratePerHour}/h`);
      }),
      { numRuns: 40 },
    );
  });

  it('has the exact long-run rate (a million arrivals: 5σ is 0.5%)', () => {
    const expected = 1_000_000;
    const arrivals = times({ kind: 'poisson', ratePerHour: 600 }, 31, (expected / 600) * HOUR_MS);
    expectPoissonCount(arrivals.length, expected, 'one million expected');
  });

  it('has exponential gaps (the share of gaps above the mean is e⁻¹)', () => {
    const arrivals = times({ kind: 'poisson', ratePerHour: 60 }, 7, 20_000 * HOUR_MS / 60);
    let above = 0;
    for (let i = 1; i < arrivals.length; i++) if (arrivals[i]! - arrivals[i - 1]! > 60_000) above++;
    const n = arrivals.length - 1;
    const p = Math.exp(-1);
    expect(Math.abs(above / n - p)).toBeLessThan(SIGMAS * Math.sqrt((p * (1 - p)) / n));
  });
});

describe('diurnal', () => {
  const tuesday = DAY_MS;
  const saturday = 5 * DAY_MS;

  it('peaks at peak_at on weekdays and is flat at night and on weekends', () => {
    expect(rateAt(officeHours, tuesday + 14 * HOUR_MS)).toBeCloseTo(600, 9);
    expect(rateAt(officeHours, tuesday + 14 * HOUR_MS + 2.5 * HOUR_MS)).toBeCloseTo(20 + 580 * Math.exp(-0.5), 9);
    expect(rateAt(officeHours, tuesday + 3 * HOUR_MS)).toBeLessThan(20.1);
    expect(rateAt(officeHours, saturday + 14 * HOUR_MS)).toBe(20);
    expect(rateAt(officeHours, saturday + DAY_MS + 14 * HOUR_MS)).toBe(20);
    expect(rateAt(officeHours, WEEK_MS + 14 * HOUR_MS)).toBeCloseTo(600, 9); // the next Monday
    expect(rateAt({ ...officeHours, weekends: false }, saturday + 14 * HOUR_MS)).toBeCloseTo(600, 9);
  });

  it('measures the bell from the nearest peak, across midnight', () => {
    const lateNight: Diurnal = { ...officeHours, peakAtMs: 23 * HOUR_MS, widthMs: 2 * HOUR_MS };
    const bell = (offsetHours: number): number => 20 + 580 * Math.exp(-0.5 * (offsetHours / 2) ** 2);
    // 00:30 on Wednesday is 1.5 h after Tuesday's 23:00 peak, not 22.5 h before Wednesday's.
    expect(rateAt(lateNight, 2 * DAY_MS + 0.5 * HOUR_MS)).toBeCloseTo(bell(1.5), 9);
    expect(rateAt(lateNight, tuesday + 22 * HOUR_MS)).toBeCloseTo(rateAt(lateNight, 2 * DAY_MS), 9);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: DAY_MS - 1 }), fc.integer({ min: -11 * HOUR_MS, max: 11 * HOUR_MS }), (peakAtMs, offsetMs) => {
        const spec = { ...officeHours, peakAtMs, weekends: false };
        const at = 3 * DAY_MS + peakAtMs + offsetMs;
        expect(rateAt(spec, at)).toBeCloseTo(20 + 580 * Math.exp(-0.5 * (offsetMs / spec.widthMs) ** 2), 9);
      }),
    );
  });

  it('follows rateAt hour by hour over the working week (chi-square and per hour)', () => {
    const weeks = 4;
    const arrivals = times(officeHours, 2024, weeks * WEEK_MS);
    let chiSquare = 0;
    let bins = 0;
    for (let hour = 0; hour < 5 * 24; hour++) {
      let observed = 0;
      for (let w = 0; w < weeks; w++) observed += countIn(arrivals, w * WEEK_MS + hour * HOUR_MS, w * WEEK_MS + (hour + 1) * HOUR_MS);
      const expected = weeks * expectedCount(officeHours, hour * HOUR_MS, (hour + 1) * HOUR_MS);
      expectPoissonCount(observed, expected, `weekday hour ${hour}`);
      chiSquare += (observed - expected) ** 2 / expected;
      bins++;
    }
    expect(chiSquare).toBeLessThan(chiSquareCritical(bins, 4.75)); // p ≈ 1e-6
    // And it is not trivially small: a wrong shape (say, a flat rate) would blow far past the bound.
    expect(chiSquare).toBeGreaterThan(chiSquareCritical(bins, -4.75));
  });

  it('is busy at the peak, quiet at night and at weekends', () => {
    const arrivals = times(officeHours, 99, WEEK_MS);
    const peakHour = countIn(arrivals, tuesday + 13.5 * HOUR_MS, tuesday + 14.5 * HOUR_MS);
    const nightHour = countIn(arrivals, tuesday + 2 * HOUR_MS, tuesday + 3 * HOUR_MS);
    expect(peakHour).toBeGreaterThan(10 * Math.max(nightHour, 1));
    const weekend = countIn(arrivals, saturday, WEEK_MS);
    expectPoissonCount(weekend, 48 * 20, 'weekend');
    const busyWeekday = countIn(arrivals, tuesday, tuesday + DAY_MS);
    expect(weekend).toBeLessThan(busyWeekday / 3);

    const everyDay = times({ ...officeHours, weekends: false }, 99, WEEK_MS);
    expect(countIn(everyDay, saturday + 13.5 * HOUR_MS, saturday + 14.5 * HOUR_MS)).toBeGreaterThan(400);
  });

  it('matches the integral of its rate over a fortnight, for any shape', () => {
    fc.assert(
      fc.property(
        fc.record({
          kind: fc.constant('diurnal' as const),
          peakPerHour: fc.double({ min: 100, max: 1_000, noNaN: true }),
          nightPerHour: fc.double({ min: 0, max: 200, noNaN: true }),
          peakAtMs: fc.integer({ min: 0, max: DAY_MS - 1 }),
          widthMs: fc.integer({ min: HOUR_MS / 2, max: 6 * HOUR_MS }),
          weekends: fc.boolean(),
        }),
        fc.nat(),
        (spec, seed) => {
          const horizonMs = 2 * WEEK_MS;
          const arrivals = times(spec, seed, horizonMs);
          let expected = 0;
          for (let day = 0; day < 14; day++) expected += expectedCount(spec, day * DAY_MS, (day + 1) * DAY_MS);
          expectPoissonCount(arrivals.length, expected, JSON.stringify(spec));
        },
      ),
      { numRuns: 20 },
    );
  });
});

describe('burst', () => {
  const bursty: Burst = {
    kind: 'burst',
    baseRatePerHour: 60,
    burstRatePerHour: 1_200,
    firstAtMs: 2 * HOUR_MS,
    everyMs: 6 * HOUR_MS,
    lengthMs: 30 * 60_000,
  };

  it('adds the burst rate exactly inside [first + k·every, + length)', () => {
    expect(rateAt(bursty, 0)).toBe(60);
    expect(rateAt(bursty, 2 * HOUR_MS - 1)).toBe(60);
    expect(rateAt(bursty, 2 * HOUR_MS)).toBe(1_260);
    expect(rateAt(bursty, 2.5 * HOUR_MS - 1)).toBe(1_260);
    expect(rateAt(bursty, 2.5 * HOUR_MS)).toBe(60);
    expect(rateAt(bursty, 8 * HOUR_MS)).toBe(1_260);
    expect(rateAt(bursty, 8 * HOUR_MS + 45 * 60_000)).toBe(60);
    expect(rateAt({ ...bursty, everyMs: Infinity }, 8 * HOUR_MS)).toBe(60);
  });

  it('puts the burst arrivals inside the windows and the base rate outside', () => {
    const days = 10;
    const arrivals = times(bursty, 5, days * DAY_MS);
    let inside = 0;
    let windowMs = 0;
    for (let start = bursty.firstAtMs; start < days * DAY_MS; start += bursty.everyMs) {
      inside += countIn(arrivals, start, start + bursty.lengthMs);
      windowMs += bursty.lengthMs;
    }
    expectPoissonCount(inside, (1_260 * windowMs) / HOUR_MS, 'inside bursts');
    expectPoissonCount(arrivals.length - inside, (60 * (days * DAY_MS - windowMs)) / HOUR_MS, 'outside bursts');
  });

  it('runs a single burst when every is Infinity, then ends if there is no base rate', () => {
    const once: Burst = { ...bursty, baseRatePerHour: 0, everyMs: Infinity };
    const arrivals = takeArrivalsUntil(createArrivalProcess(once, new Rng(3)), Infinity);
    expectPoissonCount(arrivals.length, 600, 'single burst');
    for (const a of arrivals) {
      expect(a.atMs).toBeGreaterThanOrEqual(once.firstAtMs);
      expect(a.atMs).toBeLessThanOrEqual(once.firstAtMs + once.lengthMs);
    }
  });

  it('matches the integral of its rate for any windows', () => {
    fc.assert(
      fc.property(
        fc.record({
          base: fc.double({ min: 0, max: 500, noNaN: true }),
          burst: fc.double({ min: 100, max: 5_000, noNaN: true }),
          firstAtMs: fc.integer({ min: 0, max: DAY_MS }),
          everyMs: fc.integer({ min: 60_000, max: DAY_MS }),
          lengthFraction: fc.double({ min: 0.05, max: 1, noNaN: true }),
        }),
        fc.nat(),
        ({ base, burst, firstAtMs, everyMs, lengthFraction }, seed) => {
          const spec: Burst = {
            kind: 'burst',
            baseRatePerHour: base,
            burstRatePerHour: burst,
            firstAtMs,
            everyMs,
            lengthMs: Math.round(everyMs * lengthFraction),
          };
          const horizonMs = 3 * DAY_MS;
          let windowMs = 0;
          for (let start = firstAtMs; start < horizonMs; start += everyMs) windowMs += Math.min(spec.lengthMs, horizonMs - start);
          const expected = (base * horizonMs + burst * windowMs) / HOUR_MS;
          expectPoissonCount(times(spec, seed, horizonMs).length, expected, JSON.stringify(spec));
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('trace', () => {
  it('replays the arrivals with their jobs, then ends', () => {
    const spec: ArrivalSpec = { kind: 'trace', arrivals: [{ atMs: 0 }, { atMs: 5, job: 2 }, { atMs: 5 }, { atMs: 90_000, job: 0 }] };
    const process = createArrivalProcess(spec, new Rng(1));
    expect([process.next(), process.next(), process.next(), process.next()]).toEqual([
      { atMs: 0 },
      { atMs: 5, job: 2 },
      { atMs: 5 },
      { atMs: 90_000, job: 0 },
    ]);
    expect(process.next()).toBeUndefined();
    expect(process.next()).toBeUndefined();
    expect(rateAt(spec, 1_000)).toBe(4);
    expect(rateAt(spec, HOUR_MS)).toBe(0);
  });

  it('throws on a trace out of order (the parser sorts nothing, so this is a programmer error)', () => {
    expect(() => createArrivalProcess({ kind: 'trace', arrivals: [{ atMs: 10 }, { atMs: 9 }] }, new Rng(1))).toThrow(/before the previous/);
    expect(() => createArrivalProcess({ kind: 'trace', arrivals: [{ atMs: 1.5 }] }, new Rng(1))).toThrow(RangeError);
  });
});
