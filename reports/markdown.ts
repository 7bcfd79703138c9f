import { comparisonText, valueText } from '../sim/report/expectations.ts';
import { isDurationMetric } from '../sim/report/paths.ts';
import type { ExpectationResult, LiveSection, ObservedSeverity, Percentiles, Report } from '../sim/report/types.ts';
import type { Agreement } from '../sim/agreement.ts';
import { formatDurationMs } from '../sim/util/duration.ts';
import { SYMPTOM_COLUMNS, symptomsSection } from './symptoms.ts';

/**
 * `report.md`: the report as a page a person reads (GitHub-flavoured Markdown).
 *
 * Numbers are formatted here, by hand, never with `toLocaleString`: the page must be byte-identical on
 * every machine for the same report.
 */
export function toMarkdown(report: Report): string {
  const sections = [
    header(report),
    summary(report),
    ledger(report),
    queueTimes(report),
    throughputAndCapacity(report),
    dataLoss(report),
    faults(report),
    symptoms(report),
    expectations(report),
    affectedBuilds(report),
    metrics(report),
    ...(report.live ? [liveRun(report.live)] : []),
    ...(report.agreement ? [agreement(report.agreement)] : []),
    replay(report),
  ];
  return `${sections.map((lines) => lines.join('\n')).join('\n\n')}\n`;
}

/** Affected builds listed on the page; the full list is in report.json. */
export const AFFECTED_BUILDS_SHOWN = 20;

const SEVERITY_MEANING: Record<ObservedSeverity, string> = {
  none: 'no fault was injected',
  mild: 'no build affected and no data lost',
  moderate: 'some builds failed, were delayed or were not triggered, but nothing that was stored is lost',
  severe: 'stored data lost, builds or workflows left corrupt, or a major loss of functionality',
};

function header(report: Report): string[] {
  const verdict = report.passed ? '✅ PASS' : '❌ FAIL';
  const lines = [`# ${verdict}: ${inline(report.scenario)}`, ''];
  if (report.description !== undefined && report.description.trim() !== '') lines.push(`> ${inline(report.description)}`, '');
  lines.push(`Version ${inline(report.version)} · ${inline(report.mode)} mode · seed ${formatNumber(report.seed)}`);
  return lines;
}

function summary(report: Report): string[] {
  const b = report.builds;
  const ran = `${formatAt(report.duration_ms)} of workload`;
  const ended = `the run ended at ${formatAt(report.ended_at_ms)} of virtual time`;
  let builds: string;
  if (b.triggered === 0) {
    builds = `No builds were triggered during ${ran} (${ended}).`;
  } else {
    const fates: string[] = [];
    if (b.succeeded === b.triggered) fates.push(`${b.triggered === 1 ? 'it' : 'all of them'} succeeded`);
    else {
      if (b.succeeded > 0) fates.push(`${count(b.succeeded)} succeeded`);
      if (b.failed > 0) fates.push(`${count(b.failed)} failed`);
      if (b.lost > 0) fates.push(`${count(b.lost)} ${b.lost === 1 ? 'was' : 'were'} lost`);
      if (b.stuck > 0) fates.push(`${count(b.stuck)} ${b.stuck === 1 ? 'was' : 'were'} left stuck`);
      if (fates.length === 0) fates.push('none reached a final state');
    }
    builds = `${plural(b.triggered, 'build was', 'builds were')} triggered during ${ran} (${ended}): ${sentenceList(fates)}.`;
  }
  const extras: string[] = [];
  if (b.retried > 0) extras.push(`${plural(b.retried, 'build was', 'builds were')} retried`);
  if (b.not_triggered > 0) extras.push(`${plural(b.not_triggered, 'webhook', 'webhooks')} never became ${b.not_triggered === 1 ? 'a build' : 'builds'}`);
  const extra = extras.length > 0 ? ` ${capitalise(sentenceList(extras))}.` : '';

  const q = report.queue_time_ms;
  const queue =
    b.triggered === 0
      ? ''
      : ` At the 95th percentile a build waited ${formatMs(q.p95)} in the queue before its first task ran (median ${formatMs(q.p50)}, longest ${formatMs(q.max)}).`;

  const worst = report.faults.length > 1 ? ` (the worst of ${report.faults.length} faults)` : '';
  const severity =
    report.faults.length === 0
      ? ` No faults were injected; observed severity: **${report.observed_severity}**.`
      : ` Observed severity: **${report.observed_severity}**${worst}: ${SEVERITY_MEANING[report.observed_severity]}.`;

  const failedCount = report.expectations.filter((e) => !e.passed).length;
  const verdict =
    report.expectations.length === 0
      ? ' The scenario sets no expectations.'
      : failedCount === 0
        ? ` All ${plural(report.expectations.length, 'expectation', 'expectations')} passed.`
        : ` ${failedCount} of ${plural(report.expectations.length, 'expectation', 'expectations')} failed.`;

  const ledgerNote = report.ledger.conserved ? '' : ' The build ledger does not add up (see below).';
  return ['## Summary', '', `${builds}${extra}${queue}${severity}${verdict}${ledgerNote}`];
}

