import type { QueueTimeSeries, TuneCell, TuneResult } from '../sim/tune/tune-result.ts';
import { chartFigure, chartRuntime, escapeHtml, jsonForScript, pageHead, type HtmlAssets } from './charts.ts';
import { formatMs, formatNumber } from './markdown.ts';
import { paramText, tableHead, tableRow } from './tune-markdown.ts';

/** What tune.html draws besides tune.json: the recommended cell's queue time over its run (replication 0). */
export interface TuneHtmlInputs {
  assets: HtmlAssets;
  recommendedSeries?: QueueTimeSeries | undefined;
}

/** One series of a scatter chart: a value per x (null: none), drawn as points, or as a line through its points. */
interface ScatterSeries {
  label: string;
  color: string;
  values: (number | null)[];
  line: boolean;
  size: number;
}

/** A chart of cells as points (`figure.tune-chart`): x ascending (repeats allowed), category labels when x is an index. */
interface ScatterSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  xLabels: string[] | null;
  x: number[];
  series: ScatterSeries[];
  /** The series and index of the recommended cell's point, which the page reports in pixels for tests. */
  highlight: { series: number; index: number } | null;
  /** In words, for readers without the canvas: how many cells, which is recommended. */
  caption: string;
  /** Asinh axes (linear near 0, logarithmic far from it): queue times range from seconds to hours, costs over tenfold. */
  asinh?: boolean;
}

export const COLORS = { cells: '#2563eb', front: '#d97706', recommended: '#16a34a', cheapest: '#7c3aed' } as const;

function scatterFigure(spec: ScatterSpec): string {
  const data = { title: spec.title, xLabel: spec.xLabel, yLabel: spec.yLabel, xLabels: spec.xLabels, x: spec.x, series: spec.series, highlight: spec.highlight, asinh: spec.asinh === true };
  return [
    `<figure class="tune-chart" id="${escapeHtml(spec.id)}">`,
    `<figcaption>${escapeHtml(spec.title)}</figcaption>`,
    `<div class="plot"></div>`,
    `<p class="peaks">${escapeHtml(spec.caption)}</p>`,
    `<script type="application/json" class="chart-data">${jsonForScript(data)}</script>`,
    `</figure>`,
  ].join('\n');
}

interface Point {
  x: number;
  y: number;
  cell: number;
}

