/**
 * A run's time series for plots (`report.html`): what the pipeline looked like every statsd tick, kept in at
 * most `MAX_TIMELINE_POINTS` buckets whatever the run's length. It is the simulation's own state, not what
 * telegraf received, so an outage of telegraf does not leave a hole in the pictures of the outage.
 */

/** Most points per series: a week at one point per 10 s tick would be 60,480; this keeps the page small. */
export const MAX_TIMELINE_POINTS = 2000;

/** One gauge per bucket: the mean and max of the ticks in it; `null` where a bucket had no tick. */
export interface GaugeSeries {
  mean: (number | null)[];
  max: (number | null)[];
}

/** A fault as it was applied: when, what, on what, and when it undid itself (`for:`). */
export interface TimelineFault {
  at_ms: number;
  action: string;
  target: string;
  until_ms?: number;
  count?: number;
}

/**
 * The series of one run. Bucket `i` covers the virtual time `(t_ms[i], t_ms[i] + bucket_ms]`: the ticks that
 * end in it and the builds that started in it. Every array has `t_ms.length` entries.
 */
export interface Timeline {
  /** Width of one bucket: the statsd interval, doubled until the run fits in `MAX_TIMELINE_POINTS`. */
  bucket_ms: number;
  t_ms: number[];
  /** Builds waiting in the run queue (`circle.build-queue.runnable.builds`). */
  run_queue_depth: GaugeSeries;
  /** Nomad jobs pending, waiting for capacity (`circle.nomad.server_agent.jobs.pending`). */
  pending_jobs: GaugeSeries;
  /** Tasks running on Nomad clients. */
  running_tasks: GaugeSeries;
  /** Nomad clients the server sees ready. */
  ready_clients: GaugeSeries;
  /** Builds whose first task started in the bucket. */
  builds_started: number[];
  /** Mean and max queue time of the builds that started in the bucket; `null` where none did. */
  queue_time_mean_ms: (number | null)[];
  queue_time_max_ms: (number | null)[];
  faults: TimelineFault[];
}

/** What the twin reads at each tick. */
export interface TimelineSample {
  runQueueDepth: number;
  pendingJobs: number;
  runningTasks: number;
  readyClients: number;
}

const GAUGES = ['runQueueDepth', 'pendingJobs', 'runningTasks', 'readyClients'] as const;
type GaugeName = (typeof GAUGES)[number];

interface GaugeBuckets {
  sum: number[];
  count: number[];
  max: number[];
}

/**
 * Collects ticks and build starts into buckets. When a sample falls past the last bucket allowed, adjacent
 * buckets are merged in pairs and the width doubles: memory stays bounded and bucket edges stay multiples of
 * the tick, so the merge is exact (sums add, maxima take the larger).
 */
export class TimelineRecorder {
  private bucketMs: number;
  private readonly gauges: Record<GaugeName, GaugeBuckets>;
  private started: number[] = [];
  private queueSum: number[] = [];
  private queueMax: number[] = [];
  private size = 0;

  constructor(
    tickMs: number,
    private readonly maxPoints = MAX_TIMELINE_POINTS,
  ) {
    if (!(tickMs > 0) || !Number.isInteger(tickMs)) throw new Error(`timeline tick must be a positive whole number of ms, got ${tickMs}`);
    if (!(maxPoints >= 2) || !Number.isInteger(maxPoints)) throw new Error(`timeline needs room for at least 2 points, got ${maxPoints}`);
    this.bucketMs = tickMs;
    this.gauges = { runQueueDepth: emptyGauge(), pendingJobs: emptyGauge(), runningTasks: emptyGauge(), readyClients: emptyGauge() };
  }

  /** The state at a tick at `atMs` (> 0). */
  sample(atMs: number, s: TimelineSample): void {
    const i = this.bucketFor(atMs);
    for (const name of GAUGES) {
      const g = this.gauges[name];
      const v = s[name];
      g.sum[i]! += v;
      g.count[i]!++;
      if (v > g.max[i]!) g.max[i] = v;
    }
  }

  /** A build's first task started at `atMs` after `queueMs` of queue time. */
  buildStarted(atMs: number, queueMs: number): void {
    const i = this.bucketFor(atMs);
    this.started[i]!++;
    this.queueSum[i]! += queueMs;
    if (queueMs > this.queueMax[i]!) this.queueMax[i] = queueMs;
  }

  /** The series so far, with the faults as applied. Means are rounded to hundredths (queue times to whole ms). */
  timeline(faults: readonly TimelineFault[]): Timeline {
    const n = this.size;
    const gauge = (g: GaugeBuckets): GaugeSeries => ({
      mean: g.count.slice(0, n).map((c, i) => (c === 0 ? null : Math.round((g.sum[i]! / c) * 100) / 100)),
      max: g.count.slice(0, n).map((c, i) => (c === 0 ? null : g.max[i]!)),
    });
    const started = this.started.slice(0, n);
    return {
      bucket_ms: this.bucketMs,
      t_ms: started.map((_, i) => i * this.bucketMs),
      run_queue_depth: gauge(this.gauges.runQueueDepth),
      pending_jobs: gauge(this.gauges.pendingJobs),
      running_tasks: gauge(this.gauges.runningTasks),
      ready_clients: gauge(this.gauges.readyClients),
      builds_started: started,
      queue_time_mean_ms: started.map((c, i) => (c === 0 ? null : Math.round(this.queueSum[i]! / c))),
      queue_time_max_ms: started.map((c, i) => (c === 0 ? null : this.queueMax[i]!)),
      faults: [...faults].sort((a, b) => a.at_ms - b.at_ms),
    };
  }

  /** The bucket of the interval ending at `atMs`, growing (and, past the limit, coarsening) the buckets. */
  private bucketFor(atMs: number): number {
    if (!(atMs >= 0)) throw new Error(`timeline time must be a non-negative number of ms, got ${atMs}`);
    let i = Math.max(0, Math.ceil(atMs / this.bucketMs) - 1);
    while (i >= this.maxPoints) {
      this.halve();
      i = Math.max(0, Math.ceil(atMs / this.bucketMs) - 1);
    }
    while (this.size <= i) {
      for (const name of GAUGES) {
        const g = this.gauges[name];
        g.sum.push(0);
        g.count.push(0);
        g.max.push(-Infinity);
      }
      this.started.push(0);
      this.queueSum.push(0);
      this.queueMax.push(-Infinity);
      this.size++;
    }
    return i;
  }

  /** Merges buckets 2k and 2k+1 into k and doubles the width. */
  private halve(): void {
    const half = Math.ceil(this.size / 2);
    const merge = (a: number[], combine: (x: number, y: number) => number, empty: number): number[] =>
      Array.from({ length: half }, (_, k) => combine(a[2 * k]!, a[2 * k + 1] ?? empty));
    const add = (x: number, y: number) => x + y;
    for (const name of GAUGES) {
      const g = this.gauges[name];
      g.sum = merge(g.sum, add, 0);
      g.count = merge(g.count, add, 0);
      g.max = merge(g.max, Math.max, -Infinity);
    }
    this.started = merge(this.started, add, 0);
    this.queueSum = merge(this.queueSum, add, 0);
    this.queueMax = merge(this.queueMax, Math.max, -Infinity);
    this.size = half;
    this.bucketMs *= 2;
  }
}

function emptyGauge(): GaugeBuckets {
  return { sum: [], count: [], max: [] };
}
