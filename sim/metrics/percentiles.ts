import type { Percentiles } from '../report/types.ts';

/** A growable array of samples (ms) kept in a typed array so that half a million builds cost 4 MB. */
export class SampleSet {
  private data = new Float64Array(1024);
  private n = 0;
  /** Every sample so far is a whole number, and the sum of their magnitudes (see `percentiles`). */
  private integral = true;
  private absSum = 0;

  get size(): number {
    return this.n;
  }

  /** The `i`-th sample added (0-based), for readers that follow the set as it grows. */
  at(i: number): number {
    if (!(i >= 0 && i < this.n)) throw new Error(`sample ${i} out of range 0..${this.n - 1}`);
    return this.data[i]!;
  }

  add(value: number): void {
    if (this.n === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.n++] = value;
    if (!Number.isInteger(value)) this.integral = false;
    this.absSum += Math.abs(value);
  }

  /** Mean and nearest-rank percentiles (p50, p95, p99) and max; all zero when empty. Rounded to whole ms. */
  percentiles(): Percentiles {
    const n = this.n;
    if (n === 0) return { mean: 0, p50: 0, p95: 0, p99: 0, max: 0 };
    const rankIndex = (p: number) => Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1));
    const values = this.data.slice(0, n);
    // Whole numbers whose magnitudes sum to a safe integer add up exactly in any order, so three selections
    // (O(n) each) give what sorting would; other samples are sorted, so that the sum is taken in sorted order.
    if (!this.integral || this.absSum > Number.MAX_SAFE_INTEGER) {
      const sorted = values.sort();
      let sum = 0;
      for (let i = 0; i < n; i++) sum += sorted[i]!;
      return { mean: Math.round(sum / n), p50: Math.round(sorted[rankIndex(0.5)]!), p95: Math.round(sorted[rankIndex(0.95)]!), p99: Math.round(sorted[rankIndex(0.99)]!), max: Math.round(sorted[n - 1]!) };
    }
    let sum = 0;
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      sum += v;
      if (v > max) max = v;
    }
    // Each selection leaves the smaller values before its rank, so the next, lower rank is sought among them.
    const k99 = rankIndex(0.99);
    const k95 = rankIndex(0.95);
    const k50 = rankIndex(0.5);
    const p99 = selectInPlace(values, k99, 0, n - 1);
    const p95 = selectInPlace(values, k95, 0, k99);
    const p50 = selectInPlace(values, k50, 0, k95);
    return { mean: Math.round(sum / n), p50: Math.round(p50), p95: Math.round(p95), p99: Math.round(p99), max: Math.round(max) };
  }
}

/**
 * Hoare's selection: rearranges `a[lo..hi]` so that `a[k]` holds the value it would hold if that range were
 * sorted, with no larger value before it and no smaller one after, and returns it. Expected O(hi − lo); every
 * pass shrinks the range, and the median-of-three pivot keeps sorted and constant inputs linear.
 */
function selectInPlace(a: Float64Array, k: number, lo: number, hi: number): number {
  while (lo < hi) {
    const x = a[lo]!;
    const y = a[(lo + hi) >>> 1]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    // Now a[lo..j] ≤ pivot ≤ a[i..hi], and everything strictly between j and i equals the pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}
