import { describe, expect, it } from 'vitest';
import { sampleReport } from '../sim/report/sample.ts';
import type { AffectedBuild } from '../sim/report/types.ts';
import { formatAt, formatMs, formatNumber, formatPercent, toMarkdown } from './markdown.ts';

describe('toMarkdown', () => {
  const report = sampleReport();
  const page = toMarkdown(report);

  it('titles the page with the verdict and the scenario', () => {
    expect(page.split('\n')[0]).toBe('# ❌ FAIL: kill-rabbitmq-midday');
    expect(toMarkdown(sampleReport({ passed: true })).split('\n')[0]).toBe('# ✅ PASS: kill-rabbitmq-midday');
  });

  it('summarises in plain words: builds and their fates, p95 queue time, severity', () => {
    expect(page).toContain('2391 builds were triggered');
    expect(page).toContain('2310 succeeded, 52 failed, 27 were lost and 2 were left stuck');
    expect(page).toContain('At the 95th percentile a build waited 12.4 s');
    expect(page).toContain('Observed severity: **severe**');
  });

  it('shows the ledger table and the conservation equation with its numbers', () => {
    expect(page).toContain('| succeeded | 2310 |');
    expect(page).toContain('| lost | 27 |');
    expect(page).toContain('`succeeded + failed + lost + stuck = triggered`: 2310 + 52 + 27 + 2 = 2391 ✅ holds.');
  });

  it('says when the ledger does not add up', () => {
    const broken = toMarkdown(
      sampleReport({
        builds: { ...report.builds, stuck: 1 },
        ledger: { conserved: false, equation: '2310 + 52 + 27 + 1 = 2390 ≠ 2391' },
      }),
    );
    expect(broken).toContain('2310 + 52 + 27 + 1 = 2390 ≠ 2391 ❌ does not hold (1 build has no fate)');
    expect(broken).toContain("The run's own ledger check says not conserved");
    expect(broken).toContain('The build ledger does not add up (see below).');
    expect(page).not.toContain('does not add up');
  });

  it('formats queue-time percentiles in human units', () => {
    expect(page).toContain('| queue time | 4.2 s | 2.4 s | 12.4 s | 3 min 5 s | 10 min 42 s |');
    expect(page).toContain('620 ms');
  });

  it('shows utilisation as a percentage, faults with compact times, data loss', () => {
    expect(page).toContain('| CPU utilisation (mean) | 41.2 % |');
    expect(page).toContain('| 1h | `kill` | `rabbitmq` | 10m | severe |');
    expect(page).toContain('| 2h30m | `terminate_instance` | `nomad_client` ×2 |  | moderate |');
    expect(page).toContain('| step output | 31 |');
  });

  it('lists every expectation with expected, actual and a mark', () => {
    for (const e of report.expectations) expect(page).toContain(`\`${e.metric}\``);
    expect(page).toContain('| ❌ | `builds.lost` | ≤ 0 | 27 |  |');
    expect(page).toContain('| ✅ | `queue_time_ms.p95` | ≤ 60000 (1 min) | 12400 (12.4 s) |  |');
    expect(page).toContain('| ✅ | `observed_severity` | = severe | severe |  |');
  });

  it('shows an expectation’s error', () => {
    const withError = toMarkdown(
      sampleReport({ expectations: [{ metric: 'builds.lots', op: 'max', expected: 0, actual: null, passed: false, error: 'did you mean `builds.lost`?' }] }),
    );
    expect(withError).toContain('| ❌ | `builds.lots` | ≤ 0 | — | did you mean \\`builds.lost\\`? |');
  });

  it('shows the replay command in a code block', () => {
    expect(page).toContain(`\`\`\`sh\n${report.replay}\n\`\`\``);
  });

  it('lists the first 20 affected builds only', () => {
    const many: AffectedBuild[] = Array.from({ length: 25 }, (_, i) => ({ build: `acme/api#${i}`, fate: 'lost', reason: 'rabbitmq killed', at_ms: 1000 * i }));
    const text = toMarkdown(sampleReport({ affected_builds: many }));
    expect(text).toContain('The first 20 of 25 affected builds');
    expect(text).toContain('`acme/api#19`');
    expect(text).not.toContain('`acme/api#20`');
  });

  it('says the true count when report.json lists only the first 50, and where each part is', () => {
    const fifty: AffectedBuild[] = Array.from({ length: 50 }, (_, i) => ({ build: `acme/api#${i}`, fate: 'lost', reason: 'rabbitmq killed', at_ms: 1000 * i }));
    const cut = toMarkdown(sampleReport({ affected_builds: fifty, affected_builds_total: 109 }));
    expect(cut).toContain('The first 20 of 109 affected builds; report.json lists the first 50 (`affected_builds`) and counts all 109 (`affected_builds_total`).');
    expect(cut).not.toContain('all of them are in report.json');
    const whole = toMarkdown(sampleReport({ affected_builds: fifty.slice(0, 30), affected_builds_total: 30 }));
    expect(whole).toContain('The first 20 of 30 affected builds; report.json lists all 30.');
    const few = toMarkdown(sampleReport({ affected_builds: fifty.slice(0, 3), affected_builds_total: 3 }));
    expect(few).toContain('3 affected builds.');
  });

  it('escapes pipes, HTML and line breaks coming from the run', () => {
    const text = toMarkdown(
      sampleReport({ affected_builds: [{ build: 'a|b', fate: 'failed', reason: 'x | y <script>\nz', at_ms: 0 }] }),
    );
    expect(text).toContain('| `a\\|b` | failed | 0ms | x \\| y \\<script\\> z |');
    expect(text).not.toContain('<script>');
  });

  it('lists metrics sorted by name', () => {
    const rows = page.split('\n').filter((line) => line.startsWith('| `circle.'));
    const names = rows.map((row) => row.split('`')[1] ?? '');
    expect(names).toEqual([...names].sort());
    expect(rows).toContain('| `circle.nomad.server_agent.jobs.pending` | gauge | 1531 | 8.4 | 0 | 183 | 0 |');
  });

  it("leaves each Nomad client's tagged series to report.json and says how many there are", () => {
    const used = 'circle.nomad.client_agent.resources.used.cpu';
    const m = { type: 'gauge' as const, samples: 3, mean: 1, max: 2, min: 0, last: 1 };
    const md = toMarkdown(sampleReport({ metrics: { [used]: m, [`${used}#drain:false,host:ip-10-0-0-1,status:ready`]: m, [`${used}#drain:true,host:ip-10-0-0-1,status:ready`]: m } }));
    expect(md.split('\n').filter((line) => line.startsWith('| `circle.'))).toEqual([`| \`${used}\` | gauge | 3 | 1 | 0 | 2 | 1 |`]);
    expect(md).toContain('; 2 tagged series (one per Nomad client and tag set) are in report.json as `name#tags`.');
    expect(page).not.toContain('tagged series');
  });

  it('handles a run without faults, builds or expectations', () => {
    const empty = toMarkdown(
      sampleReport({
        builds: { triggered: 0, succeeded: 0, failed: 0, lost: 0, stuck: 0, not_triggered: 0, retried: 0 },
        faults: [],
        observed_severity: 'none',
        expectations: [],
        affected_builds: [],
        metrics: {},
        passed: true,
      }),
    );
    expect(empty).toContain('No builds were triggered');
    expect(empty).toContain('No faults were injected');
    expect(empty).toContain('The scenario sets no expectations.');
    expect(empty).toContain('No metrics were recorded.');
  });
});

