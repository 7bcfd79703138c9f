import { describe, expect, it } from 'vitest';
import { sampleReport } from '../sim/report/sample.ts';
import { TimelineRecorder, type Timeline } from '../sim/metrics/timeline.ts';
import { loadHtmlAssets } from '../harness/html-assets.ts';
import { toHtml } from './html.ts';
import { chartRuntime, escapeHtml, jsonForScript } from './charts.ts';
import { renderReportFiles } from './index.ts';

const assets = loadHtmlAssets();
const HOSTILE = `</script><script>alert("x")</script><!-- & 'q'`;

function smallTimeline(target = 'rabbitmq'): Timeline {
  const r = new TimelineRecorder(10_000);
  for (let t = 10_000; t <= 600_000; t += 10_000) {
    r.sample(t, { runQueueDepth: t > 200_000 && t < 400_000 ? 30 : 1, pendingJobs: 0, runningTasks: 5, readyClients: 3 });
    r.buildStarted(t, 1_500);
  }
  return r.timeline([{ at_ms: 200_000, action: 'kill', target, until_ms: 400_000 }]);
}

/** The page without the inlined library, whose licence comment names its home page. */
const ownText = (html: string) => html.replace(assets.uplotJs, '').replace(assets.uplotCss, '');

describe('report.html', () => {
  it('is one self-contained page: the library inline, no URL of its own', () => {
    const html = toHtml(sampleReport(), smallTimeline(), assets);
    expect(html.startsWith('<!DOCTYPE html>\n')).toBe(true);
    expect(html).toContain(assets.uplotJs);
    expect(html).toContain(assets.uplotCss);
    expect(ownText(html)).not.toMatch(/https?:\/\/|\bsrc=|<link\b/i);
    expect(html.match(/<figure class="chart"/g)).toHaveLength(4);
  });

  it('escapes what comes from the scenario, in the text and in the chart data', () => {
    const report = sampleReport({ scenario: HOSTILE, description: HOSTILE, replay: HOSTILE });
    report.affected_builds[0]!.reason = HOSTILE;
    const html = toHtml(report, smallTimeline(HOSTILE), assets);
    const own = ownText(html);
    expect(own).not.toContain('alert("x")</script>');
    expect(own).not.toContain('<!--');
    expect(own).toContain(escapeHtml(HOSTILE));
    // Only the page's own script elements close: the library, the bootstrap and the four charts' data.
    expect(own.match(/<\/script>/g)).toHaveLength(6);
    expect(JSON.parse(jsonForScript({ t: HOSTILE }))).toEqual({ t: HOSTILE });
  });

  it('shows the ledger, expectations, faults and the true count of affected builds', () => {
    const report = sampleReport();
    const html = toHtml(report, smallTimeline(), assets);
    for (const [k, v] of Object.entries(report.builds)) expect(html).toContain(`data-field="builds.${k}">${v}</td>`);
    expect(html).toContain(`<code id="equation">${escapeHtml(report.ledger.equation)}</code>`);
    expect(html.match(/<tr class="(pass|fail)">/g)).toHaveLength(report.expectations.length);
    expect(html.match(/<tr class="fault">/g)).toHaveLength(report.faults.length);
    const b = report.builds;
    expect(html).toContain(`<span id="affected-count">${b.failed + b.lost + b.stuck + b.not_triggered}</span>`);
    expect(html).toContain(`<span class="verdict ${report.passed ? 'pass' : 'fail'}" id="verdict">`);
  });

  it('says so when there is no timeline (a live run), and draws no chart', () => {
    const html = toHtml(sampleReport({ mode: 'live' }), undefined, assets);
    expect(html).toContain('id="no-timeline"');
    expect(html).toContain('not available for live runs yet');
    expect(html).not.toContain('<figure class="chart"');
  });

  it('gives the same bytes for the same inputs, and different ones for a different timeline', () => {
    const first = toHtml(sampleReport(), smallTimeline(), assets);
    expect(toHtml(structuredClone(sampleReport()), structuredClone(smallTimeline()), assets)).toBe(first);
    expect(toHtml(sampleReport(), smallTimeline('mongo'), assets)).not.toBe(first);
    expect(first).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
  });

  it('is rendered by renderReportFiles only when given the assets', () => {
    expect(Object.keys(renderReportFiles(sampleReport()))).not.toContain('report.html');
    const files = renderReportFiles(sampleReport(), { assets, timeline: smallTimeline() });
    expect(files['report.html']).toBe(toHtml(sampleReport(), smallTimeline(), assets));
  });

  it('refuses an asset that would close its own element', () => {
    expect(() => chartRuntime({ uplotJs: 'x</script>', uplotCss: '' })).toThrow(/closing tag/);
  });
});
