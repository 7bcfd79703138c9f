import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sampleReport } from '../sim/report/sample.ts';
import { agreementTolerance } from '../sim/agreement.ts';
import { escapeXmlAttribute, escapeXmlText, toJunit, toJunitMany } from './junit.ts';

/**
 * A small well-formedness check: every tag is balanced, attributes are quoted and hold no raw `<` or `&`,
 * text holds no raw `<` and only known entities, and no character XML 1.0 forbids appears anywhere.
 */
function checkXml(xml: string): string[] {
  const problems: string[] = [];
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.test(xml)) problems.push('forbidden character');
  const body = xml.replace(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n/, '');
  const tag = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)>/g;
  const entity = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
  const stack: string[] = [];
  let at = 0;
  let roots = 0;
  for (const match of body.matchAll(tag)) {
    const between = body.slice(at, match.index);
    if (between.includes('<') || between.replace(entity, '').includes('&')) problems.push(`bad text at ${at}: ${between}`);
    if (stack.length === 0 && between.trim() !== '') problems.push(`text outside the root at ${at}`);
    const [, closing = '', name = '', attrs = '', selfClosing = ''] = match;
    if (attrs.replace(entity, '').includes('&')) problems.push(`raw & in attributes of <${name}>`);
    const attrNames = [...attrs.matchAll(/([\w.-]+)="/g)].map((m) => m[1]);
    if (new Set(attrNames).size !== attrNames.length) problems.push(`duplicate attribute in <${name}>`);
    if (closing !== '') {
      if (stack.pop() !== name) problems.push(`unbalanced </${name}>`);
    } else if (selfClosing === '') {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) roots++;
    at = match.index + match[0].length;
  }
  if (body.slice(at).trim() !== '') problems.push('trailing text');
  if (stack.length !== 0) problems.push(`unclosed: ${stack.join(', ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

function unescape(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos|#\d+);/g, (_, e: string) =>
    e.startsWith('#') ? String.fromCharCode(Number(e.slice(1))) : ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e] ?? '',
  );
}

const count = (xml: string, pattern: RegExp): number => (xml.match(pattern) ?? []).length;

describe('toJunit', () => {
  const report = sampleReport();
  const xml = toJunit(report);

  it('is well-formed', () => {
    expect(checkXml(xml)).toEqual([]);
    expect(checkXml('<a><b></a></b>')).not.toEqual([]);
    expect(checkXml('<a>x & y</a>')).not.toEqual([]);
  });

  it('has one suite with one testcase per expectation plus the ledger', () => {
    expect(count(xml, /<testsuite /g)).toBe(1);
    expect(count(xml, /<testcase /g)).toBe(report.expectations.length + 1);
    expect(xml).toContain('<testsuite name="kill-rabbitmq-midday" tests="4" failures="1" errors="0" skipped="0" time="0">');
    expect(xml).toContain('<testcase classname="twin.kill-rabbitmq-midday" name="builds.lost max 0" time="0">');
    expect(xml).toContain('name="observed_severity equals severe"');
    expect(xml).toContain('<testcase classname="twin.kill-rabbitmq-midday" name="ledger conservation" time="0"/>');
  });

  it('carries seed, version, mode and observed severity as properties', () => {
    expect(xml).toContain('<property name="seed" value="42"/>');
    expect(xml).toContain('<property name="version" value="2.19.6"/>');
    expect(xml).toContain('<property name="mode" value="sim"/>');
    expect(xml).toContain('<property name="observed_severity" value="severe"/>');
  });

  it('says what was expected and what came, and how to rerun, in each failure', () => {
    expect(count(xml, /<failure /g)).toBe(1);
    expect(xml).toContain('<failure message="expected builds.lost ≤ 0, got 27" type="expectation">');
    const bodies = [...xml.matchAll(/<failure [^>]*>([^<]*)<\/failure>/g)].map((m) => m[1] ?? '');
    expect(bodies).toHaveLength(1);
    for (const body of bodies) expect(body).toContain(`Rerun: ${report.replay}`);
  });

  it('fails the ledger testcase when the ledger is not conserved', () => {
    const broken = toJunit(sampleReport({ ledger: { conserved: false, equation: '1 + 0 + 0 + 0 = 1 ≠ 2' } }));
    expect(checkXml(broken)).toEqual([]);
    expect(broken).toContain('failures="2"');
    expect(broken).toMatch(/name="ledger conservation" time="0">\n\s*<failure message="[^"]*1 \+ 0 \+ 0 \+ 0 = 1 ≠ 2"[^>]*>[^<]*Rerun: twin run/);
  });

  it('adds a live run\'s agreement with the simulation as a testcase, failing with the checks that disagree', () => {
    const checks = [
      { what: 'observed severity', sim: 'severe', live: 'severe', agrees: true, rule: 'equal' },
      { what: 'lost (builds)', sim: 89, live: 0, agrees: false, rule: 'both present or both absent' },
    ];
    const agreement = { agrees: false, tolerance: agreementTolerance(60), checks, counts: [] };
    const live = sampleReport({ mode: 'live', replay: 'twin run x.yaml --seed 1 --mode live', agreement });
    const xml = toJunit(live);
    expect(checkXml(xml)).toEqual([]);
    expect(xml).toContain('name="agreement with the simulation" time="0">');
    expect(xml).toContain('<failure message="the live run does not agree with the simulation: lost (builds)" type="expectation">lost (builds): sim 89, live 0 (both present or both absent)\nRerun: twin run x.yaml --seed 1 --mode live</failure>');
    expect(toJunit(sampleReport({ mode: 'live', agreement: { ...agreement, agrees: true, checks: [checks[0]!] } }))).toContain('name="agreement with the simulation" time="0"/>');
    expect(toJunit(sampleReport())).not.toContain('agreement with the simulation');
  });

  it('escapes &, <, > and quotes in scenario names, errors and replay lines', () => {
    const nasty = sampleReport({
      scenario: 'a<b>&"c\'',
      replay: 'twin run "x&y.yaml" --seed 1 <in',
      expectations: [{ metric: 'builds.<lost>', op: 'max', expected: '&', actual: null, passed: false, error: 'no field `<lost>` & "so on"' }],
    });
    const out = toJunit(nasty);
    expect(checkXml(out)).toEqual([]);
    expect(out).toContain('<testsuite name="a&lt;b&gt;&amp;&quot;c&apos;"');
    expect(out).toContain('classname="twin.a&lt;b&gt;&amp;&quot;c&apos;"');
    expect(out).toContain('Rerun: twin run &quot;x&amp;y.yaml&quot; --seed 1 &lt;in</failure>');
    expect(out).toContain('no field `&lt;lost&gt;` &amp; &quot;so on&quot;');
  });

  it('strips characters XML cannot hold and keeps line breaks in attributes as references', () => {
    expect(escapeXmlText('a\u0000b\u001bc\uFFFFd\ud800e')).toBe('abcde');
    expect(escapeXmlAttribute('one\ntwo\tthree')).toBe('one&#10;two&#9;three');
    expect(escapeXmlText('one\ntwo')).toBe('one\ntwo');
  });

  it('stays well-formed and round-trips any scenario name and error text (property)', () => {
    // Mostly the characters that matter, so that every run meets them; any code unit otherwise.
    const unit = fc.oneof(
      fc.constantFrom('&', '<', '>', '"', "'", '\n', '\t', '\r', '\u0000', '\u001b', '\ud800', '\udc00', '\uFFFE', ']', ';', '#'),
      fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
    );
    const text = fc.string({ unit });
    fc.assert(
      fc.property(text, text, (name, error) => {
        const out = toJunit(
          sampleReport({ scenario: name, expectations: [{ metric: 'm', op: 'equals', expected: 1, actual: 2, passed: false, error }] }),
        );
        if (checkXml(out).length > 0) return false;
        const suiteName = /<testsuite name="([^"]*)"/.exec(out)?.[1] ?? '';
        const allowed = name.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '');
        return unescape(suiteName) === allowed;
      }),
    );
  });
});

describe('toJunitMany', () => {
  it('puts several suites in one document with totals', () => {
    const passing = sampleReport({
      scenario: 'baseline',
      passed: true,
      expectations: [{ metric: 'builds.lost', op: 'max', expected: 0, actual: 0, passed: true }],
    });
    const xml = toJunitMany([sampleReport(), passing]);
    expect(checkXml(xml)).toEqual([]);
    expect(count(xml, /<testsuite /g)).toBe(2);
    expect(count(xml, /<testcase /g)).toBe(4 + 2);
    expect(xml).toContain('<testsuites name="twin" tests="6" failures="1" errors="0" skipped="0" time="0">');
    expect(xml).toContain('<testsuite name="baseline" tests="2" failures="0"');
  });

  it('writes an empty but valid document for no reports', () => {
    const xml = toJunitMany([]);
    expect(checkXml(xml)).toEqual([]);
    expect(xml).toContain('tests="0" failures="0"');
  });
});
