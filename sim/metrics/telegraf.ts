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
  /** Held gauges by key (`name`, or `name#tags`), see `held`. */
  private readonly heldByKey = new Map<string, HeldGauge>();
  /** Flushes made while telegraf was up: the samples a held gauge gets while it holds a value. */
  upFlushes = 0;

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
    this.upFlushes++;
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

  /**
   * The gauge `name` (with DogStatsD `tags`, `key:value,...` sorted by key, or none) as a sender that re-sends
   * it every interval holds it: its value counts once per flush until it changes or is released, so an
   * unchanged value costs nothing per flush. For senders of many series that mostly keep their values (each
   * Nomad client's nomad-metrics). Its summary is keyed `name#tags`; it keeps no points.
   */
  held(name: string, tags = ''): HeldGauge {
    const key = tags === '' ? name : `${name}#${tags}`;
    let g = this.heldByKey.get(key);
    if (g !== undefined) return g;
    if (!this.isDocumented(name)) {
      this.undocumented.add(name);
      return new HeldGauge(this);
    }
    if (this.series.has(key)) throw new Error(`telegraf: ${key} is already a received series; a held gauge cannot share its name`);
    g = new HeldGauge(this);
    this.heldByKey.set(key, g);
    return g;
  }

  summaries(): Record<string, MetricSummary> {
    const out: Record<string, MetricSummary> = {};
    const keys = [...this.series.keys(), ...this.heldByKey.keys()].sort();
    for (const key of keys) {
      const received = this.series.get(key);
      const s = received ?? this.heldByKey.get(key)!.summary();
      if (s.samples === 0) continue;
      out[key] = { type: received?.kind ?? 'gauge', samples: s.samples, mean: s.sum / s.samples, max: s.max, min: s.min, last: s.last };
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
      if (this.heldByKey.has(name)) throw new Error(`telegraf: ${name} is a held gauge; send it through its handle`);
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

interface GaugeSummary {
  samples: number;
  sum: number;
  max: number;
  min: number;
  last: number;
}

/**
 * A gauge its sender re-sends unchanged every statsd interval, kept as runs: `set` with the value it holds
 * does nothing; a new value (or `release`, the sender stopping) closes the run, which counts one sample per
 * flush telegraf made while up since the run began. Equal to receiving the value before every flush.
 */
export class HeldGauge {
  private readonly done: GaugeSummary = { samples: 0, sum: 0, max: -Infinity, min: Infinity, last: 0 };
  private value = 0;
  private holding = false;
  /** `upFlushes` when the run began. */
  private since = 0;

  constructor(private readonly telegraf: { readonly upFlushes: number }) {}

  set(value: number): void {
    if (this.holding && value === this.value) return;
    this.close();
    this.value = value;
    this.holding = true;
    this.since = this.telegraf.upFlushes;
  }

  /** The sender stopped sending: flushes from now on get no value. */
  release(): void {
    this.close();
    this.holding = false;
  }

  /** The closed runs plus the open one, as flushed so far. */
  summary(): GaugeSummary {
    const s = { ...this.done };
    fold(s, this.holding ? this.telegraf.upFlushes - this.since : 0, this.value);
    return s;
  }

  private close(): void {
    if (this.holding) fold(this.done, this.telegraf.upFlushes - this.since, this.value);
  }
}

function fold(s: GaugeSummary, flushes: number, value: number): void {
  if (flushes <= 0) return;
  s.samples += flushes;
  s.sum += flushes * value;
  if (value > s.max) s.max = value;
  if (value < s.min) s.min = value;
  s.last = value;
}
