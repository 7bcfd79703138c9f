/**
 * CloudWatch's metric store, pure: metrics named by namespace, name and dimensions; datapoints as single values,
 * value/count arrays or statistic sets; statistics over periods (`GetMetricStatistics`) and the metrics listed by
 * a filter (`ListMetrics`). It is the metric source of the twin's Auto Scaling endpoint, whose target-tracking
 * policies (`tracking-scaler.ts`) read one minute of it at a time. Refusals are `MetricError`s with CloudWatch's
 * codes; the harness (`harness/ec2/cloudwatch-actions.ts`) parses the wire formats and renders the answers.
 */

/** A call the store refuses, as CloudWatch names it (`InvalidParameterValue`, `InvalidParameterCombination`, ...). */
export class MetricError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

export interface Dimension {
  readonly name: string;
  readonly value: string;
}

/** A metric's identity. */
export interface MetricId {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: readonly Dimension[];
}

/** Samples summarised: what one datapoint of any form adds to a period. */
export interface StatisticSet {
  sampleCount: number;
  sum: number;
  minimum: number;
  maximum: number;
}

export const STATISTICS = ['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum'] as const;
export type Statistic = (typeof STATISTICS)[number];

export interface PutDatum {
  readonly metricName: string;
  readonly dimensions: readonly Dimension[];
  /** Epoch ms; the store's time when left out. */
  readonly timestampMs: number | undefined;
  readonly unit: string | undefined;
  /** Exactly one of `value`, `values` (with `counts`) or `statisticValues`. */
  readonly value?: number | undefined;
  readonly values?: readonly number[] | undefined;
  readonly counts?: readonly number[] | undefined;
  readonly statisticValues?: StatisticSet | undefined;
}

export interface StatisticsQuery extends MetricId {
  readonly startMs: number;
  readonly endMs: number;
  readonly periodS: number;
  readonly statistics: readonly Statistic[];
  readonly unit: string | undefined;
}

export interface Datapoint {
  readonly timestampMs: number;
  readonly unit: string;
  readonly values: Partial<Record<Statistic, number>>;
}

interface Point extends StatisticSet {
  readonly atMs: number;
  readonly unit: string;
}

interface Series {
  readonly id: MetricId;
  /** In time order. */
  readonly points: Point[];
}

/** CloudWatch's limits (PutMetricData and GetMetricStatistics), as its documentation gives them. */
export const METRIC_LIMITS = {
  datumsPerPut: 1000,
  dimensionsPerMetric: 30,
  valuesPerDatum: 150,
  datapointsPerQuery: 1440,
  /** Datapoints are accepted up to two weeks old and two hours ahead. */
  pastMs: 14 * 24 * 3_600_000,
  futureMs: 2 * 3_600_000,
  /** Points kept per metric (the oldest are dropped), so a long-running endpoint stays bounded. */
  pointsPerMetric: 100_000,
} as const;

const UNITS = new Set([
  'Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes', 'Bits', 'Kilobits', 'Megabits', 'Gigabits',
  'Terabits', 'Percent', 'Count', 'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second', 'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second',
  'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second', 'Terabits/Second', 'Count/Second', 'None',
]);

function invalid(parameter: string, value: string): MetricError {
  return new MetricError('InvalidParameterValue', `The value ${value} for parameter ${parameter} is invalid.`);
}

function key(id: MetricId): string {
  const dims = [...id.dimensions].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return JSON.stringify([id.namespace, id.metricName, dims.map((d) => [d.name, d.value])]);
}

export class MetricStore {
  private readonly series = new Map<string, Series>();

  constructor(private readonly now: () => number) {}

