import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { runScenarioDetailed, type RunOutput } from '../sim/run.ts';
import { loadScenarioFile } from '../harness/scenario/load.ts';
import { loadProfile } from '../fixtures/load.ts';
import { loadHtmlAssets } from '../harness/html-assets.ts';
import { renderReportFiles } from './index.ts';
import { CHROMIUM, hasChromium, openInChromium, type OpenedPage } from './chromium-page.ts';

if (!hasChromium) console.log(`reports/html.live.test.ts: skipped, ${CHROMIUM} is missing (install the Debian package: apt-get install chromium)`);

/** Each chart's first line colour (as `toHtml` draws it) and the fault shade, in RGB (the canvas is transparent). */
const LINE_RGB: Record<string, [number, number, number]> = {
  'chart-queue-depth': [0x25, 0x63, 0xeb],
  'chart-queue-time': [0xdc, 0x26, 0x26],
  'chart-fleet': [0x05, 0x96, 0x69],
  'chart-started': [0x64, 0x74, 0x8b],
};
const SHADE_RGB: [number, number, number] = [220, 38, 38];
/** The shade's alpha, 0.13 of 255, give or take rounding; lines are opaque. */
const SHADE_ALPHA = [28, 38];
const OPAQUE = 200;

describe.skipIf(!hasChromium)('report.html in headless Chromium', () => {
  const scenario = loadScenarioFile(new URL('../scenarios/failures/kill-rabbitmq.yaml', import.meta.url).pathname);
  let run: RunOutput;
  const dir = mkdtempSync(join(tmpdir(), 'twin-html-'));
  const file = join(dir, 'report.html');
  let opened: OpenedPage;
  let page: Page;

  beforeAll(async () => {
    run = runScenarioDetailed(scenario, loadProfile(scenario.version));
    writeFileSync(file, renderReportFiles(run.report, { assets: loadHtmlAssets(), timeline: run.timeline })['report.html']!);
    opened = await openInChromium(file, dir, '/tmp/report-html.png');
    page = opened.page;
  });

  afterAll(async () => {
    await opened?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads with no console error, no page error and no request but the page itself', () => {
    expect(opened.consoleErrors).toEqual([]);
    expect(opened.requests).toEqual([opened.url]);
  });

  it('draws every chart: its line in its colour, and the faults shaded and labelled', async () => {
    const drawn = await page.$$eval('figure.chart', (figs) =>
      figs.map((f) => {
        const canvas = f.querySelector('canvas');
        const px = canvas ? canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data : new Uint8ClampedArray();
        const colours: Record<string, number> = {};
        for (let i = 0; i < px.length; i += 4) {
          const key = `${px[i]},${px[i + 1]},${px[i + 2]},${px[i + 3]}`;
          colours[key] = (colours[key] ?? 0) + 1;
        }
        return { id: f.id, drawn: f.getAttribute('data-drawn'), markers: f.getAttribute('data-markers-drawn'), colours };
      }),
    );
    expect(drawn.map((d) => d.id)).toEqual(Object.keys(LINE_RGB));
    const near = (colours: Record<string, number>, [r, g, b]: [number, number, number], [aMin, aMax]: number[]) =>
      Object.entries(colours).reduce((n, [key, count]) => {
        const [x, y, z, a] = key.split(',').map(Number) as [number, number, number, number];
        return Math.abs(x - r) <= 8 && Math.abs(y - g) <= 8 && Math.abs(z - b) <= 8 && a >= aMin! && a <= aMax! ? n + count : n;
      }, 0);
    for (const d of drawn) {
      expect(d.drawn, d.id).toBe('true');
      expect(d.markers, d.id).toBe(String(run.timeline.faults.length));
      expect(near(d.colours, LINE_RGB[d.id]!, [OPAQUE, 255]), `${d.id}: pixels of its first line`).toBeGreaterThan(100);
      expect(near(d.colours, SHADE_RGB, SHADE_ALPHA), `${d.id}: pixels of the fault shade`).toBeGreaterThan(1000);
    }
  });

  it('states the peak of each line as the timeline has it', async () => {
    const peaks = await page.$$eval('#chart-queue-depth .peak-value, #chart-queue-time .peak-value', (spans) => spans.map((s) => Number(s.textContent)));
    const top = (v: readonly (number | null)[]) => Math.max(...v.map((x) => x ?? -Infinity));
    const tl = run.timeline;
    expect(peaks).toEqual([top(tl.run_queue_depth.max), top(tl.pending_jobs.max), Math.round(top(tl.queue_time_max_ms) / 100) / 10, Math.round(top(tl.queue_time_mean_ms) / 100) / 10]);
    expect(peaks[0]).toBeGreaterThan(50);
  });

  it('shows the ledger and the verdict of report.json', async () => {
    const fields = await page.$$eval('#ledger [data-field]', (cells) => cells.map((c) => [c.getAttribute('data-field'), c.textContent]));
    expect(Object.fromEntries(fields.map(([k, v]) => [k!.replace('builds.', ''), Number(v)]))).toEqual(run.report.builds);
    expect(await page.textContent('#equation')).toBe(run.report.ledger.equation);
    expect(await page.textContent('#verdict')).toBe(run.report.passed ? 'PASS' : 'FAIL');
    expect(await page.$$eval('#expectations tbody tr', (rows) => rows.map((r) => r.className))).toEqual(run.report.expectations.map((e) => (e.passed ? 'pass' : 'fail')));
    expect(await page.$$eval('#faults tbody tr', (rows) => rows.map((r) => r.querySelectorAll('code')[1]!.textContent))).toEqual(['picard-dispatcher', 'rabbitmq']);
  });
});
