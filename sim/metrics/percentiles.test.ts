import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SampleSet } from './percentiles.ts';

/** What `percentiles` must equal: the mean over the sorted samples and nearest-rank percentiles. */
function bySorting(samples: readonly number[]) {
  const n = samples.length;
  if (n === 0) return { mean: 0, p50: 0, p95: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const rank = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]!;
  return { mean: Math.round(sum / n), p50: Math.round(rank(0.5)), p95: Math.round(rank(0.95)), p99: Math.round(rank(0.99)), max: Math.round(sorted[n - 1]!) };
}

function percentilesOf(samples: readonly number[]) {
  const s = new SampleSet();
  for (const v of samples) s.add(v);
  return s.percentiles();
}

describe('SampleSet', () => {
  it('gives what sorting gives, for whole-ms samples (selection) and others (sorting)', () => {
    const wholeMs = fc.array(fc.integer({ min: -5_000, max: 5_000 }), { maxLength: 2_000 });
    const fractional = fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 500 });
    fc.assert(
      fc.property(fc.oneof(wholeMs, fractional), (samples) => {
        expect(percentilesOf(samples)).toEqual(bySorting(samples));
      }),
    );
  });

  it('handles long runs of equal and sorted samples', () => {
    for (const samples of [new Array<number>(10_000).fill(42), Array.from({ length: 10_000 }, (_, i) => i), Array.from({ length: 10_000 }, (_, i) => 10_000 - i)]) {
      expect(percentilesOf(samples)).toEqual(bySorting(samples));
    }
  });
});
