import { formatAt, formatNumber } from './markdown.ts';

/**
 * Charts for the HTML pages (`report.html`, later `tune.html`): a chart is a `<figure>` holding its data as
 * JSON; one inlined script (uPlot and a small bootstrap) draws every figure of the page when it loads. Pure:
 * the library's text is passed in by the caller, which reads it from `node_modules` (see `harness/html-assets.ts`).
 */

/** The charting library's text, inlined in the page: no network, no CDN. */
export interface HtmlAssets {
  /** `uplot/dist/uPlot.iife.min.js`. */
  uplotJs: string;
  /** `uplot/dist/uPlot.min.css`. */
  uplotCss: string;
}

/** One line of a chart: a label, a colour and one value (or `null`, a gap) per x. */
export interface ChartLine {
  label: string;
  color: string;
  values: readonly (number | null)[];
  /** Drawn as bars (counts per bucket) instead of a line. */
  bars?: boolean;
}

/** A span of x shaded and labelled on the chart (a fault): from `fromMs` until `untilMs`, or a line at `fromMs`. */
export interface ChartMarker {
  fromMs: number;
  untilMs?: number;
  label: string;
}

export interface ChartSpec {
  /** Unique on the page; the figure's `id`. */
  id: string;
  title: string;
  /** What the y axis counts, with its unit: `builds`, `seconds`. */
  yLabel: string;
  /** X values in virtual ms; the axis shows them as scenario times (`1h10m`). */
  xMs: readonly number[];
  lines: readonly ChartLine[];
  markers: readonly ChartMarker[];
}

/** Escapes text for HTML element content and attribute values (quoted with `"` or `'`). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON that is safe inside a `<script>` element: `<`, `>` and `&` are written as `\u` escapes so that no
 * text from the scenario can close the element or open a comment; U+2028/9 likewise for old parsers.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The start of a self-contained page, up to `</head>`: its title and inline styles, and a policy under which no
 * request of any kind leaves the page (scripts and styles are inline, images are data or none).
 */
export function pageHead(title: string, styles: readonly string[]): string[] {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>${escapeHtml(title)}</title>`,
    ...styles,
    '</head>',
  ];
}

/**
 * A chart's figure: its title, the canvas uPlot draws into, its data for the bootstrap script, and each line's
 * peak in words (for readers without the canvas, and for tests that compare the page with the data).
 */
export function chartFigure(spec: ChartSpec): string {
  const data = { title: spec.title, yLabel: spec.yLabel, x: spec.xMs, lines: spec.lines, markers: spec.markers };
  return [
    `<figure class="chart" id="${escapeHtml(spec.id)}">`,
    `<figcaption>${escapeHtml(spec.title)}</figcaption>`,
    `<div class="plot"></div>`,
    `<p class="peaks">${spec.lines.map((l) => peakText(l, spec.xMs)).join('; ')}.</p>`,
    `<script type="application/json" class="chart-data">${jsonForScript(data)}</script>`,
    `</figure>`,
  ].join('\n');
}

/** `label: peak 87 at 1h10m`, the first bucket holding the largest value; `label: no data` when all are gaps. */
function peakText(line: ChartLine, xMs: readonly number[]): string {
  let at = -1;
  line.values.forEach((v, i) => {
    if (v !== null && (at < 0 || v > line.values[at]!)) at = i;
  });
  const label = `<span class="peak-label">${escapeHtml(line.label)}</span>`;
  if (at < 0) return `${label}: no data`;
  return `${label}: peak <span class="peak-value">${formatNumber(line.values[at]!)}</span> at ${xMs[at] === 0 ? 'the start' : formatAt(xMs[at]!)}`;
}

/**
 * The `<style>` and `<script>` that draw every chart figure of the page: uPlot, then a bootstrap that reads
 * each figure's JSON, formats the x axis as scenario times, shades the markers under the lines and records on
 * the figure what it drew (`data-drawn`, `data-markers-drawn`) so that a browser test can check it.
 */
export function chartRuntime(assets: HtmlAssets): { style: string; script: string } {
  if (assets.uplotJs.includes('</script') || assets.uplotCss.includes('</style')) throw new Error('an inlined asset contains a closing tag of its element');
  return { style: `<style>\n${assets.uplotCss}\n</style>`, script: `<script>\n${assets.uplotJs}\n</script>\n<script>\n${BOOTSTRAP}\n</script>` };
}

/** Runs in the browser. Plain ES2019 and no network: it only reads the page. */
const BOOTSTRAP = String.raw`(function () {
  'use strict';
  function at(ms) {
    var s = Math.round(ms / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d > 0) return d + 'd' + (h ? h + 'h' : '');
    if (h > 0) return h + 'h' + (m ? m + 'm' : '');
    return m > 0 ? m + 'm' : (s % 60) + 's';
  }
  // Tick steps that read as scenario times: 10s ... 1m, 5m, 15m, 30m, 1h, 2h, 6h, 12h, 1d, 2d.
  var INCRS = [10, 30, 60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800].map(function (s) { return s * 1000; });
  function draw(fig) {
    var spec = JSON.parse(fig.querySelector('script.chart-data').textContent);
    var holder = fig.querySelector('.plot');
    var width = Math.max(320, Math.min(1100, holder.clientWidth || 900));
    var markersDrawn = 0;
    var series = [{ label: 'time', value: function (u, v) { return v == null ? '' : at(v); } }];
    spec.lines.forEach(function (l) {
      var s = { label: l.label, stroke: l.color, width: 1.5, spanGaps: false };
      if (l.bars) { s.fill = l.color; s.paths = uPlot.paths.bars({ size: [0.9, 8] }); s.points = { show: false }; }
      series.push(s);
    });
    var opts = {
      width: width, height: 240,
      scales: { x: { time: false }, y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.08 : 1]; } } },
      axes: [
        { incrs: INCRS, values: function (u, splits) { return splits.map(at); } },
        { label: spec.yLabel, size: 60 }
      ],
      series: series,
      hooks: {
        // After the canvas is cleared and before the grid and series: the shade lies under the lines.
        drawClear: [function (u) {
          var ctx = u.ctx, top = u.bbox.top, height = u.bbox.height;
          markersDrawn = 0;
          ctx.save();
          spec.markers.forEach(function (m, i) {
            var x0 = u.valToPos(m.fromMs, 'x', true);
            var x1 = m.untilMs == null ? x0 : u.valToPos(m.untilMs, 'x', true);
            ctx.fillStyle = 'rgba(220, 38, 38, 0.13)';
            if (x1 > x0) ctx.fillRect(x0, top, x1 - x0, height);
            ctx.strokeStyle = 'rgba(220, 38, 38, 0.9)';
            ctx.lineWidth = 2;
            ctx.beginPath(); ctx.moveTo(x0, top); ctx.lineTo(x0, top + height); ctx.stroke();
            ctx.fillStyle = '#b91c1c';
            ctx.font = (12 * devicePixelRatio) + 'px sans-serif';
            ctx.fillText(m.label, x0 + 4, top + 14 * devicePixelRatio * (1 + (i % 3)));
            markersDrawn++;
          });
          ctx.restore();
          fig.setAttribute('data-markers-drawn', String(markersDrawn));
        }]
      }
    };
    var data = [spec.x].concat(spec.lines.map(function (l) { return l.values; }));
    new uPlot(opts, data, holder);
    fig.setAttribute('data-drawn', 'true');
  }
  var figs = document.querySelectorAll('figure.chart');
  for (var i = 0; i < figs.length; i++) draw(figs[i]);
})();`;
