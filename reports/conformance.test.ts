import { describe, expect, it } from 'vitest';
import { conformanceJson, conformanceJunit, conformanceMarkdown } from './conformance.ts';
import type { ConformanceRow } from '../sim/conformance/conformance.ts';

const ROWS: ConformanceRow[] = [
  {
    container: 'rabbitmq',
    condition: 'default',
    documented: 'severe',
    observed: 'severe',
    match: true,
    effect: { views: ['builds', 'ui'], seen: true },
    symptoms: ['rabbitmq (builds): stuck ×16 — the builds page (job status and failure reason)'],
    observations: ['16 builds left stuck', 'builds: triggered 1304 (baseline 1982)'],
    file: 'out/scenarios/conformance-rabbitmq-default.yaml',
    replay: 'twin run out/scenarios/conformance-rabbitmq-default.yaml --seed 1',
  },
  {
    container: 'tutum/logrotate',
    condition: 'default',
    documented: 'moderate',
    observed: 'mild',
    match: false,
    effect: { views: ['disk'], seen: true },
    symptoms: [],
    observations: ['no build affected, nothing lost', 'a | pipe & <angle> "quote"'],
    file: 'out/scenarios/conformance-tutum-logrotate-default.yaml',
    replay: 'twin run out/scenarios/conformance-tutum-logrotate-default.yaml --seed 1',
  },
  {
    container: 'federation-service',
    condition: 'no-ldap',
    documented: 'mild',
    observed: 'mild',
    match: true,
    effect: { views: ['docker-ps'], seen: true },
    symptoms: ['federation-service (docker-ps): listed as Exited (137) ×1 — sudo docker ps -a'],
    observations: ['no build affected, nothing lost'],
    file: 'out/scenarios/conformance-federation-service-no-ldap.yaml',
    replay: 'twin run out/scenarios/conformance-federation-service-no-ldap.yaml --seed 1',
  },
];
const META = { version: '2.19.6', seed: 1, protocol: 'kill at 2h, restart at 6h, 12h of the standard workload' };

describe('conformanceJson', () => {
  it('writes the contract: version, seed, rows with their fields, matched and total', () => {
    const doc = JSON.parse(conformanceJson(ROWS, META)) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(['version', 'seed', 'protocol', 'rows', 'matched', 'total']);
    expect(doc).toMatchObject({ version: '2.19.6', seed: 1, matched: 2, total: 3 });
    const rows = doc.rows as Record<string, unknown>[];
    expect(rows.map((r) => Object.keys(r).slice(0, 6))).toEqual(ROWS.map(() => ['container', 'condition', 'documented', 'observed', 'match', 'observations']));
    expect(rows[1]).toMatchObject({ container: 'tutum/logrotate', documented: 'moderate', observed: 'mild', match: false, observations: ROWS[1]!.observations });
    expect(rows[0]).toMatchObject({ effect: { views: ['builds', 'ui'], seen: true }, symptoms: ROWS[0]!.symptoms });
    expect(conformanceJson(ROWS, META)).toBe(conformanceJson(ROWS, META));
    expect(conformanceJson(ROWS, META).endsWith('}\n')).toBe(true);
  });
});

describe('conformanceMarkdown', () => {
  const md = conformanceMarkdown(ROWS, META);

  it('starts with the summary and the documented × observed counts', () => {
    expect(md.split('\n')[0]).toBe('# Severity conformance: CircleCI Server 2.19.6');
    expect(md).toContain('❌ **2 of 3 rows match** the documented severity; 1 does not.');
    expect(md).toContain('| moderate | 1 | **0** | 0 |');
    expect(md).toContain('| severe | 0 | 0 | **1** |');
  });

  it('has one line per row with ✅/❌, documented, observed and the observations, escaped for a table', () => {
    const rowLines = md.split('\n').filter((l) => /^\| (✅|❌) \|/.test(l));
    expect(rowLines).toHaveLength(3);
    expect(rowLines[0]).toBe('| ✅ | rabbitmq | default | severe | severe | yes (builds, ui) | 16 builds left stuck<br>builds: triggered 1304 (baseline 1982) |');
    expect(rowLines[1]).toContain('| ❌ | tutum/logrotate | default | moderate | mild |');
    expect(rowLines[1]).toContain('a \\| pipe & \\<angle\\> "quote"');
    expect(md).toContain('- tutum/logrotate (default): `twin run out/scenarios/conformance-tutum-logrotate-default.yaml --seed 1`');
  });

  it('lists the symptoms seen per row, and says none where there were none', () => {
    expect(md).toContain('### rabbitmq (default)\n\n- rabbitmq (builds): stuck ×16 — the builds page (job status and failure reason)\n');
    expect(md).toContain('### tutum/logrotate (default)\n\n- none\n');
    expect(md).toContain('- federation-service (docker-ps): listed as Exited (137) ×1 — sudo docker ps -a');
  });

  it('says so when every row matches', () => {
    expect(conformanceMarkdown([ROWS[0]!], META)).toContain('✅ **1 of 1 rows match** the documented severity.');
  });
});

describe('conformanceJunit', () => {
  const xml = conformanceJunit(ROWS, META);

  it('has one test case per row and a failure per mismatch, with observations and the replay line', () => {
    expect(xml.match(/<testcase /g)).toHaveLength(3);
    expect(xml.match(/<failure /g)).toHaveLength(1);
    expect(xml).toContain('<testsuites name="twin conformance" tests="3" failures="1" errors="0" skipped="0" time="0">');
    expect(xml).toContain('name="tutum/logrotate (default) is moderate"');
    expect(xml).toContain('<failure message="documented moderate, observed mild" type="severity">');
    expect(xml).toContain('- a | pipe &amp; &lt;angle&gt; &quot;quote&quot;');
    expect(xml).toContain('Rerun: twin run out/scenarios/conformance-tutum-logrotate-default.yaml --seed 1</failure>');
  });

  it('fails a row whose severity matches but whose documented effect was not seen, and says so', () => {
    const unseen: ConformanceRow = { ...ROWS[2]!, container: 'exim', condition: 'default', match: false, effect: { views: ['email'], seen: false }, symptoms: ['exim (docker-ps): listed as Exited (137) ×1 — sudo docker ps -a'] };
    const x = conformanceJunit([unseen], META);
    expect(x).toContain('<failure message="documented mild, observed mild, but documented effect (email) not seen" type="severity">');
    expect(x).toContain('symptoms:\n- exim (docker-ps): listed as Exited (137) ×1 — sudo docker ps -a\nRerun:');
    expect(conformanceMarkdown([unseen], META)).toContain('| ❌ | exim | default | mild | mild | **no** (email) |');
  });

  it('is well nested', () => {
    const stack: string[] = [];
    for (const m of xml.matchAll(/<(\/?)([a-z]+)[^>]*?(\/?)>/g)) {
      const [, close, name, self] = m;
      if (self === '/') continue;
      if (close === '/') expect(stack.pop()).toBe(name);
      else stack.push(name!);
    }
    expect(stack).toEqual([]);
  });
});
