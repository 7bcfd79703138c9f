import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { loadHtmlAssets } from '../harness/html-assets.ts';
import { summariseTune, type QueueTimeSeries, type TuneCellResult, type TuneResult } from '../sim/tune/tune-result.ts';
import { parseTargets } from '../sim/tune/targets.ts';
import { gridCells } from '../sim/tune/sweep.ts';
import { renderTuneFiles } from './tune.ts';
import { COLORS } from './tune-html.ts';
import { CHROMIUM, hasChromium, openInChromium, type OpenedPage } from './chromium-page.ts';

if (!hasChromium) console.log(`reports/tune-html.live.test.ts: skipped, ${CHROMIUM} is missing (install the Debian package: apt-get install chromium)`);

const rgb = (hex: string): [number, number, number] => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];

/**
 * A 5 × 2 sweep (fleet size × scheduler) with costs and queue times that make a known front: more clients cost
 * more and queue less; spread costs a little more than binpack. The recommended cell is the cheapest under 30 s.
 */
function sweepResult(): { result: TuneResult; series: QueueTimeSeries } {
  const axes = [{ key: 'topology.nomad_clients.count', values: [4, 6, 8, 10, 12] }, { key: 'topology.scheduler', values: ['binpack', 'spread'] }];
  const cells = gridCells(axes);
  const runs: TuneCellResult[] = cells.map((params, i) => {
    const n = params['topology.nomad_clients.count'] as number;
    const spread = params['topology.scheduler'] === 'spread' ? 1 : 0;
    const machines = n * 9.2 + spread * 3;
    const p95 = Math.round(600_000 / (n - 3) ** 2) + spread * 500;
    const waiting = p95 / 1000;
    return {
      cellIndex: i, replication: 0, seed: i, params, scenario: 'html-sweep',
      cost: { total_per_day: machines + waiting, machines_per_day: machines, vm_service_per_day: 0, waiting_per_day: waiting },
      queue_time_ms: { mean: p95 / 3, p50: p95 / 4, p95, p99: p95 * 2, max: p95 * 3 },
      capacity_wait_ms: null,
      vm_service: { mean_wait_ms: 0, instance_hours: null, dlc_without_cache: null },
      utilisation: { mean_cpu: 4 / n, peak_cpu: 1, fragmentation: null },
      throughput: { builds_per_hour: 50, peak_builds_per_hour: 80, tasks_completed: 1200 },
      builds: { triggered: 1200, succeeded: 1200, failed: 0, lost: 0, stuck: 0, not_triggered: 0, retried: 0 },
      autoscaling: null, expectations_passed: true, events: 1, queue_time_series: { bucket_ms: 0, t_ms: [], mean_ms: [], max_ms: [] },
    };
  });
  const result = summariseTune({ scenario: 'html-sweep', file: 'x.yaml', seed: 1, sample: 'grid', gridCells: cells.length, replications: 1, sweep: axes, targets: parseTargets(['p95_queue_s<=30']), replay: 'twin tune x.yaml' }, cells, runs);
  // A day in 10-minute buckets: queue time rising to a peak at 14:00 (bucket 84).
  const t = Array.from({ length: 144 }, (_, i) => i * 600_000);
  const series = { bucket_ms: 600_000, t_ms: t, mean_ms: t.map((_, i) => 1000 + 20_000 * Math.exp(-(((i - 84) / 12) ** 2))), max_ms: t.map((_, i) => 2000 + 60_000 * Math.exp(-(((i - 84) / 12) ** 2))) };
  return { result, series };
}