function ledger(report: Report): string[] {
  const b = report.builds;
  const sum = b.succeeded + b.failed + b.lost + b.stuck;
  const holds = sum === b.triggered;
  const arithmetic = `${b.succeeded} + ${b.failed} + ${b.lost} + ${b.stuck} = ${sum}`;
  const verdict = holds
    ? `${arithmetic} ✅ holds.`
    : `${arithmetic} ≠ ${b.triggered} ❌ does not hold (${describeGap(b.triggered - sum)}).`;
  const lines = [
    '## Build ledger',
    '',
    table(
      ['fate', 'builds'],
      [
        ['succeeded', formatNumber(b.succeeded)],
        ['failed', formatNumber(b.failed)],
        ['lost', formatNumber(b.lost)],
        ['stuck (left Running)', formatNumber(b.stuck)],
        ['**triggered**', `**${formatNumber(b.triggered)}**`],
        ['not triggered (webhooks that never became builds)', formatNumber(b.not_triggered)],
        ['retried', formatNumber(b.retried)],
      ],
      ['left', 'right'],
    ),
    '',
    `Conservation, \`succeeded + failed + lost + stuck = triggered\`: ${verdict}`,
  ];
  if (!holds || !report.ledger.conserved) {
    const state = report.ledger.conserved ? 'conserved' : 'not conserved';
    lines.push('', `The run's own ledger check says ${state}: ${code(report.ledger.equation)}.`);
  }
  const w = report.webhooks;
  const f = report.workflows;
  lines.push(
    '',
    `Webhooks: ${formatNumber(w.received)} received, ${formatNumber(w.accepted)} accepted, ${formatNumber(w.dropped)} dropped. ` +
      `Workflows: ${formatNumber(f.started)} started, ${formatNumber(f.succeeded)} succeeded, ${formatNumber(f.failed)} failed, ${formatNumber(f.not_started)} not started.`,
  );
  return lines;
}

function describeGap(gap: number): string {
  return gap > 0 ? `${plural(gap, 'build has', 'builds have')} no fate` : `${plural(-gap, 'fate is', 'fates are')} counted twice`;
}

function queueTimes(report: Report): string[] {
  const row = (name: string, p: Percentiles): string[] => [name, ...[p.mean, p.p50, p.p95, p.p99, p.max].map(formatMs)];
  return [
    '## Queue time',
    '',
    table(
      ['', 'mean', 'p50', 'p95', 'p99', 'max'],
      [row('queue time', report.queue_time_ms), row(`run-queue latency (${code('circle.run-queue.latency')})`, report.run_queue_latency_ms)],
      ['left', 'right', 'right', 'right', 'right', 'right'],
    ),
    '',
    'Queue time is what the Insights page shows as queued: from entering the run queue until the first task runs on a Nomad client ' +
      '(picard-dispatcher, the config fetch, scheduling and the wait for capacity). Run-queue latency is its first part: until picard-dispatcher accepts the build.',
  ];
}

