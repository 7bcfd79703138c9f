import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { interval95, tQuantile975 } from './stats.ts';

describe('tQuantile975', () => {
  it('matches the tables at 1, 2, 10, 30 and the expansion past them', () => {
    expect(tQuantile975(1)).toBe(12.706);
    expect(tQuantile975(2)).toBe(4.303);
    expect(tQuantile975(10)).toBe(2.228);
    expect(tQuantile975(30)).toBe(2.042);
    // Table values: 40 → 2.021, 60 → 2.000, 120 → 1.980; the normal's 1.960 in the limit.
    expect(tQuantile975(40)).toBeCloseTo(2.021, 3);
    expect(tQuantile975(60)).toBeCloseTo(2.0, 3);
    expect(tQuantile975(120)).toBeCloseTo(1.98, 3);
    expect(tQuantile975(1e6)).toBeCloseTo(1.96, 3);
    expect(() => tQuantile975(0)).toThrow(RangeError);
  });

  it('falls as the degrees of freedom rise', () => {
    for (let df = 1; df < 200; df++) expect(tQuantile975(df + 1)).toBeLessThan(tQuantile975(df));
  });
});

describe('interval95', () => {
  it('is the mean ± t·s/√n', () => {
    const i = interval95([1, 2, 3]);
    expect(i.mean).toBe(2);
    expect(i.half_width).toBeCloseTo((4.303 * 1) / Math.sqrt(3), 10);
    expect(i.low).toBeCloseTo(2 - i.half_width, 10);
    expect(i.high).toBeCloseTo(2 + i.half_width, 10);
    expect(i.n).toBe(3);
    expect(interval95([5])).toEqual({ mean: 5, half_width: 0, low: 5, high: 5, n: 1 });
    expect(interval95([7, 7, 7]).half_width).toBe(0);
    expect(() => interval95([])).toThrow(RangeError);
  });

  it('covers the true mean about 95% of the time (normal samples of 5)', () => {
    // A deterministic stream of normals (Box-Muller over a small LCG): 4000 intervals of 5 samples each.
    let state = 12345;
    const uniform = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) + 0.5) / 2 ** 32;
    const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    let covered = 0;
    const trials = 4000;
    for (let t = 0; t < trials; t++) {
      const i = interval95(Array.from({ length: 5 }, () => 10 + 3 * normal()));
      if (i.low <= 10 && 10 <= i.high) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.93);
    expect(covered / trials).toBeLessThan(0.97);
  });

  it('always holds its mean, and a spread of values widens it', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 2, maxLength: 30 }), (xs) => {
        const i = interval95(xs);
        expect(i.low).toBeLessThanOrEqual(i.mean + 1e-6);
        expect(i.high).toBeGreaterThanOrEqual(i.mean - 1e-6);
        expect(i.half_width).toBeGreaterThanOrEqual(0);
      }),
    );
  });
});
