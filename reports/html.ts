import { comparisonText, valueText } from '../sim/report/expectations.ts';
import { isDurationMetric } from '../sim/report/paths.ts';
import type { ExpectationResult, Report } from '../sim/report/types.ts';
import type { Timeline } from '../sim/metrics/timeline.ts';
import { chartFigure, chartRuntime, escapeHtml, pageHead, type ChartLine, type ChartMarker, type HtmlAssets } from './charts.ts';
import { AFFECTED_BUILDS_SHOWN, formatAt, formatMs, formatNumber } from './markdown.ts';
import { SYMPTOM_COLUMNS, symptomsSection } from './symptoms.ts';

/**
 * `report.html`: the report as one self-contained page (no network: the charting library is inlined) with
 * the run's time series drawn over time and the faults marked on them. Pure, like the other writers: the
 * same report, timeline and assets give the same bytes. Without a timeline (a live run) the page says so.
 */
export function toHtml(report: Report, timeline: Timeline | undefined, assets: HtmlAssets): string {
  const runtime = chartRuntime(assets);
  const verdict = report.passed ? 'PASS' : 'FAIL';
  const title = `${verdict}: ${report.scenario}`;
  return [
    ...pageHead(title, [runtime.style, `<style>\n${PAGE_CSS}\n</style>`]),
    '<body>',
    header(report),
    chartsSection(report, timeline),
    ledger(report),
    expectations(report),
    faults(report),
    symptoms(report),
    affectedBuilds(report),
    `<section id="replay"><h2>Replay</h2><pre><code>${escapeHtml(report.replay)}</code></pre></section>`,
    runtime.script,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function header(report: Report): string {
  const verdict = report.passed ? 'PASS' : 'FAIL';
  const facts: [string, string][] = [
    ['seed', String(report.seed)],
    ['version', report.version],
    ['mode', report.mode],
    ['observed severity', report.observed_severity],
    ['duration', formatAt(report.duration_ms)],
    ['ended at', formatAt(report.ended_at_ms)],
  ];
  return [
    '<header>',
    `<h1><span class="verdict ${verdict.toLowerCase()}" id="verdict">${verdict}</span> ${escapeHtml(report.scenario)}</h1>`,
    report.description === undefined ? '' : `<p class="description">${escapeHtml(report.description)}</p>`,
    `<dl class="facts">${facts.map(([k, v]) => `<div><dt>${escapeHtml(k)}</dt><dd data-field="${escapeHtml(k)}">${escapeHtml(v)}</dd></div>`).join('')}</dl>`,
    '</header>',
  ].join('\n');
}

/** Fault spans for the charts, from the timeline (as applied) or, without one, from the report. */
function markers(report: Report, timeline: Timeline | undefined): ChartMarker[] {
  const faults = timeline?.faults ?? report.faults.map((f) => ({ at_ms: f.at_ms, action: f.action, target: f.target, ...(f.for_ms === undefined ? {} : { until_ms: f.at_ms + f.for_ms }) }));
  return faults.map((f) => ({ fromMs: f.at_ms, ...(f.until_ms === undefined ? {} : { untilMs: f.until_ms }), label: `${f.action} ${f.target}` }));
}

function chartsSection(report: Report, timeline: Timeline | undefined): string {
  if (timeline === undefined) {
    return `<section id="charts"><h2>Over time</h2><p class="note" id="no-timeline">The time series are not available for ${report.mode === 'live' ? 'live runs' : 'this run'} yet: the simulated run of the same scenario and seed draws them (<code>twin run</code> without <code>--mode live</code>).</p></section>`;
  }
  const marks = markers(report, timeline);
  const seconds = (v: readonly (number | null)[]) => v.map((x) => (x === null ? null : Math.round(x / 100) / 10));
  const bucket = formatMs(timeline.bucket_ms);
  const charts: [string, string, string, ChartLine[]][] = [
    ['chart-queue-depth', 'Queue depth', 'builds / jobs', [
      { label: 'run queue (builds)', color: '#2563eb', values: timeline.run_queue_depth.max },
      { label: 'Nomad jobs pending', color: '#d97706', values: timeline.pending_jobs.max },
    ]],
    ['chart-queue-time', 'Queue time of the builds that started', 'seconds', [
      { label: 'max queue time (s)', color: '#dc2626', values: seconds(timeline.queue_time_max_ms) },
      { label: 'mean queue time (s)', color: '#7c3aed', values: seconds(timeline.queue_time_mean_ms) },
    ]],
    ['chart-fleet', 'Fleet: ready Nomad clients and running tasks', 'clients / tasks', [
      { label: 'running tasks', color: '#059669', values: timeline.running_tasks.max },
      { label: 'ready clients (mean)', color: '#0f172a', values: timeline.ready_clients.mean },
    ]],
    ['chart-started', 'Builds started', `per ${bucket}`, [{ label: 'builds started', color: '#64748b', values: timeline.builds_started, bars: true }]],
  ];
  return [
    '<section id="charts">',
    '<h2>Over time</h2>',
    `<p class="note">One point per ${escapeHtml(bucket)} of virtual time (the largest value in it unless the line says mean). Faults are shaded from when they were injected until they undid themselves.</p>`,
    ...charts.map(([id, chartTitle, yLabel, lines]) => chartFigure({ id, title: chartTitle, yLabel, xMs: timeline.t_ms, lines, markers: marks })),
    '</section>',
  ].join('\n');
}

function ledger(report: Report): string {
  const b = report.builds;
  const sum = b.succeeded + b.failed + b.lost + b.stuck;
  const holds = sum === b.triggered && report.ledger.conserved;
  const rows: [string, string, number][] = [
    ['succeeded', 'builds.succeeded', b.succeeded],
    ['failed', 'builds.failed', b.failed],
    ['lost', 'builds.lost', b.lost],
    ['stuck (left Running)', 'builds.stuck', b.stuck],
    ['triggered', 'builds.triggered', b.triggered],
    ['not triggered (webhooks that never became builds)', 'builds.not_triggered', b.not_triggered],
    ['retried', 'builds.retried', b.retried],
  ];
  return [
    '<section id="ledger">',
    '<h2>Build ledger</h2>',
    '<table><thead><tr><th>fate</th><th class="num">builds</th></tr></thead><tbody>',
    ...rows.map(([label, path, n]) => `<tr${path === 'builds.triggered' ? ' class="total"' : ''}><td>${escapeHtml(label)}</td><td class="num" data-field="${path}">${formatNumber(n)}</td></tr>`),
    '</tbody></table>',
    `<p>Conservation, <code>succeeded + failed + lost + stuck = triggered</code>: <code id="equation">${escapeHtml(report.ledger.equation)}</code> <span class="badge ${holds ? 'pass' : 'fail'}" id="conservation">${holds ? 'holds' : 'does not hold'}</span></p>`,
    '</section>',
  ].join('\n');
}

function expectations(report: Report): string {
  if (report.expectations.length === 0) return '<section id="expectations"><h2>Expectations</h2><p>The scenario sets no expectations.</p></section>';
  const passed = report.expectations.filter((e) => e.passed).length;
  const cell = (e: ExpectationResult, v: ExpectationResult['actual'], text: string) => (typeof v === 'number' && isDurationMetric(e.metric) ? `${text} (${formatMs(v)})` : text);
  return [
    '<section id="expectations">',
    '<h2>Expectations</h2>',
    `<p>${passed} of ${report.expectations.length} passed.</p>`,
    '<table><thead><tr><th></th><th>metric</th><th>expected</th><th>actual</th><th>note</th></tr></thead><tbody>',
    ...report.expectations.map(
      (e) =>
        `<tr class="${e.passed ? 'pass' : 'fail'}"><td><span class="badge ${e.passed ? 'pass' : 'fail'}">${e.passed ? 'pass' : 'fail'}</span></td><td><code>${escapeHtml(e.metric)}</code></td>` +
        `<td>${escapeHtml(cell(e, e.expected, comparisonText(e.op, e.expected)))}</td>` +
        `<td>${e.error !== undefined && e.actual === null ? '—' : escapeHtml(cell(e, e.actual, valueText(e.actual)))}</td>` +
        `<td>${escapeHtml(e.error ?? '')}</td></tr>`,
    ),
    '</tbody></table>',
    '</section>',
  ].join('\n');
}

function faults(report: Report): string {
  if (report.faults.length === 0) return '<section id="faults"><h2>Faults</h2><p>No faults were injected.</p></section>';
  return [
    '<section id="faults">',
    '<h2>Faults</h2>',
    '<table><thead><tr><th>at</th><th>action</th><th>target</th><th>for</th><th>observed severity</th></tr></thead><tbody>',
    ...report.faults.map(
      (f) =>
        `<tr class="fault"><td>${formatAt(f.at_ms)}</td><td><code>${escapeHtml(f.action)}</code></td><td><code>${escapeHtml(f.target)}</code>${f.count === undefined ? '' : ` ×${formatNumber(f.count)}`}</td>` +
        `<td>${f.for_ms === undefined ? '' : formatAt(f.for_ms)}</td><td>${escapeHtml(f.observed_severity)}</td></tr>`,
    ),
    '</tbody></table>',
    '</section>',
  ].join('\n');
}

function symptoms(report: Report): string {
  const { note, rows } = symptomsSection(report);
  const text = (t: string) => escapeHtml(t).replace(/`([^`]+)`/g, '<code>$1</code>');
  if (rows.length === 0) return `<section id="symptoms"><h2>Symptoms</h2><p>${text(note)}</p></section>`;
  return [
    '<section id="symptoms">',
    '<h2>Symptoms</h2>',
    `<p>${text(note)}</p>`,
    `<table><thead><tr>${SYMPTOM_COLUMNS.map((c, i) => `<th${i >= 4 ? ' class="num"' : ''}>${c}</th>`).join('')}</tr></thead><tbody>`,
    ...rows.map((r) => `<tr class="symptom"><td><code>${escapeHtml(r[0]!)}</code></td><td>${escapeHtml(r[1]!)}</td><td>${text(r[2]!)}</td><td>${escapeHtml(r[3]!)}</td><td class="num">${r[4]}</td><td class="num">${r[5]}</td><td class="num">${r[6]}</td></tr>`),
    '</tbody></table>',
    '</section>',
  ].join('\n');
}

function affectedBuilds(report: Report): string {
  const all = report.affected_builds;
  if (all.length === 0) return '<section id="affected"><h2>Affected builds</h2><p>No build was affected.</p></section>';
  const shown = all.slice(0, AFFECTED_BUILDS_SHOWN);
  // report.json names a bounded number of builds; the counts say how many there were in all.
  const b = report.builds;
  const total = b.failed + b.lost + b.stuck + b.not_triggered;
  const note =
    `In all, <span id="affected-count">${formatNumber(total)}</span> ${total === 1 ? 'build' : 'builds'} did not succeed or ${total === 1 ? 'was' : 'were'} never triggered ` +
    `(${formatNumber(b.failed)} failed, ${formatNumber(b.lost)} lost, ${formatNumber(b.stuck)} stuck, ${formatNumber(b.not_triggered)} not triggered); ${formatNumber(b.retried)} retried. ` +
    (shown.length < all.length ? `The first ${shown.length} of the ${all.length} that report.json names:` : `report.json names ${all.length === 1 ? 'it' : `these ${all.length}`}:`);
  return [
    '<section id="affected">',
    '<h2>Affected builds</h2>',
    `<p>${note}</p>`,
    '<table><thead><tr><th>build</th><th>fate</th><th>at</th><th>reason</th></tr></thead><tbody>',
    ...shown.map((a) => `<tr><td><code>${escapeHtml(a.build)}</code></td><td>${escapeHtml(a.fate.replace('_', ' '))}</td><td>${formatAt(a.at_ms)}</td><td>${escapeHtml(a.reason)}</td></tr>`),
    '</tbody></table>',
    '</section>',
  ].join('\n');
}

const PAGE_CSS = `body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #0f172a; margin: 24px auto; max-width: 1140px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 6px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #e2e8f0; padding-bottom: 4px; }
.verdict { display: inline-block; padding: 1px 10px; border-radius: 4px; color: #fff; font-size: 18px; }
.verdict.pass { background: #15803d; } .verdict.fail { background: #b91c1c; }
.description { color: #334155; margin: 4px 0 10px; }
.facts { display: flex; flex-wrap: wrap; gap: 6px 22px; margin: 0; } .facts div { display: flex; gap: 6px; } .facts dt { color: #64748b; } .facts dd { margin: 0; font-weight: 600; }
table { border-collapse: collapse; margin: 6px 0; } th, td { text-align: left; padding: 3px 10px; border-bottom: 1px solid #e2e8f0; vertical-align: top; }
th { color: #475569; font-weight: 600; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; } tr.total td { font-weight: 700; }
tr.fail td { background: #fef2f2; }
.badge { display: inline-block; padding: 0 6px; border-radius: 3px; color: #fff; font-size: 12px; font-weight: 600; } .badge.pass { background: #15803d; } .badge.fail { background: #b91c1c; }
figure.chart { margin: 14px 0 22px; } figcaption { font-weight: 600; margin-bottom: 4px; } .peaks { color: #475569; margin: 2px 0 0 60px; font-size: 13px; }
.note { color: #475569; } code { font: 12.5px ui-monospace, 'SFMono-Regular', Menlo, monospace; background: #f1f5f9; padding: 0 3px; border-radius: 3px; }
pre code { display: block; padding: 8px; }`;
