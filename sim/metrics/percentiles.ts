import type { Percentiles } from '../report/types.ts';

/** A growable array of samples (ms) kept in a typed array so that half a million builds cost 4 MB. */
export class SampleSet {
  private data = new Float64Array(1024);
  private n = 0;

  get size(): number {
    return this.n;
  }

  add(value: number): void {
    if (this.n === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.n++] = value;
  }

  /** Mean and nearest-rank percentiles (p50, p95, p99) and max; all zero when empty. Rounded to whole ms. */
  percentiles(): Percentiles {
    if (this.n === 0) return { mean: 0, p50: 0, p95: 0, p99: 0, max: 0 };
    const sorted = this.data.slice(0, this.n).sort();
    let sum = 0;
    for (let i = 0; i < this.n; i++) sum += sorted[i]!;
    const rank = (p: number) => sorted[Math.min(this.n - 1, Math.max(0, Math.ceil(p * this.n) - 1))]!;
    return { mean: Math.round(sum / this.n), p50: Math.round(rank(0.5)), p95: Math.round(rank(0.95)), p99: Math.round(rank(0.99)), max: Math.round(sorted[this.n - 1]!) };
  }
}
