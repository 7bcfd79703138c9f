import type { MetricSummary } from '../report/types.ts';

type Kind = 'gauge' | 'timer' | 'counter';

interface Series {
  kind: Kind;
  /** Values received since the last flush. */
  pendingCount: number;
  pendingSum: number;
  pendingLast: number;
  pendingMax: number;
  pendingMin: number;
  /** Summary over all flushes. */
  samples: number;
  sum: number;
  max: number;
  min: number;
  last: number;
  /** One point per flush: (time, value) — the gauge value, the timer's mean, or the counter's increment. */
  times: number[];
  values: number[];
}

/**
 * The statsd side of telegraf (UDP 8125): services send gauges, timers and counters under the documented
 * names; every flush interval (10 s, as the seeds say) telegraf aggregates what arrived. While telegraf is
 * down, what services send is dropped and the flush records a gap. Names the version profile does not
 * document are dropped too (the 2.17.2 services did not emit the `circle.*` metrics introduced in 2.18).
 */
export class Telegraf {
  private readonly series = new Map<string, Series>();
  private readonly documented: ReadonlySet<string>;
  private readonly documentedPrefixes: readonly string[];
  /** Names services sent that this version does not document (the metric did not exist then): dropped. */
  readonly undocumented = new Set<string>();
  /** Flush intervals in which telegraf was down (metric gaps). */
  gaps = 0;
  up = true;
  /** Whether to keep a point per flush (plots); summaries are always kept. */
  private readonly keepSeries: boolean;

  constructor(documentedNames: readonly string[], opts: { keepSeries?: boolean } = {}) {
    this.documented = new Set(documentedNames.filter((n) => !n.endsWith('*')));
    this.documentedPrefixes = documentedNames.filter((n) => n.endsWith('*')).map((n) => n.slice(0, -1));
    this.keepSeries = opts.keepSeries ?? false;
  }

  gauge(name: string, value: number): void {
    this.receive(name, 'gauge', value);
  }

  timing(name: string, ms: number): void {
    this.receive(name, 'timer', ms);
  }

  count(name: string, n = 1): void {
    this.receive(name, 'counter', n);
  }

  /** Aggregates what arrived since the last flush. Called every statsd interval by the model. */
  flush(atMs: number): void {
    if (!this.up) {
      this.gaps++;
      return;
    }
    for (const s of this.series.values()) {
      if (s.pendingCount === 0 && s.kind !== 'counter') continue;
      const value = s.kind === 'gauge' ? s.pendingLast : s.kind === 'timer' ? s.pendingSum / s.pendingCount : s.pendingSum;
      if (s.kind === 'timer') {
        s.samples += s.pendingCount;
        s.sum += s.pendingSum;
        s.max = Math.max(s.max, s.pendingMax);
        s.min = Math.min(s.min, s.pendingMin);
      } else {
        s.samples++;
        s.sum += value;
        s.max = Math.max(s.max, value);
        s.min = Math.min(s.min, value);
      }
      s.last = value;
      if (this.keepSeries) {
        s.times.push(atMs);
        s.values.push(value);
      }
      s.pendingCount = 0;
      s.pendingSum = 0;
      s.pendingMax = -Infinity;
      s.pendingMin = Infinity;
    }
  }

  summaries(): Record<string, MetricSummary> {
    const out: Record<string, MetricSummary> = {};
    for (const name of [...this.series.keys()].sort()) {
      const s = this.series.get(name)!;
      if (s.samples === 0) continue;
      out[name] = { type: s.kind, samples: s.samples, mean: s.sum / s.samples, max: s.max, min: s.min, last: s.last };
    }
    return out;
  }

  /** The flushed points of one metric (empty unless series are kept). */
  points(name: string): { times: readonly number[]; values: readonly number[] } {
    const s = this.series.get(name);
    return { times: s?.times ?? [], values: s?.values ?? [] };
  }

  private receive(name: string, kind: Kind, value: number): void {
    let s = this.series.get(name);
    if (s === undefined) {
      if (!this.isDocumented(name)) {
        this.undocumented.add(name);
        return;
      }
      s = { kind, pendingCount: 0, pendingSum: 0, pendingLast: 0, pendingMax: -Infinity, pendingMin: Infinity, samples: 0, sum: 0, max: -Infinity, min: Infinity, last: 0, times: [], values: [] };
      this.series.set(name, s);
    }
    if (!this.up) return;
    s.pendingCount++;
    s.pendingSum += value;
    s.pendingLast = value;
    if (value > s.pendingMax) s.pendingMax = value;
    if (value < s.pendingMin) s.pendingMin = value;
  }

  private isDocumented(name: string): boolean {
    return this.documented.has(name) || this.documentedPrefixes.some((p) => name.startsWith(p));
  }
}
