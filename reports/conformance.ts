import type { ConformanceRow } from '../sim/conformance/conformance.ts';
import { escapeXmlAttribute, escapeXmlText } from './junit.ts';

/**
 * The writers of `twin conformance`: pure functions from the matrix's rows to `conformance.json`,
 * `conformance.md` and `junit.xml`. No clock, no machine name: the same rows give the same bytes.
 */

/** What the rows were measured with, printed beside them. */
export interface ConformanceMeta {
  version: string;
  seed: number;
  /** The protocol in words, e.g. "kill at 2h, restart at 6h, 12h of the standard workload". */
  protocol?: string;
}

const SEVERITIES = ['mild', 'moderate', 'severe'] as const;

/** `conformance.json`: `{ version, seed, rows, matched, total }` (plus `protocol` when given). */
export function conformanceJson(rows: readonly ConformanceRow[], meta: ConformanceMeta): string {
  const matched = rows.filter((r) => r.match).length;
  const doc = {
    version: meta.version,
    seed: meta.seed,
    ...(meta.protocol === undefined ? {} : { protocol: meta.protocol }),
    rows: rows.map((r) => ({
      container: r.container,
      condition: r.condition,
      documented: r.documented,
      observed: r.observed,
      match: r.match,
      observations: [...r.observations],
      effect: { views: [...r.effect.views], seen: r.effect.seen },
      symptoms: [...r.symptoms],
      file: r.file,
      replay: r.replay,
    })),
    matched,
    total: rows.length,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** `conformance.md`: a summary, documented × observed counts, then one line per row with ✅/❌ and what was seen. */
export function conformanceMarkdown(rows: readonly ConformanceRow[], meta: ConformanceMeta): string {
  const matched = rows.filter((r) => r.match).length;
  const mismatched = rows.length - matched;
  const verdict = mismatched === 0 ? '✅' : '❌';
  const lines = [
    `# Severity conformance: CircleCI Server ${md(meta.version)}`,
    '',
    `${verdict} **${matched} of ${rows.length} rows match** the documented severity${mismatched === 0 ? '.' : `; ${mismatched} ${mismatched === 1 ? 'does' : 'do'} not.`}`,
    '',
    `Seed ${meta.seed}${meta.protocol === undefined ? '' : ` · ${md(meta.protocol)}`}. Each row kills one container and classifies the run against the same seed's fault-free baseline; the classifier never reads the documented severity.`,
    '',
    '## Documented × observed',
    '',
    '| documented ↓ / observed → | mild | moderate | severe |',
    '| --- | ---: | ---: | ---: |',
  ];
  for (const doc of SEVERITIES) {
    const cells = SEVERITIES.map((obs) => {
      const n = rows.filter((r) => r.documented === doc && r.observed === obs).length;
      return doc === obs ? `**${n}**` : String(n);
    });
    lines.push(`| ${doc} | ${cells.join(' | ')} |`);
  }
  lines.push('', '## Rows', '', '| | container | condition | documented | observed | documented effect seen | observations |', '| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const effect = `${r.effect.seen ? 'yes' : '**no**'} (${r.effect.views.join(', ')})`;
    lines.push(`| ${r.match ? '✅' : '❌'} | ${md(r.container)} | ${r.condition} | ${r.documented} | ${r.observed} | ${effect} | ${r.observations.map(md).join('<br>')} |`);
  }
  lines.push('', '## Symptoms seen', '', 'What an operator would have seen in each row beyond its baseline: the container, the view, what, how often, and where to look.', '');
  for (const r of rows) {
    lines.push(`### ${md(r.container)} (${r.condition})`, '', ...(r.symptoms.length === 0 ? ['- none'] : r.symptoms.map((x) => `- ${md(x)}`)), '');
  }
  if (lines[lines.length - 1] === '') lines.pop();
  const bad = rows.filter((r) => !r.match);
  if (bad.length > 0) {
    lines.push('', '## Replay a mismatch', '');
    for (const r of bad) lines.push(`- ${md(r.container)} (${r.condition}): \`${r.replay}\``);
  }
  return `${lines.join('\n')}\n`;
}

/** `junit.xml`: one test case per row; a mismatch is a failure whose body holds the observations and replay line. */
export function conformanceJunit(rows: readonly ConformanceRow[], meta: ConformanceMeta): string {
  const failures = rows.filter((r) => !r.match).length;
  const suite = `conformance ${meta.version}`;
  const classname = `twin.conformance.${meta.version}`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="twin conformance" tests="${rows.length}" failures="${failures}" errors="0" skipped="0" time="0">`,
    `  <testsuite name="${attr(suite)}" tests="${rows.length}" failures="${failures}" errors="0" skipped="0" time="0">`,
    '    <properties>',
    `      <property name="version" value="${attr(meta.version)}"/>`,
    `      <property name="seed" value="${meta.seed}"/>`,
    ...(meta.protocol === undefined ? [] : [`      <property name="protocol" value="${attr(meta.protocol)}"/>`]),
    '    </properties>',
  ];
  for (const r of rows) {
    const open = `    <testcase classname="${attr(classname)}" name="${attr(`${r.container} (${r.condition}) is ${r.documented}`)}" time="0"`;
    if (r.match) {
      lines.push(`${open}/>`);
      continue;
    }
    const effect = `documented effect (${r.effect.views.join(', ')}) ${r.effect.seen ? 'seen' : 'not seen'}`;
    const body = [`documented: ${r.documented}`, `observed:   ${r.observed}`, effect, ...r.observations.map((o) => `- ${o}`), 'symptoms:', ...r.symptoms.map((o) => `- ${o}`), `Rerun: ${r.replay}`].join('\n');
    const message = r.documented === r.observed ? `documented ${r.documented}, observed ${r.observed}, but ${effect}` : `documented ${r.documented}, observed ${r.observed}`;
    lines.push(
      `${open}>`,
      `      <failure message="${attr(message)}" type="severity">${escapeXmlText(body)}</failure>`,
      '    </testcase>',
    );
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

const attr = escapeXmlAttribute;

/** Table-cell text: one line, pipes and Markdown specials escaped. */
function md(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\\`*_[\]<>|~#]/g, (c) => `\\${c}`);
}
