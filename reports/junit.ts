import { comparisonText, valueText } from '../sim/report/expectations.ts';
import type { ExpectationResult, Report } from '../sim/report/types.ts';

/**
 * `junit.xml`: one test suite per scenario, one test case per expectation plus the ledger's conservation.
 *
 * Times are always 0 and there is no timestamp or hostname: a wall clock would make two runs of the same
 * scenario and seed differ. A failure's body ends with the replay command, so a red CI line says how to
 * reproduce it.
 */
export function toJunit(report: Report): string {
  return toJunitMany([report]);
}

/** Several scenarios' reports as one `<testsuites>` document (`twin run a.yaml b.yaml`). */
export function toJunitMany(reports: readonly Report[]): string {
  const suites = reports.map(suite);
  const tests = suites.reduce((sum, s) => sum + s.tests, 0);
  const failures = suites.reduce((sum, s) => sum + s.failures, 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="twin" tests="${tests}" failures="${failures}" errors="0" skipped="0" time="0">`,
    ...suites.flatMap((s) => s.lines),
    '</testsuites>',
    '',
  ].join('\n');
}

/** The name of the test case that checks `succeeded + failed + lost + stuck = triggered`. */
export const LEDGER_TESTCASE = 'ledger conservation';

interface Suite {
  tests: number;
  failures: number;
  lines: string[];
}

interface Case {
  name: string;
  failure?: { message: string; body: string };
}

function suite(report: Report): Suite {
  const cases: Case[] = [...report.expectations.map((e) => expectationCase(e, report.replay)), ledgerCase(report), ...(report.agreement ? [agreementCase(report)] : [])];
  const failures = cases.filter((c) => c.failure !== undefined).length;
  const classname = `twin.${report.scenario}`;
  const properties: [string, string][] = [
    ['seed', String(report.seed)],
    ['version', report.version],
    ['mode', report.mode],
    ['observed_severity', report.observed_severity],
    ['replay', report.replay],
  ];
  const lines = [
    `  <testsuite name="${attr(report.scenario)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0" time="0">`,
    '    <properties>',
    ...properties.map(([name, value]) => `      <property name="${attr(name)}" value="${attr(value)}"/>`),
    '    </properties>',
  ];
  for (const c of cases) {
    const open = `    <testcase classname="${attr(classname)}" name="${attr(c.name)}" time="0"`;
    if (c.failure === undefined) {
      lines.push(`${open}/>`);
    } else {
      lines.push(
        `${open}>`,
        `      <failure message="${attr(c.failure.message)}" type="expectation">${text(c.failure.body)}</failure>`,
        '    </testcase>',
      );
    }
  }
  lines.push('  </testsuite>');
  return { tests: cases.length, failures, lines };
}

function expectationCase(e: ExpectationResult, replay: string): Case {
  const name = `${e.metric} ${e.op} ${valueText(e.expected)}`;
  if (e.passed) return { name };
  const got = e.error === undefined ? valueText(e.actual) : `${valueText(e.actual)} (${e.error})`;
  const body = [
    `metric:   ${e.metric}`,
    `expected: ${comparisonText(e.op, e.expected)}`,
    `actual:   ${valueText(e.actual)}`,
    ...(e.error === undefined ? [] : [`error:    ${e.error}`]),
    `Rerun: ${replay}`,
  ];
  return { name, failure: { message: `expected ${e.metric} ${comparisonText(e.op, e.expected)}, got ${got}`, body: body.join('\n') } };
}

function ledgerCase(report: Report): Case {
  if (report.ledger.conserved) return { name: LEDGER_TESTCASE };
  const b = report.builds;
  const sum = b.succeeded + b.failed + b.lost + b.stuck;
  const body = [
    'succeeded + failed + lost + stuck = triggered',
    `${b.succeeded} + ${b.failed} + ${b.lost} + ${b.stuck} = ${sum}; triggered ${b.triggered}`,
    `ledger: ${report.ledger.equation}`,
    `Rerun: ${report.replay}`,
  ];
  return {
    name: LEDGER_TESTCASE,
    failure: { message: `expected every triggered build to have exactly one fate, got ${report.ledger.equation}`, body: body.join('\n') },
  };
}

/** The name of a live run's test case that compares it with the simulation of the same scenario and seed. */
export const AGREEMENT_TESTCASE = 'agreement with the simulation';

function agreementCase(report: Report): Case {
  const a = report.agreement!;
  if (a.agrees) return { name: AGREEMENT_TESTCASE };
  const off = a.checks.filter((c) => !c.agrees);
  const body = [...off.map((c) => `${c.what}: sim ${c.sim}, live ${c.live} (${c.rule})`), `Rerun: ${report.replay}`];
  return { name: AGREEMENT_TESTCASE, failure: { message: `the live run does not agree with the simulation: ${off.map((c) => c.what).join(', ')}`, body: body.join('\n') } };
}

// ---------------------------------------------------------------------------------------------------------
// XML 1.0 escaping.

/** Characters XML 1.0 cannot hold at all, even escaped: C0 controls but tab, LF, CR; U+FFFE/F; lone surrogates. */
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

/** Element text: the five specials escaped, characters XML cannot hold removed; line breaks kept. */
export function escapeXmlText(value: string): string {
  return value.replace(NOT_XML, '').replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** Attribute value: as text, and tab and line breaks as character references so parsers keep them. */
export function escapeXmlAttribute(value: string): string {
  return value.replace(NOT_XML, '').replace(/[&<>"'\t\n\r]/g, (c) => ENTITIES[c] ?? c);
}

const text = escapeXmlText;
const attr = escapeXmlAttribute;