  /**
   * PutMetricData. `internal` is the twin's own publisher (the `AWS/` namespaces, which CloudWatch keeps for AWS's
   * services and refuses from callers). Validates every datum before storing any, so a refused call stores nothing.
   */
  put(namespace: string, data: readonly PutDatum[], internal = false): void {
    if (namespace === '' || namespace.length > 255) throw invalid('Namespace', namespace);
    if (!internal && namespace.startsWith('AWS/')) {
      throw new MetricError('InvalidParameterValue', `The value ${namespace} for parameter Namespace is invalid: namespaces beginning with AWS/ are reserved for AWS's own services; publish custom metrics under your own namespace (CircleCI/Nomad, say).`);
    }
    if (data.length === 0) throw new MetricError('MissingParameter', 'The parameter MetricData is required.');
    if (data.length > METRIC_LIMITS.datumsPerPut) throw invalid('MetricData', `of ${data.length} items (at most ${METRIC_LIMITS.datumsPerPut})`);
    const now = this.now();
    const ready = data.map((d, i) => {
      const where = `MetricData.member.${i + 1}`;
      if (d.metricName === '' || d.metricName.length > 255) throw invalid(`${where}.MetricName`, d.metricName);
      checkDimensions(d.dimensions, `${where}.Dimensions`);
      if (d.unit !== undefined && !UNITS.has(d.unit)) throw invalid(`${where}.Unit`, d.unit);
      const atMs = d.timestampMs ?? now;
      if (atMs < now - METRIC_LIMITS.pastMs || atMs > now + METRIC_LIMITS.futureMs) {
        throw new MetricError('InvalidParameterValue', `The parameter ${where}.Timestamp must specify a time no more than two weeks in the past and no more than two hours in the future.`);
      }
      return { id: { namespace, metricName: d.metricName, dimensions: d.dimensions }, point: { atMs, unit: d.unit ?? 'None', ...summarise(d, where) } };
    });
    for (const { id, point } of ready) {
      const k = key(id);
      let s = this.series.get(k);
      if (s === undefined) this.series.set(k, (s = { id, points: [] }));
      let i = s.points.length;
      while (i > 0 && s.points[i - 1]!.atMs > point.atMs) i--;
      s.points.splice(i, 0, point);
      if (s.points.length > METRIC_LIMITS.pointsPerMetric) s.points.splice(0, s.points.length - METRIC_LIMITS.pointsPerMetric);
    }
  }

  /** GetMetricStatistics: one datapoint per period with any sample, oldest first. */
  statistics(q: StatisticsQuery): Datapoint[] {
    if (!(q.startMs < q.endMs)) throw new MetricError('InvalidParameterValue', 'The parameter StartTime must be less than the parameter EndTime.');
    if (!(q.periodS === 1 || q.periodS === 5 || q.periodS === 10 || q.periodS === 30 || (Number.isInteger(q.periodS) && q.periodS >= 60 && q.periodS % 60 === 0))) {
      throw new MetricError('InvalidParameterValue', `The parameter Period must be 1, 5, 10, 30 or a multiple of 60, got ${q.periodS}.`);
    }
    if (q.statistics.length === 0) throw new MetricError('MissingParameter', 'The parameter Statistics is required (one or more of SampleCount, Average, Sum, Minimum, Maximum).');
    checkDimensions(q.dimensions, 'Dimensions');
    const periodMs = q.periodS * 1000;
    const buckets = Math.ceil((q.endMs - q.startMs) / periodMs);
    if (buckets > METRIC_LIMITS.datapointsPerQuery) {
      throw new MetricError(
        'InvalidParameterCombination',
        `You have requested up to ${buckets} datapoints, which exceeds the limit of ${METRIC_LIMITS.datapointsPerQuery}. You may reduce the datapoints requested by increasing Period, or decreasing the time range.`,
      );
    }
    const s = this.series.get(key(q));
    if (s === undefined) return [];
    const sums = new Map<number, { set: StatisticSet; unit: string }>();
    for (const p of s.points) {
      if (p.atMs < q.startMs || p.atMs >= q.endMs) continue;
      if (q.unit !== undefined && p.unit !== q.unit) continue;
      const at = q.startMs + Math.floor((p.atMs - q.startMs) / periodMs) * periodMs;
      const b = sums.get(at);
      if (b === undefined) sums.set(at, { set: { sampleCount: p.sampleCount, sum: p.sum, minimum: p.minimum, maximum: p.maximum }, unit: p.unit });
      else merge(b.set, p);
    }
    return [...sums.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([timestampMs, b]) => ({ timestampMs, unit: b.unit, values: Object.fromEntries(q.statistics.map((st) => [st, statisticOf(b.set, st)])) }));
  }

  /** One statistic of the samples of `id` at times in [startMs, endMs); undefined without any (INSUFFICIENT_DATA). */
  statistic(id: MetricId, startMs: number, endMs: number, statistic: Statistic): number | undefined {
    const s = this.series.get(key(id));
    if (s === undefined) return undefined;
    let set: StatisticSet | undefined;
    for (const p of s.points) {
      if (p.atMs < startMs || p.atMs >= endMs) continue;
      if (set === undefined) set = { sampleCount: p.sampleCount, sum: p.sum, minimum: p.minimum, maximum: p.maximum };
      else merge(set, p);
    }
    return set === undefined ? undefined : statisticOf(set, statistic);
  }

