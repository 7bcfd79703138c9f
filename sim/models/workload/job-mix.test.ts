import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.ts';
import { JobMix } from './job-mix.ts';
import type { JobTemplate } from './types.ts';

const template = (weight: number, resourceClass = 'medium'): JobTemplate => ({
  weight,
  executor: 'docker',
  resourceClass,
  duration: { kind: 'fixed', ms: 300_000 },
  parallelism: 1,
  usesContexts: false,
  workflowJobs: 1,
  failureRate: 0,
  artifacts: 0,
  testResults: false,
});

describe('JobMix', () => {
  it('draws each template in proportion to its weight (within 5σ of the binomial count)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 6 }), fc.nat(), (weights, seed) => {
        const mix = new JobMix(weights.map((w) => template(w)));
        const rng = new Rng(seed);
        const n = 20_000;
        const counts = new Array<number>(weights.length).fill(0);
        for (let i = 0; i < n; i++) counts[mix.pickIndex(rng)]!++;
        counts.forEach((count, i) => {
          const p = mix.shareOf(i);
          expect(Math.abs(count - n * p)).toBeLessThanOrEqual(5 * Math.sqrt(n * p * (1 - p)) + 1);
        });
      }),
      { numRuns: 30 },
    );
  });

  it('never draws a template of weight 0, which only a trace can name', () => {
    const mix = new JobMix([template(0), template(3), template(0)]);
    const rng = new Rng(4);
    for (let i = 0; i < 5_000; i++) expect(mix.pickIndex(rng)).toBe(1);
    expect(mix.indexFor(2, rng)).toBe(2);
    expect(mix.indexFor(undefined, rng)).toBe(1);
    expect(() => mix.indexFor(3, rng)).toThrow(RangeError);
  });

  it('rejects weights without a positive total, and bad weights', () => {
    expect(() => new JobMix([])).toThrow(RangeError);
    expect(() => new JobMix([template(0), template(0)])).toThrow(/positive total/);
    expect(() => new JobMix([template(-1), template(2)])).toThrow(RangeError);
    expect(() => new JobMix([template(Number.NaN)])).toThrow(RangeError);
    expect(() => new JobMix([template(Infinity)])).toThrow(RangeError);
  });

  it('is deterministic per seed', () => {
    const mix = new JobMix([template(8), template(1), template(1)]);
    const picks = (seed: number): number[] => {
      const rng = new Rng(seed).fork('job-mix');
      return Array.from({ length: 100 }, () => mix.pickIndex(rng));
    };
    expect(picks(42)).toEqual(picks(42));
    expect(picks(42)).not.toEqual(picks(43));
  });
});