describe.skipIf(!hasChromium)('tune.html in headless Chromium', () => {
  const { result, series } = sweepResult();
  const dir = mkdtempSync(join(tmpdir(), 'twin-tune-html-'));
  const file = join(dir, 'tune.html');
  let opened: OpenedPage;
  let page: Page;

  beforeAll(async () => {
    writeFileSync(file, renderTuneFiles(result, { assets: loadHtmlAssets(), recommendedSeries: series })['tune.html']!);
    opened = await openInChromium(file, dir, '/tmp/tune-html.png');
    page = opened.page;
  }, 120_000);

  afterAll(async () => {
    await opened?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has a recommended cell and a front of several cells to draw', () => {
    expect(result.recommended?.cell).toBe(4);
    expect(result.pareto.map((p) => p.cell)).toEqual([4, 6, 8]);
  });

  it('loads with no console error, no page error and no request but the page itself', () => {
    expect(opened.consoleErrors).toEqual([]);
    expect(opened.requests).toEqual([opened.url]);
  });

  it('draws every cell as a point, the front as a line, and the recommended cell where its values put it', async () => {
    const figs = await page.$$eval('figure.tune-chart', (list) =>
      list.map((f) => {
        const canvas = f.querySelector('canvas')!;
        const ctx = canvas.getContext('2d')!;
        const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        const colours: Record<string, number> = {};
        for (let i = 0; i < px.length; i += 4) if (px[i + 3]! > 200) colours[`${px[i]},${px[i + 1]},${px[i + 2]}`] = (colours[`${px[i]},${px[i + 1]},${px[i + 2]}`] ?? 0) + 1;
        const at = f.getAttribute('data-highlight-px')!.split(',').map(Number) as [number, number];
        const h = ctx.getImageData(at[0], at[1], 1, 1).data;
        return { id: f.id, drawn: f.getAttribute('data-drawn'), points: Number(f.getAttribute('data-points')), colours, highlight: [h[0], h[1], h[2], h[3]] };
      }),
    );
    expect(figs.map((f) => f.id)).toEqual(['tune-pareto', 'tune-cost-0', 'tune-cost-1']);
    const count = (colours: Record<string, number>, [r, g, b]: [number, number, number]) =>
      Object.entries(colours).reduce((n, [k, c]) => {
        const [x, y, z] = k.split(',').map(Number) as [number, number, number];
        return Math.abs(x - r) <= 8 && Math.abs(y - g) <= 8 && Math.abs(z - b) <= 8 ? n + c : n;
      }, 0);
    for (const f of figs) {
      expect(f.drawn, f.id).toBe('true');
      // Every cell once, and the recommended cell again on top.
      expect(f.points, f.id).toBe(result.cells.length + 1);
      expect(count(f.colours, rgb(COLORS.cells)), `${f.id}: pixels of the cells' points`).toBeGreaterThan(100);
      const [r, g, b, a] = f.highlight as [number, number, number, number];
      expect([r, g, b], `${f.id}: the pixel at the recommended point`).toEqual(rgb(COLORS.recommended));
      expect(a).toBe(255);
    }
    expect(count(figs[0]!.colours, rgb(COLORS.front)), 'the Pareto line').toBeGreaterThan(20);
    expect(count(figs[1]!.colours, rgb(COLORS.cheapest)), 'the cheapest-at-each-value line').toBeGreaterThan(200);
  });

  it('draws the recommended cell\'s queue time over the day, with the peak the series has', async () => {
    expect(await page.getAttribute('#chart-recommended-queue-time', 'data-drawn')).toBe('true');
    const peaks = await page.$$eval('#chart-recommended-queue-time .peak-value', (s) => s.map((x) => Number(x.textContent)));
    expect(peaks).toEqual([62, 21]);
  });

  it('marks the recommended row in the table, as tune.json has it', async () => {
    expect(await page.$$eval('#cells tr.recommended', (rows) => rows.map((r) => r.getAttribute('data-cell')))).toEqual([String(result.recommended!.cell)]);
    expect(await page.textContent('#recommended-cell')).toBe(String(result.recommended!.cell));
    expect(await page.$$eval('#cells tbody tr', (rows) => rows.length)).toBe(result.cells.length);
  });
});
