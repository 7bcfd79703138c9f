import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.ts';
import { createDurationSampler, lognormalParameters, meanDurationMs, sampleDurationMs, Z_95 } from './durations.ts';
import type { DurationSpec } from './types.ts';

/*
 * Tolerances: a share of n independent samples below a threshold has standard deviation √(p(1−p)/n) and a
 * sample mean has σ/√n; both are accepted within 5 standard deviations (a correct sampler fails a check
 * with probability below 1e-6). Medians start at one minute so that rounding to whole ms moves the
 * shares by less than 1e-4, far inside the tolerance.
 */
const SIGMAS = 5;
const N = 20_000;

const draw = (spec: DurationSpec, seed: number, n = N): number[] => {
  const sample = createDurationSampler(spec);
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => sample(rng));
};
const shareAtOrBelow = (xs: readonly number[], t: number): number => xs.filter((x) => x <= t).length / xs.length;
const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

const arbitrarySpec: fc.Arbitrary<DurationSpec> = fc.oneof(
  fc.record({ kind: fc.constant('fixed' as const), ms: fc.double({ min: 0, max: 1e9, noNaN: true }) }),
  fc
    .record({ medianMs: fc.double({ min: 0.001, max: 1e8, noNaN: true }), ratio: fc.double({ min: 1, max: 50, noNaN: true }) })
    .map(({ medianMs, ratio }) => ({ kind: 'lognormal' as const, medianMs, p95Ms: medianMs * ratio })),
  fc.record({ kind: fc.constant('exponential' as const), meanMs: fc.double({ min: 0.001, max: 1e8, noNaN: true }) }),
  fc
    .record({ minMs: fc.double({ min: 0, max: 1e8, noNaN: true }), spanMs: fc.double({ min: 0, max: 1e8, noNaN: true }) })
    .map(({ minMs, spanMs }) => ({ kind: 'uniform' as const, minMs, maxMs: minMs + spanMs })),
);

describe('sampleDurationMs', () => {
  it('always gives an integer number of ms, at least 1', () => {
    fc.assert(
      fc.property(arbitrarySpec, fc.nat(), (spec, seed) => {
        const bad = draw(spec, seed, 200).filter((ms) => !Number.isSafeInteger(ms) || ms < 1);
        expect(bad).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('is the same draw as a prepared sampler, and deterministic per seed', () => {
    fc.assert(
      fc.property(arbitrarySpec, fc.nat(), (spec, seed) => {
        const a = new Rng(seed);
        const b = new Rng(seed);
        const sampler = createDurationSampler(spec);
        for (let i = 0; i < 20; i++) expect(sampleDurationMs(spec, a)).toBe(sampler(b));
      }),
    );
  });

  it('fixed is exact', () => {
    expect(sampleDurationMs({ kind: 'fixed', ms: 300_000 }, new Rng(1))).toBe(300_000);
    expect(sampleDurationMs({ kind: 'fixed', ms: 0 }, new Rng(1))).toBe(1);
  });

  it('lognormal has the spec median and p95', () => {
    fc.assert(
      fc.property(fc.integer({ min: 60_000, max: 4 * 3_600_000 }), fc.double({ min: 1.1, max: 20, noNaN: true }), fc.nat(), (medianMs, ratio, seed) => {
        const p95Ms = Math.round(medianMs * ratio);
        const xs = draw({ kind: 'lognormal', medianMs, p95Ms }, seed);
        expect(Math.abs(shareAtOrBelow(xs, medianMs) - 0.5)).toBeLessThan(SIGMAS * Math.sqrt(0.25 / N));
        expect(Math.abs(shareAtOrBelow(xs, p95Ms) - 0.95)).toBeLessThan(SIGMAS * Math.sqrt((0.95 * 0.05) / N));
      }),
      { numRuns: 30 },
    );
  });

  it('lognormal parameters follow σ = ln(p95/median)/Φ⁻¹(0.95)', () => {
    const { mu, sigma } = lognormalParameters(480_000, 1_200_000); // the DESIGN example: median 8m, p95 20m
    expect(mu).toBeCloseTo(Math.log(480_000), 12);
    expect(sigma).toBeCloseTo(Math.log(2.5) / 1.6448536269514722, 12);
    expect(Z_95).toBeCloseTo(1.6448536269514722, 15);
    expect(meanDurationMs({ kind: 'lognormal', medianMs: 480_000, p95Ms: 1_200_000 })).toBeCloseTo(Math.exp(mu + sigma ** 2 / 2), 6);
    // A zero-spread lognormal is the fixed duration.
    expect(sampleDurationMs({ kind: 'lognormal', medianMs: 5_000, p95Ms: 5_000 }, new Rng(3))).toBe(5_000);
  });

  it('exponential has the spec mean and an e⁻¹ share above it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1_000, max: 3_600_000 }), fc.nat(), (meanMs, seed) => {
        const xs = draw({ kind: 'exponential', meanMs }, seed);
        expect(Math.abs(mean(xs) - meanMs)).toBeLessThan(SIGMAS * (meanMs / Math.sqrt(N)) + 1);
        const p = Math.exp(-1);
        expect(Math.abs(1 - shareAtOrBelow(xs, meanMs) - p)).toBeLessThan(SIGMAS * Math.sqrt((p * (1 - p)) / N));
      }),
      { numRuns: 30 },
    );
  });

  it('uniform stays in [min, max] with the middle as mean', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3_600_000 }), fc.integer({ min: 1, max: 3_600_000 }), fc.nat(), (minMs, spanMs, seed) => {
        const maxMs = minMs + spanMs;
        const xs = draw({ kind: 'uniform', minMs, maxMs }, seed);
        expect(xs.filter((x) => x < minMs || x > maxMs)).toEqual([]);
        expect(Math.abs(mean(xs) - (minMs + maxMs) / 2)).toBeLessThan(SIGMAS * (spanMs / Math.sqrt(12 * N)) + 1);
      }),
      { numRuns: 30 },
    );
  });

  it('rejects specs that should never have been settled', () => {
    const rng = new Rng(1);
    expect(() => sampleDurationMs({ kind: 'lognormal', medianMs: 10, p95Ms: 5 }, rng)).toThrow(RangeError);
    expect(() => sampleDurationMs({ kind: 'lognormal', medianMs: 0, p95Ms: 5 }, rng)).toThrow(RangeError);
    expect(() => sampleDurationMs({ kind: 'exponential', meanMs: -1 }, rng)).toThrow(RangeError);
    expect(() => sampleDurationMs({ kind: 'uniform', minMs: 10, maxMs: 5 }, rng)).toThrow(RangeError);
    expect(() => sampleDurationMs({ kind: 'fixed', ms: Number.NaN }, rng)).toThrow(RangeError);
  });
});
