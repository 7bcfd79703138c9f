import { describe, expect, it } from 'vitest';
import { sampleReport } from '../sim/report/sample.ts';
import type { Symptom } from '../sim/report/types.ts';
import { loadHtmlAssets } from '../harness/html-assets.ts';
import { toMarkdown } from './markdown.ts';
import { toHtml } from './html.ts';
import { SYMPTOMS_SHOWN, symptomsSection } from './symptoms.ts';

const EXIM: Symptom[] = [
  { container: 'exim', view: 'docker-ps', what: 'listed as Exited (137)', where: 'sudo docker ps -a', count: 1, first_at_ms: 3_600_000, last_at_ms: 3_600_000 },
  { container: 'exim', view: 'email', what: 'build-failure email not sent (`Could not connect to SMTP host: exim, port: 25`)', where: "the committers' inboxes (notifier's log)", count: 7, first_at_ms: 3_700_000, last_at_ms: 9_000_000 },
];

describe('the symptoms section of report.md and report.html', () => {
  it('lists each kind of symptom with its container, view, where it is seen, how often, first and last', () => {
    const md = toMarkdown(sampleReport({ symptoms: EXIM }));
    const section = md.slice(md.indexOf('## Symptoms'), md.indexOf('## Expectations'));
    expect(section).toContain('2 kinds of symptom, of 1 container.');
    expect(section).toContain('| `exim` | email | build-failure email not sent (\\`Could not connect to SMTP host: exim, port: 25\\`) | the committers\' inboxes (notifier\'s log) | 7 | 1h1m40s | 2h30m |');
    expect(section).toContain('| `exim` | docker-ps | listed as Exited (137) | sudo docker ps -a | 1 | 1h | 1h |');
  });

  it('says when nothing was seen, and when a report has no symptoms recorded (live reports before them)', () => {
    expect(toMarkdown(sampleReport({ symptoms: [] }))).toContain('## Symptoms\n\nNothing an operator would notice was seen');
    const old = sampleReport();
    delete old.symptoms;
    expect(toMarkdown(old)).toContain('This report records no symptoms (a report from before they were recorded).');
    expect(symptomsSection({ mode: 'live', symptoms: undefined }).note).toContain('a live report from before the live stack recorded them');
    expect(symptomsSection({ mode: 'live', symptoms: EXIM }).note).toContain("from what the live run saw (the faults it carried out, the builds' fates");
  });

  it('shows the first SYMPTOMS_SHOWN rows and says where the rest are', () => {
    const many: Symptom[] = Array.from({ length: SYMPTOMS_SHOWN + 5 }, (_, i) => ({ ...EXIM[0]!, container: `c${String(i).padStart(3, '0')}` }));
    const s = symptomsSection({ mode: 'sim', symptoms: many });
    expect(s.rows).toHaveLength(SYMPTOMS_SHOWN);
    expect(s.note).toContain(`the first ${SYMPTOMS_SHOWN} here, report.json lists all ${SYMPTOMS_SHOWN + 5}`);
  });

  it('renders the same rows in report.html, escaped, code spans as <code>', async () => {
    const hostile: Symptom = { ...EXIM[0]!, container: '<img src=x>', what: '`a` <script>alert(1)</script>' };
    const html = toHtml(sampleReport({ symptoms: [...EXIM, hostile] }), undefined, await loadHtmlAssets());
    const section = html.slice(html.indexOf('<section id="symptoms">'), html.indexOf('<section id="affected">'));
    expect(section.match(/<tr class="symptom">/g)).toHaveLength(3);
    expect(section).toContain('<td>build-failure email not sent (<code>Could not connect to SMTP host: exim, port: 25</code>)</td>');
    expect(section).toContain('<td class="num">7</td><td class="num">1h1m40s</td><td class="num">2h30m</td>');
    expect(section).not.toContain('<script>');
    expect(section).not.toContain('<img');
  });
});
