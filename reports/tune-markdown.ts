import { comparisonText, valueText } from '../sim/report/expectations.ts';
import type { TuneCell, TuneResult } from '../sim/tune/tune-result.ts';
import type { Interval } from '../sim/tune/stats.ts';
import { formatMs, formatNumber, formatPercent } from './markdown.ts';

/** A swept value as a table shows it: texts bare, anything else as JSON. */
export function paramText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** `123.4 ± 5.6` when the value has an interval, else the value. */
function withHalf(value: string, i: Interval | undefined, fmt: (x: number) => string): string {
  return i === undefined || i.n < 2 ? value : `${value} ± ${fmt(i.half_width)}`;
}

const usd = (x: number) => formatNumber(x, 2);

/** The columns of the cells' table, shared by tune.md and tune.html: header and one cell's texts. */
export function tableHead(r: TuneResult): string[] {
  return ['cell', ...r.sweep.map((a) => a.key), 'cost/day (USD)', 'machines', 'vm-service', 'waiting', 'p50 queue', 'p95 queue', 'p99 queue', 'CPU use', 'builds/h', 'lost', 'Pareto', ...(r.targets.length > 0 ? ['targets'] : [])];
}

export function tableRow(r: TuneResult, c: TuneCell): string[] {
  const rec = r.recommended?.cell === c.cell;
  return [
    `${rec ? '★ ' : ''}${c.cell}`,
    ...r.sweep.map((a) => paramText(c.params[a.key])),
    withHalf(usd(c.cost_per_day), c.intervals?.cost_per_day, usd),
    withHalf(usd(c.cost.machines_per_day), c.intervals?.machines_per_day, usd),
    usd(c.cost.vm_service_per_day),
    withHalf(usd(c.cost.waiting_per_day), c.intervals?.waiting_per_day, usd),
    withHalf(formatMs(c.queue_time_ms.p50), c.intervals?.queue_time_ms_p50, formatMs),
    withHalf(formatMs(c.queue_time_ms.p95), c.intervals?.queue_time_ms_p95, formatMs),
    withHalf(formatMs(c.queue_time_ms.p99), c.intervals?.queue_time_ms_p99, formatMs),
    formatPercent(c.utilisation.mean_cpu),
    formatNumber(c.throughput.builds_per_hour, 1),
    formatNumber(c.builds.lost, 1),
    c.on_pareto ? 'yes' : '',
    ...(r.targets.length > 0 ? [c.meets_targets ? 'met' : `missed ${(c.misses ?? []).join(', ')}`] : []),
  ];
}

/** The `tune.expect` lines and how each came out, as a list (nothing without them). */
function expectationLines(r: TuneResult): string[] {
  if (r.expectations.length === 0) return [];
  const failed = r.expectations.filter((e) => !e.passed).length;
  return [
    `**Expectations** (the scenario's \`tune.expect\`): ${failed === 0 ? `all ${r.expectations.length} hold` : `${failed} of ${r.expectations.length} FAILED`}.`,
    '',
    ...r.expectations.map((e) => `- ${e.passed ? 'pass' : 'FAIL'}: \`${e.metric}\` ${comparisonText(e.op, e.expected)}, actual ${valueText(e.actual)}${e.error ? ` (${e.error})` : ''}`),
    '',
  ];
}

/** `tune.md`: what was swept, the recommended cell and why, and every cell in a table (the recommended one starred). */
export function toTuneMarkdown(r: TuneResult): string {
  const right = new Set(['cost/day (USD)', 'machines', 'vm-service', 'waiting', 'p50 queue', 'p95 queue', 'p99 queue', 'CPU use', 'builds/h', 'lost']);
  const head = tableHead(r);
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const rows = [head, head.map((h) => (right.has(h) ? '---:' : '---')), ...r.cells.map((c) => tableRow(r, c))];
  const sampled = r.sample === 'random' ? `The ${r.cells.length} cells drawn at random from a grid of ${r.grid_cells}` : `The grid of ${r.cells.length} cells`;
  return [
    `# Tuning: ${r.scenario}`,
    '',
    `${sampled} (${r.sweep.map((a) => `\`${a.key}\` ∈ {${a.values.map(paramText).join(', ')}}`).join(' × ')}), ${r.replications} replication${r.replications === 1 ? '' : 's'} each, sweep seed ${r.seed}${r.targets.length > 0 ? `; targets: ${r.targets.map((t) => `\`${t}\``).join(', ')}` : ''}.`,
    r.replications > 1 ? 'Values are means across replications; `±` is the half-width of the 95% confidence interval (Student t).' : 'One run per cell: no intervals (give --replications 2 or more for them).',
    '',
    `**Recommended:** ${r.recommended === null ? 'none' : `cell ${r.recommended.cell} (${Object.entries(r.recommended.params).map(([k, v]) => `\`${k}=${paramText(v)}\``).join(', ')})`}: ${r.recommended_because}.`,
    '',
    `**Pareto front** (no other cell is both cheaper and faster at p95): ${r.pareto.map((p) => `cell ${p.cell}`).join(', ')}.`,
    '',
    ...expectationLines(r),
    ...rows.map((cells) => `| ${cells.map(esc).join(' | ')} |`),
    '',
    `Replay: \`${r.replay}\``,
    '',
  ].join('\n');
}