describe('number formatting', () => {
  it.each([
    [0, '0 ms'],
    [2.5, '2.5 ms'],
    [850, '850 ms'],
    [999.4, '999 ms'],
    [999.6, '1 s'],
    [1000, '1 s'],
    [12_400, '12.4 s'],
    [59_940, '59.9 s'],
    [59_960, '1 min'],
    [185_000, '3 min 5 s'],
    [3_599_600, '1 h'],
    [8_100_000, '2 h 15 min'],
    [273_600_000, '3 d 4 h'],
    [Number.NaN, '—'],
  ])('formatMs(%s) = %s', (ms, text) => {
    expect(formatMs(ms)).toBe(text);
  });

  it('formats numbers and percentages without locale', () => {
    expect(formatNumber(1234567)).toBe('1234567');
    expect(formatNumber(555.3)).toBe('555.3');
    expect(formatNumber(0.0001)).toBe('0');
    expect(formatNumber(-0)).toBe('0');
    expect(formatNumber(99.999)).toBe('100');
    expect(formatNumber(12.5, 0)).toBe('13');
    expect(formatPercent(0.967)).toBe('96.7 %');
    expect(formatPercent(1)).toBe('100 %');
  });

  it('writes virtual times as scenario files do', () => {
    expect(formatAt(4_200_000)).toBe('1h10m');
    expect(formatAt(0)).toBe('0ms');
    expect(formatAt(1.5)).toBe('1.5 ms');
  });
});
