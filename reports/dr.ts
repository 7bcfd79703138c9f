import { comparisonText, valueText } from '../sim/report/expectations.ts';
import type { DrReport } from '../sim/models/dr/dr-report.ts';
import { escapeXmlAttribute, escapeXmlText } from './junit.ts';
import { formatMs } from './markdown.ts';
import { formatDurationMs } from '../sim/util/duration.ts';

/** `twin dr`'s files: `dr-report.json`, `report.md` with its DR section, `junit.xml`. Pure, deterministic text. */
export function renderDrFiles(report: DrReport): Record<string, string> {
  return { 'dr-report.json': `${JSON.stringify(report, null, 2)}\n`, 'report.md': drMarkdown(report), 'junit.xml': drJunit(report) };
}

const ms = (v: number | null): string => (v === null ? 'never' : formatMs(v));

function sizeText(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${Math.round(bytes / 1e6)} MB`;
}

/** The backups taken (size, duration, age at the disaster) and the interval recommended for the tolerance. */
function backupLines(r: DrReport): string[] {
  const { list, strategy, lag_ms } = r.dr.backups;
  const rec = r.dr.recommendation;
  const lines: string[] = [];
  if (strategy === 'replica') lines.push(`### Backups`, '', `A replica kept ${formatMs(lag_ms ?? 0)} behind (no scheduled backups).`, '');
  else if (list.length > 0) {
    lines.push('### Backups', '', '| taken | size | took | age at the disaster | restorable |', '| --- | --- | --- | --- | --- |');
    for (const b of list) lines.push(`| ${formatDurationMs(b.at_ms)} | ${sizeText(b.size_bytes)} | ${formatMs(b.duration_ms)} | ${b.age_ms === null ? 'taken after it' : formatMs(b.age_ms)} | ${b.usable ? 'yes' : 'no'}: ${b.note} |`);
    lines.push('');
  }
  if (rec) {
    lines.push(
      '### Recommended backup interval',
      '',
      `Tolerance for data loss (recovery.rpo_tolerance): ${formatMs(rec.rpo_tolerance_ms)}. ` +
        (rec.every_ms === null && strategy !== 'replica' ? 'No candidate interval meets it. ' : rec.every_ms !== null ? `Recommended: every ${formatDurationMs(rec.every_ms)} (worst-case RPO ${ms(rec.worst_rpo_ms)}). ` : '') +
        `The scenario's own ${strategy === 'replica' ? 'lag' : 'interval'} ${rec.current_meets ? 'meets' : 'does not meet'} it.`,
      '',
      ...(rec.candidates.length > 0 ? ['| every | worst-case RPO | meets |', '| --- | --- | --- |', ...rec.candidates.map((c) => `| ${formatDurationMs(c.every_ms)} | ${ms(c.worst_rpo_ms)} | ${c.meets ? 'yes' : 'no'} |`), ''] : []),
    );
  }
  return lines;
}