function throughputAndCapacity(report: Report): string[] {
  const t = report.throughput;
  const c = report.capacity;
  const v = report.vm_service;
  return [
    '## Throughput and capacity',
    '',
    table(
      ['measure', 'value'],
      [
        ['builds per hour (mean)', formatNumber(t.builds_per_hour)],
        ['builds per hour (peak)', formatNumber(t.peak_builds_per_hour)],
        ['tasks completed', formatNumber(t.tasks_completed)],
        ['Nomad clients', formatNumber(c.nomad_clients)],
        ['usable per client (after the 2 vCPU / 4 GB reservation)', `${formatNumber(c.usable_cpu_milli_per_client / 1000)} vCPU, ${formatNumber(c.usable_memory_mb_per_client / 1024)} GB`],
        ['peak running tasks', formatNumber(c.peak_running_tasks)],
        ['CPU utilisation (mean)', formatPercent(c.mean_cpu_utilisation)],
        ['CPU utilisation (peak)', formatPercent(c.peak_cpu_utilisation)],
        ['peak pending jobs', formatNumber(c.peak_pending_jobs)],
        ['VM service: instances launched / terminated', `${formatNumber(v.instances_launched)} / ${formatNumber(v.instances_terminated)}`],
        ['VM service: preallocated instances used', formatNumber(v.preallocated_used)],
        ['VM service: mean wait for an instance', formatMs(v.mean_wait_ms)],
      ],
      ['left', 'right'],
    ),
  ];
}

function dataLoss(report: Report): string[] {
  const d = report.data_loss;
  const rows: [string, number][] = [
    ['step output', d.step_output],
    ['artifacts', d.artifacts],
    ['test results', d.test_results],
    ['audit events', d.audit_events],
  ];
  const lost = rows.filter(([, n]) => n !== 0);
  const sentence = lost.length === 0 ? 'No stored data was lost.' : `Lost: ${sentenceList(lost.map(([name, n]) => `${name} (${formatNumber(n)})`))}.`;
  return ['## Data loss', '', sentence, '', table(['data', 'lost'], rows.map(([name, n]) => [name, formatNumber(n)]), ['left', 'right'])];
}

function faults(report: Report): string[] {
  if (report.faults.length === 0) return ['## Faults', '', 'No faults were injected.'];
  const rows = report.faults.map((f) => [
    formatAt(f.at_ms),
    code(f.action),
    f.count === undefined ? code(f.target) : `${code(f.target)} ×${formatNumber(f.count)}`,
    f.for_ms === undefined ? '' : formatAt(f.for_ms),
    f.observed_severity,
  ]);
  return ['## Faults', '', table(['at', 'action', 'target', 'for', 'observed severity'], rows)];
}

function symptoms(report: Report): string[] {
  const { note, rows } = symptomsSection(report);
  if (rows.length === 0) return ['## Symptoms', '', note];
  return ['## Symptoms', '', note, '', table(SYMPTOM_COLUMNS, rows.map((r) => [code(r[0]!), r[1]!, inline(r[2]!), inline(r[3]!), r[4]!, r[5]!, r[6]!]), ['left', 'left', 'left', 'left', 'right', 'right', 'right'])];
}

function expectations(report: Report): string[] {
  if (report.expectations.length === 0) return ['## Expectations', '', 'The scenario sets no expectations.'];
  const passedCount = report.expectations.filter((e) => e.passed).length;
  const rows = report.expectations.map((e) => [
    e.passed ? '✅' : '❌',
    code(e.metric),
    expectedCell(e),
    actualCell(e),
    e.error === undefined ? '' : inline(e.error),
  ]);
  return [
    '## Expectations',
    '',
    `${passedCount} of ${report.expectations.length} passed.`,
    '',
    table(['', 'metric', 'expected', 'actual', 'note'], rows),
  ];
}

function expectedCell(e: ExpectationResult): string {
  const text = inline(comparisonText(e.op, e.expected));
  return typeof e.expected === 'number' && isDurationMetric(e.metric) ? `${text} (${formatMs(e.expected)})` : text;
}

function actualCell(e: ExpectationResult): string {
  if (e.error !== undefined && e.actual === null) return '—';
  const text = inline(valueText(e.actual));
  return typeof e.actual === 'number' && isDurationMetric(e.metric) ? `${text} (${formatMs(e.actual)})` : text;
}

function affectedBuilds(report: Report): string[] {
  const all = report.affected_builds;
  const total = Math.max(report.affected_builds_total ?? all.length, all.length);
  if (total === 0) return ['## Affected builds', '', 'No build was affected.'];
  const shown = all.slice(0, AFFECTED_BUILDS_SHOWN);
  // Say the true count and where each part of the list is: report.json lists a bounded number (the ledger's limit).
  const note =
    total === shown.length
      ? `${plural(total, 'affected build', 'affected builds')}.`
      : all.length === total
        ? `The first ${shown.length} of ${total} affected builds; report.json lists all ${total}.`
        : `The first ${shown.length} of ${total} affected builds; report.json lists the first ${all.length} (\`affected_builds\`) and counts all ${total} (\`affected_builds_total\`).`;
  const rows = shown.map((b) => [code(b.build), b.fate.replace('_', ' '), formatAt(b.at_ms), inline(b.reason)]);
  return ['## Affected builds', '', note, '', table(['build', 'fate', 'at', 'reason'], rows)];
}

