import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  erlangB,
  erlangC,
  littlesLawArrivalsPerHour,
  littlesLawMeanNumber,
  littlesLawMeanTimeMs,
  mmcIsStable,
  mmcMeanQueueLength,
  mmcMeanWaitMs,
  mmcUtilisation,
  mmcWaitExceedance,
  mmcWaitQuantileMs,
  offeredLoadErlangs,
} from './erlang.ts';

/** Erlang C from its textbook definition, in log space: fine for small c, used as an independent reference. */
function erlangCDirect(c: number, a: number): number {
  const logTerm = (k: number): number => k * Math.log(a) - logFactorial(k);
  const logFactorial = (k: number): number => {
    let s = 0;
    for (let i = 2; i <= k; i++) s += Math.log(i);
    return s;
  };
  let sum = 0;
  for (let k = 0; k < c; k++) sum += Math.exp(logTerm(k));
  const top = Math.exp(logTerm(c)) * (c / (c - a));
  return top / (sum + top);
}

describe('Erlang B and C', () => {
  it('matches hand-computed values', () => {
    expect(erlangB(1, 1)).toBeCloseTo(0.5, 12);
    expect(erlangB(2, 1)).toBeCloseTo(0.2, 12); // (1/2) / (1 + 1 + 1/2)
    expect(erlangC(2, 1)).toBeCloseTo(1 / 3, 12);
    expect(erlangC(10, 8)).toBeCloseTo(0.409177, 5); // the classic call-centre table value
  });

  it('reduces to ρ for one server (M/M/1)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 0.999, noNaN: true }), (rho) => {
        expect(erlangC(1, rho)).toBeCloseTo(rho, 12);
      }),
    );
  });

  it('agrees with the textbook formula and stays in [B, 1]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), (c, rho) => {
        const a = rho * c;
        const value = erlangC(c, a);
        expect(value).toBeGreaterThanOrEqual(erlangB(c, a));
        expect(value).toBeLessThanOrEqual(1);
        expect(Math.abs(value - erlangCDirect(c, a))).toBeLessThan(1e-9);
      }),
    );
  });

  it('is numerically stable for very large systems', () => {
    const value = erlangC(5_000, 4_900);
    expect(Number.isFinite(value)).toBe(true);
    expect(value).toBeGreaterThan(0);
    expect(value).toBeLessThan(1);
    // More servers at the same load never make waiting likelier.
    expect(erlangC(5_001, 4_900)).toBeLessThan(value);
  });

  it('rejects nonsense inputs', () => {
    expect(() => erlangC(0, 1)).toThrow(RangeError);
    expect(() => erlangC(2.5, 1)).toThrow(RangeError);
    expect(() => erlangB(3, -1)).toThrow(RangeError);
    expect(() => erlangB(3, Number.NaN)).toThrow(RangeError);
  });
});

describe('M/M/c formulas', () => {
  const hourMs = 3_600_000;

  it('gives the M/M/1 mean wait ρ/(1−ρ)·E[S]', () => {
    const p = { servers: 1, arrivalsPerHour: 3, meanServiceMs: 600_000 }; // ρ = 0.5
    expect(mmcUtilisation(p)).toBeCloseTo(0.5, 12);
    expect(mmcMeanWaitMs(p)).toBeCloseTo(600_000, 6);
    expect(mmcMeanQueueLength(p)).toBeCloseTo(0.5, 12);
    expect(offeredLoadErlangs(p)).toBeCloseTo(0.5, 12);
  });

  it('has a wait distribution consistent with its mean and quantiles', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 80 }), fc.double({ min: 0.05, max: 0.98, noNaN: true }), (c, rho) => {
        const meanServiceMs = 300_000;
        const p = { servers: c, arrivalsPerHour: (rho * c * hourMs) / meanServiceMs, meanServiceMs };
        const waitProbability = erlangC(c, rho * c);
        expect(mmcWaitExceedance(p, 0)).toBeCloseTo(waitProbability, 12);
        // The mean is the integral of the tail: C · E[S] / (c − a).
        expect(mmcMeanWaitMs(p)).toBeCloseTo((waitProbability * meanServiceMs) / (c - rho * c), 3);
        for (const q of [0.5, 0.9, 0.95, 0.99]) {
          const t = mmcWaitQuantileMs(p, q);
          if (t > 0) expect(mmcWaitExceedance(p, t)).toBeCloseTo(1 - q, 9);
          else expect(waitProbability).toBeLessThanOrEqual(1 - q + 1e-12);
        }
      }),
    );
  });

  // Unstable systems are answers, not errors: Infinity sorts last in a tuning sweep and compares false with
  // any finite target, so callers need no try/catch. Only meaningless inputs throw.
  it('reports an unstable system (ρ ≥ 1) as an infinite wait', () => {
    for (const rho of [1, 1.0001, 1.5, 10]) {
      const p = { servers: 4, arrivalsPerHour: (rho * 4 * hourMs) / 60_000, meanServiceMs: 60_000 };
      expect(mmcIsStable(p)).toBe(false);
      expect(mmcMeanWaitMs(p)).toBe(Infinity);
      expect(mmcMeanQueueLength(p)).toBe(Infinity);
      expect(mmcWaitQuantileMs(p, 0.95)).toBe(Infinity);
      expect(mmcWaitExceedance(p, 1e9)).toBe(1);
      expect(erlangC(4, rho * 4)).toBe(1);
    }
    expect(mmcIsStable({ servers: 4, arrivalsPerHour: 239, meanServiceMs: 60_000 })).toBe(true);
    expect(() => mmcMeanWaitMs({ servers: 4, arrivalsPerHour: -1, meanServiceMs: 60_000 })).toThrow(RangeError);
    expect(() => mmcMeanWaitMs({ servers: 4, arrivalsPerHour: 1, meanServiceMs: 0 })).toThrow(RangeError);
  });
});

describe("Little's law", () => {
  it('round-trips between L, λ and W', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.1, max: 1e6, noNaN: true }), fc.double({ min: 1, max: 1e9, noNaN: true }), (arrivalsPerHour, meanTimeMs) => {
        const meanNumber = littlesLawMeanNumber({ arrivalsPerHour, meanTimeMs });
        expect(littlesLawMeanTimeMs({ arrivalsPerHour, meanNumber })).toBeCloseTo(meanTimeMs, 3);
        expect(littlesLawArrivalsPerHour({ meanNumber, meanTimeMs }) / arrivalsPerHour).toBeCloseTo(1, 12);
      }),
    );
    expect(littlesLawMeanNumber({ arrivalsPerHour: 60, meanTimeMs: 120_000 })).toBeCloseTo(2, 12);
  });
});