  /**
   * ListMetrics: the metrics matching the namespace, the name and every dimension filter (a filter without a
   * value matches any value), in a stable order (namespace, name, dimensions).
   */
  list(filter: { namespace?: string | undefined; metricName?: string | undefined; dimensions: readonly { name: string; value: string | undefined }[] }): MetricId[] {
    return [...this.series.entries()]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([, s]) => s.id)
      .filter((m) => filter.namespace === undefined || m.namespace === filter.namespace)
      .filter((m) => filter.metricName === undefined || m.metricName === filter.metricName)
      .filter((m) => filter.dimensions.every((f) => m.dimensions.some((d) => d.name === f.name && (f.value === undefined || d.value === f.value))));
  }
}

function checkDimensions(dimensions: readonly Dimension[], where: string): void {
  if (dimensions.length > METRIC_LIMITS.dimensionsPerMetric) throw invalid(where, `of ${dimensions.length} dimensions (at most ${METRIC_LIMITS.dimensionsPerMetric})`);
  const seen = new Set<string>();
  dimensions.forEach((d, i) => {
    if (d.name === '' || d.name.length > 255) throw invalid(`${where}.member.${i + 1}.Name`, d.name);
    if (d.value === '' || d.value.length > 1024) throw invalid(`${where}.member.${i + 1}.Value`, d.value);
    if (seen.has(d.name)) throw new MetricError('InvalidParameterValue', `The dimension ${d.name} is given twice in ${where}.`);
    seen.add(d.name);
  });
}

function finite(x: number, where: string): number {
  if (!Number.isFinite(x) || Math.abs(x) > 2 ** 360) throw invalid(where, String(x));
  return x;
}

function summarise(d: PutDatum, where: string): StatisticSet {
  const forms = [d.value !== undefined, d.values !== undefined && d.values.length > 0, d.statisticValues !== undefined].filter(Boolean).length;
  if (forms !== 1) {
    throw new MetricError('InvalidParameterCombination', `${where}: give exactly one of Value, Values (with Counts) or StatisticValues.`);
  }
  if (d.value !== undefined) {
    const v = finite(d.value, `${where}.Value`);
    return { sampleCount: 1, sum: v, minimum: v, maximum: v };
  }
  if (d.statisticValues !== undefined) {
    const s = d.statisticValues;
    if (!(s.sampleCount > 0) || !(s.minimum <= s.maximum)) throw invalid(`${where}.StatisticValues`, `{SampleCount: ${s.sampleCount}, Minimum: ${s.minimum}, Maximum: ${s.maximum}}`);
    return { sampleCount: finite(s.sampleCount, `${where}.StatisticValues.SampleCount`), sum: finite(s.sum, `${where}.StatisticValues.Sum`), minimum: s.minimum, maximum: s.maximum };
  }
  const values = d.values!;
  const counts = d.counts ?? [];
  if (values.length > METRIC_LIMITS.valuesPerDatum) throw invalid(`${where}.Values`, `of ${values.length} items (at most ${METRIC_LIMITS.valuesPerDatum})`);
  if (counts.length > 0 && counts.length !== values.length) {
    throw new MetricError('InvalidParameterCombination', `${where}: Counts must have as many items as Values (${counts.length} against ${values.length}).`);
  }
  const set: StatisticSet = { sampleCount: 0, sum: 0, minimum: Number.POSITIVE_INFINITY, maximum: Number.NEGATIVE_INFINITY };
  values.forEach((raw, i) => {
    const v = finite(raw, `${where}.Values.member.${i + 1}`);
    const n = counts.length === 0 ? 1 : finite(counts[i]!, `${where}.Counts.member.${i + 1}`);
    if (n <= 0) return;
    set.sampleCount += n;
    set.sum += v * n;
    if (v < set.minimum) set.minimum = v;
    if (v > set.maximum) set.maximum = v;
  });
  if (set.sampleCount === 0) throw invalid(`${where}.Counts`, 'with no positive count');
  return set;
}

function merge(into: StatisticSet, p: StatisticSet): void {
  into.sampleCount += p.sampleCount;
  into.sum += p.sum;
  if (p.minimum < into.minimum) into.minimum = p.minimum;
  if (p.maximum > into.maximum) into.maximum = p.maximum;
}

function statisticOf(s: StatisticSet, statistic: Statistic): number {
  switch (statistic) {
    case 'SampleCount':
      return s.sampleCount;
    case 'Sum':
      return s.sum;
    case 'Minimum':
      return s.minimum;
    case 'Maximum':
      return s.maximum;
    case 'Average':
      return s.sum / s.sampleCount;
  }
}
