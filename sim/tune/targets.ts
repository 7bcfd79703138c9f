import { suggest } from '../util/suggest.ts';
import { TUNE_LIMITS, TuneInputError } from './tune-input-error.ts';
import type { TuneCell } from './tune-result.ts';

/** The metrics a target may name: each read from a cell's means across its replications. */
export const TARGET_METRICS = {
  p50_queue_s: { unit: 's', read: (c: TuneCell) => c.queue_time_ms.p50 / 1000 },
  p95_queue_s: { unit: 's', read: (c: TuneCell) => c.queue_time_ms.p95 / 1000 },
  p99_queue_s: { unit: 's', read: (c: TuneCell) => c.queue_time_ms.p99 / 1000 },
  mean_queue_s: { unit: 's', read: (c: TuneCell) => c.queue_time_ms.mean / 1000 },
  max_queue_s: { unit: 's', read: (c: TuneCell) => c.queue_time_ms.max / 1000 },
  cost_per_day: { unit: 'USD', read: (c: TuneCell) => c.cost_per_day },
  machines_per_day: { unit: 'USD', read: (c: TuneCell) => c.cost.machines_per_day },
  waiting_per_day: { unit: 'USD', read: (c: TuneCell) => c.cost.waiting_per_day },
  utilisation: { unit: '0-1', read: (c: TuneCell) => c.utilisation.mean_cpu },
  builds_lost: { unit: 'builds', read: (c: TuneCell) => c.builds.lost },
  builds_per_hour: { unit: 'builds/h', read: (c: TuneCell) => c.throughput.builds_per_hour },
} as const satisfies Record<string, { unit: string; read: (c: TuneCell) => number }>;

export type TargetMetric = keyof typeof TARGET_METRICS;
export type TargetOp = '<=' | '<' | '>=' | '>';

/** One target: a metric of the cell, a comparison and a bound. */
export interface Target {
  metric: TargetMetric;
  op: TargetOp;
  value: number;
}

const METRICS = Object.keys(TARGET_METRICS) as TargetMetric[];
const HINT = `metrics: ${METRICS.join(', ')}; e.g. --targets p95_queue_s<=1,builds_lost<=0`;

/** Parses `--targets p95_queue_s<=1,cost_per_day<500` (comma-separated; several --targets flags add up). */
export function parseTargets(specs: readonly string[]): Target[] {
  const out: Target[] = [];
  for (const spec of specs) {
    for (const part of spec.split(',')) {
      const text = part.trim();
      if (text === '') continue;
      const m = /^([a-z0-9_]+)\s*(<=|>=|<|>)\s*(-?\d+(?:\.\d+)?)$/.exec(text);
      if (!m) throw new TuneInputError(`--targets: \`${text}\` is not metric<=number (or <, >=, >)`, HINT);
      const metric = m[1]!;
      if (!(METRICS as string[]).includes(metric)) {
        const s = suggest(metric, METRICS);
        throw new TuneInputError(`--targets: unknown metric \`${metric}\`${s ? `; did you mean \`${s}\`?` : ''}`, HINT);
      }
      if (out.some((t) => t.metric === metric && t.op === m[2])) throw new TuneInputError(`--targets: ${metric}${m[2]} is given twice`, 'give each bound once');
      out.push({ metric: metric as TargetMetric, op: m[2] as TargetOp, value: Number(m[3]) });
    }
  }
  if (out.length > TUNE_LIMITS.targets.value) throw new TuneInputError(`--targets: ${out.length} targets, more than ${TUNE_LIMITS.targets.name} (${TUNE_LIMITS.targets.value})`, TUNE_LIMITS.targets.hint);
  return out;
}

/** Whether `actual` meets a target. */
export function meets(actual: number, t: Pick<Target, 'op' | 'value'>): boolean {
  switch (t.op) {
    case '<=':
      return actual <= t.value;
    case '<':
      return actual < t.value;
    case '>=':
      return actual >= t.value;
    case '>':
      return actual > t.value;
  }
}

/** `p95_queue_s<=1` */
export function targetText(t: Target): string {
  return `${t.metric}${t.op}${t.value}`;
}
