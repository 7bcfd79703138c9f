import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BINPACK_MAX_FIT_SCORE, finalScore, jobAntiAffinityPenalty, scoreFitBinPack, scoreFitSpread } from './rank.ts';

describe('fit scores (Nomad ScoreFitBinPack / ScoreFitSpread)', () => {
  it('bin-packing scores a full node 18 and an empty one 0; spread the opposite', () => {
    expect(scoreFitBinPack(0, 0)).toBe(18);
    expect(scoreFitBinPack(1, 1)).toBe(0);
    expect(scoreFitSpread(0, 0)).toBe(0);
    expect(scoreFitSpread(1, 1)).toBe(18);
    expect(BINPACK_MAX_FIT_SCORE).toBe(18);
  });

  it('is 20 − (10^cpu + 10^mem) on free fractions', () => {
    expect(scoreFitBinPack(0.5, 0.25)).toBeCloseTo(20 - (10 ** 0.5 + 10 ** 0.25), 12);
    expect(scoreFitSpread(0.5, 0.25)).toBeCloseTo(10 ** 0.5 + 10 ** 0.25 - 2, 12);
  });

  it('bin-packing rises as a node fills, spread falls, and both stay in [0, 18]', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (c, m, d) => {
        const fuller = [Math.max(0, c - d), m] as const;
        expect(scoreFitBinPack(...fuller)).toBeGreaterThanOrEqual(scoreFitBinPack(c, m) - 1e-12);
        expect(scoreFitSpread(...fuller)).toBeLessThanOrEqual(scoreFitSpread(c, m) + 1e-12);
        for (const v of [scoreFitBinPack(c, m), scoreFitSpread(c, m)]) {
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThanOrEqual(18);
        }
      }),
    );
  });
});

describe('job anti-affinity and normalisation', () => {
  it('penalises −(collisions + 1) / count, only with collisions', () => {
    expect(jobAntiAffinityPenalty(0, 4)).toBeNull();
    expect(jobAntiAffinityPenalty(1, 4)).toBe(-0.5);
    expect(jobAntiAffinityPenalty(3, 4)).toBe(-1);
  });

  it('averages the scores a node received', () => {
    expect(finalScore(0.6, 0, 10)).toBe(0.6);
    expect(finalScore(0.6, 1, 10)).toBeCloseTo((0.6 - 0.2) / 2, 12);
  });
});
