/**
 * Student's t quantiles for a two-sided 95% interval (the 0.975 quantile) by degrees of freedom 1-30, from the
 * standard tables; past 30 the Cornish-Fisher expansion below is within 0.001 of the table.
 */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06,
  2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The 0.975 quantile of Student's t with `df` degrees of freedom (df ≥ 1). */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`degrees of freedom must be a whole number ≥ 1, got ${df}`);
  if (df <= T975.length) return T975[df - 1]!;
  // Cornish-Fisher expansion of t around the normal quantile z (Abramowitz & Stegun 26.7.5).
  const z = 1.959964;
  const g1 = (z ** 3 + z) / 4;
  const g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96;
  const g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384;
  return z + g1 / df + g2 / df ** 2 + g3 / df ** 3;
}

/** A mean with its 95% confidence interval across replications (Student t); without a spread when n is 1. */
export interface Interval {
  mean: number;
  /** Half the interval's width: the mean ± this; 0 when n is 1 (no interval from one run). */
  half_width: number;
  low: number;
  high: number;
  n: number;
}

/** Mean and 95% interval of `values` (at least one). */
export function interval95(values: readonly number[]): Interval {
  const n = values.length;
  if (n === 0) throw new RangeError('an interval needs at least one value');
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  if (n === 1) return { mean, half_width: 0, low: mean, high: mean, n };
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  const sd = Math.sqrt(ss / (n - 1));
  const half = (tQuantile975(n - 1) * sd) / Math.sqrt(n);
  return { mean, half_width: half, low: mean - half, high: mean + half, n };
}