export function drMarkdown(r: DrReport): string {
  const d = r.dr;
  const b = r.builds;
  const lines = [
    `# ${r.scenario}: disaster-recovery rehearsal (${r.passed ? 'passed' : 'FAILED'})`,
    '',
    ...(r.description ? [r.description, ''] : []),
    `Version ${r.version}, seed ${r.seed}, mode ${r.mode}. Replay: \`${r.replay}\``,
    '',
    '## Disaster recovery',
    '',
    `| measure | value |`,
    `| --- | --- |`,
    `| disaster | ${d.disaster.kind} at ${formatDurationMs(d.disaster.at_ms)} |`,
    `| backups | ${d.backups.strategy} every ${formatDurationMs(d.backups.every_ms)}, ${d.backups_taken} taken; restored from ${d.restored_from_ms === null ? 'none' : formatDurationMs(d.restored_from_ms)} |`,
    `| RTO (disaster until every service is up and the first new build succeeded) | ${ms(r.rto_ms)} |`,
    `| the seeds' fail-over target | ${formatMs(d.target_rto_ms)} (${d.meets_target ? 'met' : 'missed'}) |`,
    `| RPO (age of the restored data at the disaster) | ${ms(r.rpo_ms)} |`,
    `| build records written after the backup, lost | ${d.records_written_after_backup} |`,
    `| builds restored as Running or queued from the snapshot | ${d.stuck_from_snapshot} |`,
    `| stale Nomad allocations restored / left at the end | ${d.stale_allocations_restored} / ${d.stale_allocations_at_end} |`,
    `| webhooks dropped (GHE does not redeliver) | ${r.webhooks_dropped} |`,
    `| builders reach the Services machine at the end | ${d.builders_reach_services ? 'yes' : 'no'} (${d.builders_reconnected} reconnected, ${d.builders_rotated} rotated) |`,
    ...(d.records_lost_at_restore > 0 ? [`| build records replaced by the restore on the running installation | ${d.records_lost_at_restore} |`] : []),
    ...(d.settings ? [`| settings change | ${d.settings.broken} broken; ${d.settings.builds_failed} builds failed of it; ${d.settings.restored ? 'restored' : 'not restored'} |`] : []),
    '',
    ...backupLines(r),
    '### Runbook',
    '',
    '| step | status | started | took | consequence |',
    '| --- | --- | --- | --- | --- |',
    ...r.runbook.map((s) => `| \`${s.step}\` | ${s.status} | ${formatDurationMs(s.started_at_ms)} | ${s.status === 'skipped' ? '-' : formatMs(s.duration_ms)} | ${s.consequence.replace(/\|/g, '\\|')} |`),
    '',
    '### Timeline',
    '',
    ...d.timeline.map((t) => `- ${formatDurationMs(t.at_ms)}: ${t.event}`),
    '',
    '## Builds',
    '',
    `${b.triggered} triggered: ${b.succeeded} succeeded, ${b.failed} failed, ${b.lost} lost, ${b.stuck} stuck; ${b.not_triggered} webhooks never became builds. ` +
      `Queue time p95 ${formatMs(r.queue_time_ms.p95)} (baseline without the disaster: ${formatMs(r.baseline.queue_time_ms.p95)}, ${r.baseline.builds.succeeded} of ${r.baseline.builds.triggered} succeeded). ` +
      `Observed severity: ${r.observed_severity}${r.severity_because.length > 0 ? ` (${r.severity_because.join('; ')})` : ''}.`,
    '',
    '## Expectations',
    '',
    ...(r.expectations.length === 0 ? ['none'] : r.expectations.map((e) => `- ${e.passed ? '✓' : '✗'} \`${e.metric}\` ${comparisonText(e.op, e.expected)}: ${valueText(e.actual)}${e.error ? ` (${e.error})` : ''}`)),
    '',
  ];
  return lines.join('\n');
}

/** One test case per expectation, the ledger's conservation and each runbook step (a skipped step is `skipped`). */
export function drJunit(r: DrReport): string {
  const cases: string[] = [];
  let failures = 0;
  let skipped = 0;
  const add = (name: string, failure?: string): void => {
    if (failure === undefined) cases.push(`    <testcase classname="twin.dr.${escapeXmlAttribute(r.scenario)}" name="${escapeXmlAttribute(name)}" time="0"/>`);
    else {
      failures++;
      cases.push(`    <testcase classname="twin.dr.${escapeXmlAttribute(r.scenario)}" name="${escapeXmlAttribute(name)}" time="0">`, `      <failure message="${escapeXmlAttribute(failure)}">${escapeXmlText(`${failure}\nRerun: ${r.replay}`)}</failure>`, '    </testcase>');
    }
  };
  for (const e of r.expectations) add(`${e.metric} ${comparisonText(e.op, e.expected)}`, e.passed ? undefined : `got ${valueText(e.actual)}${e.error ? ` (${e.error})` : ''}`);
  add('ledger conservation', r.ledger.conserved ? undefined : r.ledger.equation);
  for (const s of r.runbook) {
    if (s.status === 'skipped') {
      skipped++;
      cases.push(`    <testcase classname="twin.dr.${escapeXmlAttribute(r.scenario)}" name="runbook ${escapeXmlAttribute(s.step)}" time="0">`, `      <skipped message="${escapeXmlAttribute(s.consequence)}"/>`, '    </testcase>');
    } else add(`runbook ${s.step}`);
  }
  const tests = r.expectations.length + 1 + r.runbook.length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="twin" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="0">`,
    `  <testsuite name="${escapeXmlAttribute(r.scenario)}" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="0">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