/** Points sorted by x (then cell), and the column of each series: all cells, optionally a line through some, the recommended one. */
function columns(points: Point[], lineCells: ReadonlySet<number>, recommended: number | undefined, lineLabel: string, lineColor: string): { x: number[]; series: ScatterSeries[]; highlight: ScatterSpec['highlight'] } {
  const sorted = [...points].sort((a, b) => a.x - b.x || a.cell - b.cell);
  const x = sorted.map((p) => p.x);
  const all = sorted.map((p) => p.y);
  const line = sorted.map((p) => (lineCells.has(p.cell) ? p.y : null));
  const rec = sorted.map((p) => (p.cell === recommended ? p.y : null));
  const index = sorted.findIndex((p) => p.cell === recommended);
  return {
    x,
    // The line first, so that the cells' points are drawn over it, and the recommended point over everything.
    series: [
      { label: lineLabel, color: lineColor, values: line, line: true, size: 5 },
      { label: 'cells', color: COLORS.cells, values: all, line: false, size: 9 },
      { label: 'recommended', color: COLORS.recommended, values: rec, line: false, size: 14 },
    ],
    highlight: index < 0 ? null : { series: 3, index },
  };
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

function paretoChart(r: TuneResult): string {
  const points = r.cells.map((c) => ({ x: c.cost_per_day, y: seconds(c.queue_time_ms.p95), cell: c.cell }));
  const cols = columns(points, new Set(r.pareto.map((p) => p.cell)), r.recommended?.cell, 'Pareto front', COLORS.front);
  return scatterFigure({
    id: 'tune-pareto',
    title: 'Cost per day against p95 queue time (every cell; the Pareto front joined)',
    xLabel: 'total cost per day (USD, asinh scale)',
    yLabel: 'p95 queue time (s, asinh scale)',
    xLabels: null,
    asinh: true,
    ...cols,
    caption: `${r.cells.length} cells; ${r.pareto.length} on the front (cells ${r.pareto.map((p) => p.cell).join(', ')}); recommended: ${r.recommended === null ? 'none' : `cell ${r.recommended.cell}`}.`,
  });
}

/** Cost against one swept key: numbers on their own axis, other values (types, algorithms) as categories. */
function costChart(r: TuneResult, axisIndex: number): string {
  const axis = r.sweep[axisIndex]!;
  const numeric = axis.values.every((v) => typeof v === 'number');
  const xOf = (c: TuneCell) => {
    const v = c.params[axis.key];
    return numeric ? (v as number) : axis.values.findIndex((a) => JSON.stringify(a) === JSON.stringify(v));
  };
  const cheapest = new Map<number, TuneCell>();
  for (const c of r.cells) {
    const k = xOf(c);
    const best = cheapest.get(k);
    if (best === undefined || c.cost_per_day < best.cost_per_day) cheapest.set(k, c);
  }
  const points = r.cells.map((c) => ({ x: xOf(c), y: c.cost_per_day, cell: c.cell }));
  const cols = columns(points, new Set([...cheapest.values()].map((c) => c.cell)), r.recommended?.cell, 'cheapest at each value', COLORS.cheapest);
  return scatterFigure({
    id: `tune-cost-${axisIndex}`,
    title: `Total cost per day against ${axis.key}`,
    xLabel: axis.key,
    yLabel: 'USD per day',
    xLabels: numeric ? null : axis.values.map(paramText),
    ...cols,
    caption: `${r.cells.length} cells; the cheapest at each value: ${[...cheapest.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => `${paramText(c.params[axis.key])} → ${formatNumber(c.cost_per_day)} USD (cell ${c.cell})`).join('; ')}.`,
  });
}

function recommendedQueueChart(r: TuneResult, s: QueueTimeSeries | undefined): string {
  if (r.recommended === null || s === undefined) return `<p class="note" id="no-recommended">No cell is recommended, so there is no queue time over the day to show.</p>`;
  const sec = (v: readonly (number | null)[]) => v.map((x) => (x === null ? null : Math.round(x / 100) / 10));
  return chartFigure({
    id: 'chart-recommended-queue-time',
    title: `Queue time over the run of the recommended cell ${r.recommended.cell} (replication 0, one point per ${formatMs(s.bucket_ms)})`,
    yLabel: 'seconds',
    xMs: s.t_ms,
    lines: [
      { label: 'max queue time (s)', color: '#dc2626', values: sec(s.max_ms) },
      { label: 'mean queue time (s)', color: '#7c3aed', values: sec(s.mean_ms) },
    ],
    markers: [],
  });
}

/**
 * `tune.html`: the sweep as one self-contained page (uPlot inlined, no network): the Pareto front, cost against
 * each swept key, the recommended cell's queue time over its run, and the table of cells. Pure: the same result,
 * series and assets give the same bytes.
 */
export function toTuneHtml(r: TuneResult, inputs: TuneHtmlInputs): string {
  const runtime = chartRuntime(inputs.assets);
  const title = `Tuning: ${r.scenario}`;
  const rec = r.recommended;
  const head = tableHead(r);
  return [
    ...pageHead(title, [runtime.style, `<style>\n${PAGE_CSS}\n</style>`]),
    '<body>',
    '<header>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="description">${escapeHtml(`${r.cells.length} cells${r.sample === 'random' ? ` drawn from a grid of ${r.grid_cells}` : ''} × ${r.replications} replication${r.replications === 1 ? '' : 's'}, sweep seed ${r.seed}${r.targets.length > 0 ? `; targets ${r.targets.join(', ')}` : ''}.`)}</p>`,
    `<p id="recommended"><strong>Recommended:</strong> ${rec === null ? 'none' : `cell <span id="recommended-cell">${rec.cell}</span> (${escapeHtml(Object.entries(rec.params).map(([k, v]) => `${k}=${paramText(v)}`).join(', '))}): ${escapeHtml(formatNumber(rec.cost_per_day))} USD per day, p95 queue ${escapeHtml(formatMs(rec.queue_time_ms_p95))}`}. ${escapeHtml(r.recommended_because)}.</p>`,
    '</header>',
    '<section id="charts">',
    '<h2>Cost against queue time</h2>',
    paretoChart(r),
    '<h2>Cost against each swept key</h2>',
    ...r.sweep.map((_, i) => costChart(r, i)),
    '<h2>The recommended cell over its run</h2>',
    recommendedQueueChart(r, inputs.recommendedSeries),
    '</section>',
    '<section id="cells">',
    '<h2>Cells</h2>',
    r.replications > 1 ? '<p class="note">Means across replications; ± is the half-width of the 95% confidence interval (Student t).</p>' : '',
    `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>`,
    ...r.cells.map((c) => `<tr data-cell="${c.cell}"${rec?.cell === c.cell ? ' class="recommended"' : ''}>${tableRow(r, c).map((t) => `<td>${escapeHtml(t)}</td>`).join('')}</tr>`),
    '</tbody></table>',
    '</section>',
    `<section id="replay"><h2>Replay</h2><pre><code>${escapeHtml(r.replay)}</code></pre></section>`,
    `<script type="application/json" id="tune-data">${jsonForScript({ cells: r.cells.length, pareto: r.pareto.map((p) => p.cell), recommended: rec?.cell ?? null })}</script>`,
    runtime.script,
    `<script>\n${BOOTSTRAP}\n</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

const PAGE_CSS = `body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #0f172a; margin: 24px auto; max-width: 1140px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 6px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #e2e8f0; padding-bottom: 4px; }
.description { color: #334155; margin: 4px 0 10px; }
table { border-collapse: collapse; margin: 6px 0; } th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #e2e8f0; vertical-align: top; font-variant-numeric: tabular-nums; }
th { color: #475569; font-weight: 600; } tr.recommended td { background: #f0fdf4; font-weight: 600; }
figure.chart, figure.tune-chart { margin: 14px 0 22px; } figcaption { font-weight: 600; margin-bottom: 4px; } .peaks { color: #475569; margin: 2px 0 0 60px; font-size: 13px; }
.note { color: #475569; } code { font: 12.5px ui-monospace, 'SFMono-Regular', Menlo, monospace; background: #f1f5f9; padding: 0 3px; border-radius: 3px; }
pre code { display: block; padding: 8px; }`;

/**
 * Runs in the browser after uPlot: draws every `figure.tune-chart` as points (and lines where a series says so),
 * and records on the figure what it drew (`data-drawn`, `data-points`, `data-highlight-px`: the recommended
 * point's position on the canvas in device pixels) so that a browser test can check the picture against the data.
 */
const BOOTSTRAP = String.raw`(function () {
  'use strict';
  // Tick labels: none below zero (an asinh axis from 0 would label -1), thousands grouped.
  function positive(u, splits) { return splits.map(function (v) { return v == null || v < 0 ? '' : v.toLocaleString('en-US'); }); }
  function draw(fig) {
    var spec = JSON.parse(fig.querySelector('script.chart-data').textContent);
    var holder = fig.querySelector('.plot');
    var width = Math.max(320, Math.min(1100, holder.clientWidth || 900));
    var labels = spec.xLabels;
    var series = [{ label: spec.xLabel, value: function (u, v) { return v == null ? '' : (labels ? (labels[v] || '') : String(Math.round(v * 100) / 100)); } }];
    var points = 0;
    spec.series.forEach(function (s) {
      s.values.forEach(function (v) { if (v != null && !s.line) points++; });
      var one = { label: s.label, stroke: s.color, width: s.line ? 2 : 0, spanGaps: s.line, points: { show: true, size: s.size, fill: s.color, stroke: s.color } };
      if (!s.line) one.paths = function () { return null; };
      series.push(one);
    });
    var xs = spec.x, lo = xs.length ? xs[0] : 0, hi = xs.length ? xs[xs.length - 1] : 1;
    var pad = hi > lo ? (hi - lo) * 0.06 : (labels ? 0.5 : Math.max(1, Math.abs(lo) * 0.1));
    var opts = {
      width: width, height: 280,
      scales: {
        x: spec.asinh ? { time: false, distr: 4, asinh: 1, range: function () { return [lo > 0 ? Math.pow(10, Math.floor(Math.log10(lo))) : 0, Math.pow(10, Math.ceil(Math.log10(Math.max(hi, 1) * 1.05)))]; } } : { time: false, range: function () { return labels ? [-0.5, labels.length - 0.5] : [lo - pad, hi + pad]; } },
        y: spec.asinh ? { distr: 4, asinh: 1, range: function (u, min, max) { return [0, max > 0 ? max * 1.5 : 1]; } } : { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } }
      },
      axes: [
        labels ? { label: spec.xLabel, splits: function () { return labels.map(function (_, i) { return i; }); }, values: function (u, splits) { return splits.map(function (v) { return labels[v] || ''; }); } } : { label: spec.xLabel, values: positive },
        { label: spec.yLabel, size: 70, values: positive }
      ],
      series: series,
      hooks: {
        // After uPlot drew (its scales are set only then): what was drawn, and where the recommended point is.
        draw: [function (u) {
          fig.setAttribute('data-drawn', 'true');
          fig.setAttribute('data-points', String(points));
          if (spec.highlight) {
            var x = u.valToPos(xs[spec.highlight.index], 'x', true);
            var y = u.valToPos(spec.series[spec.highlight.series - 1].values[spec.highlight.index], 'y', true);
            fig.setAttribute('data-highlight-px', Math.round(x) + ',' + Math.round(y));
          }
        }]
      }
    };
    new uPlot(opts, [xs].concat(spec.series.map(function (s) { return s.values; })), holder);
  }
  var figs = document.querySelectorAll('figure.tune-chart');
  for (var i = 0; i < figs.length; i++) draw(figs[i]);
})();`;