function metrics(report: Report): string[] {
  // Tagged series (`name#tags`: one per Nomad client) stay in report.json; here their untagged sums stand for them.
  const all = Object.keys(report.metrics);
  const names = all.filter((n) => !n.includes('#')).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const tagged = all.length - names.length;
  if (names.length === 0) return ['## Metrics', '', 'No metrics were recorded.'];
  const rows = names.map((name) => {
    const m = report.metrics[name];
    if (m === undefined) return [code(name)];
    return [code(name), m.type, ...[m.samples, m.mean, m.min, m.max, m.last].map((n) => formatNumber(n))];
  });
  return [
    '## Metrics',
    '',
    `As telegraf would aggregate them (statsd names; timers in ms)${tagged === 0 ? '' : `; ${formatNumber(tagged)} tagged series (one per Nomad client and tag set) are in report.json as \`name#tags\``}.`,
    '',
    table(['metric', 'type', 'samples', 'mean', 'min', 'max', 'last'], rows, ['left', 'left', 'right', 'right', 'right', 'right', 'right']),
    '',
    `Engine: ${formatNumber(report.engine.events)} events, ${formatAt(report.engine.virtual_ms)} of virtual time, stopped: ${inline(report.engine.stop_reason)}.`,
  ];
}

function liveRun(live: LiveSection): string[] {
  const backends = Object.entries(live.backends).map(([name, detail]) => [name, detail]);
  return [
    '## Live run',
    '',
    `Replayed at ${formatNumber(live.time_scale)}× in ${formatNumber(live.wall_ms / 1000, 1)} s of wall time (the workload ${formatNumber(live.workload_wall_ms / 1000, 1)} s, then the drain ${formatNumber(live.drain_wall_ms / 1000, 1)} s) after a ${formatNumber(live.boot_ms / 1000, 1)} s boot; ended: ${inline(live.stop_reason)}; peak memory of the whole stack ${live.peak_pss_mb !== undefined ? `${formatNumber(live.peak_pss_mb)} MB (PSS; ${formatNumber(live.peak_rss_mb)} MB of RSS summed over its processes)` : `${formatNumber(live.peak_rss_mb)} MB`}.`,
    '',
    table(['component', 'backend'], backends),
    '',
    `Boot: ${Object.entries(live.boot_ms_by_component).map(([name, ms]) => `${name} ${formatNumber(ms / 1000, 1)} s`).join(', ')}.`,
    '',
    `Stored: ${formatNumber(live.stored.action_logs)} step-output logs, ${formatNumber(live.stored.artifacts)} artifacts and ${formatNumber(live.stored.test_results)} test results in object storage; audit events ${formatNumber(live.stored.audit_events_recorded)} recorded, ${formatNumber(live.stored.audit_events_persisted)} written under audit-logs, ${formatNumber(live.stored.audit_events_lost)} refused by RabbitMQ.`,
    '',
    ...(live.fault_log.length ? ['Faults as carried out (planned time, then when it happened and finished, in scenario time):', '', ...live.fault_log.map((l) => `- ${inline(l)}`), ''] : []),
    `Not measured live yet: ${live.not_measured.join('; ')}.`,
  ];
}

function agreement(a: Agreement): string[] {
  const rows = a.checks.map((c) => [c.what, String(c.sim), String(c.live), c.rule, c.agrees ? '✅' : '❌']);
  return [
    '## Agreement with the simulation',
    '',
    `${a.agrees ? '✅ The live run agrees' : '❌ The live run does not agree'} with the simulation of the same scenario and seed re-run with the faults as they were carried out (queue-time p50 and p95: ±${formatNumber(a.tolerance.relative * 100)} % or ${formatDurationMs(a.tolerance.absoluteMs)}, the maximum ${formatDurationMs(a.tolerance.maxAbsoluteMs)}, whichever is larger; counts: ${formatNumber(a.tolerance.countSlack)} builds plus ${formatNumber(a.tolerance.countRelative * 100)} % and the builds arriving within the latency budget of a fault's edge).`,
    '',
    table(['check', 'sim', 'live', 'rule', ''], rows),
    '',
    ...(a.caveat ? [`⚠️ Caveat: ${a.caveat}.`, ''] : []),
    'Counts side by side (not judged: a live outage lasts as long as the real restart takes):',
    '',
    table(['builds', 'sim', 'live'], a.counts.map((c) => [c.what, formatNumber(c.sim), formatNumber(c.live)]), ['left', 'right', 'right']),
  ];
}

function replay(report: Report): string[] {
  const longest = Math.max(2, ...(report.replay.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  return ['## Replay', '', `${fence}sh`, report.replay, fence];
}

// ---------------------------------------------------------------------------------------------------------
// Number formatting: by hand, so that the same number gives the same text on every machine.

/** A number with at most `decimals` decimals, trailing zeros dropped: `555.3`, `3`, `0.02`; `—` when not finite. */
export function formatNumber(n: number, decimals = 2): string {
  if (!Number.isFinite(n)) return '—';
  if (Number.isInteger(n)) return Object.is(n, -0) ? '0' : String(n);
  const fixed = n.toFixed(decimals);
  const text = fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
  return text === '-0' ? '0' : text;
}

/** A fraction as a percentage with one decimal: `0.412` → `41.2 %`. */
export function formatPercent(fraction: number): string {
  return Number.isFinite(fraction) ? `${formatNumber(fraction * 100, 1)} %` : '—';
}

/**
 * Milliseconds in human units, rounded to what a reader can use: `850 ms`, `12.4 s`, `3 min 5 s`,
 * `2 h 15 min`, `3 d 4 h`.
 */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 0) return `-${formatMs(-ms)}`;
  if (ms < 10) return `${formatNumber(ms, 1)} ms`;
  if (Math.round(ms) < 1000) return `${Math.round(ms)} ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${formatNumber(tenths / 10, 1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return pair(Math.floor(seconds / 60), 'min', seconds % 60, 's');
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1440) return pair(Math.floor(minutes / 60), 'h', minutes % 60, 'min');
  const hours = Math.round(ms / 3_600_000);
  return pair(Math.floor(hours / 24), 'd', hours % 24, 'h');
}

function pair(major: number, majorUnit: string, minor: number, minorUnit: string): string {
  return minor === 0 ? `${major} ${majorUnit}` : `${major} ${majorUnit} ${minor} ${minorUnit}`;
}

/** A virtual time or span as scenario files write it: `1h10m`, `0ms`; falls back to ms when not whole. */
export function formatAt(ms: number): string {
  return Number.isSafeInteger(ms) && ms >= 0 ? formatDurationMs(ms) : `${formatNumber(ms)} ms`;
}

// ---------------------------------------------------------------------------------------------------------
// Markdown building blocks.

type Align = 'left' | 'right';

function table(head: readonly string[], rows: readonly (readonly string[])[], align?: readonly Align[]): string {
  const rule = head.map((_, i) => ((align?.[i] ?? 'left') === 'right' ? '---:' : '---'));
  return [head, rule, ...rows].map((cells) => `| ${cells.map(cell).join(' | ')} |`).join('\n');
}

/** A table cell: one line, pipes escaped (GitHub unescapes them, inside code spans too). */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** Plain text from the run (reasons, names): one line, Markdown and HTML specials escaped. */
function inline(text: string): string {
  return oneLine(text).replace(/[\\`*_[\]<>~#]/g, (c) => `\\${c}`);
}

/** A code span that survives backticks in its content. */
function code(text: string): string {
  const line = oneLine(text);
  const longest = Math.max(0, ...(line.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = line.startsWith('`') || line.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${line}${pad}${fence}`;
}

function oneLine(text: string): string {
  // Control characters (other than the line breaks turned into spaces) have no business on a page.
  return text.replace(/\r\n|[\r\n\t]/g, ' ').replace(/[\u0000-\u001f\u007f]/g, '');
}

function plural(n: number, one: string, many: string): string {
  return `${formatNumber(n)} ${n === 1 ? one : many}`;
}

function count(n: number): string {
  return formatNumber(n);
}

function sentenceList(parts: readonly string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1] ?? ''}`;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
