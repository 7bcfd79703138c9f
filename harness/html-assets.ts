import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { HtmlAssets } from '../reports/charts.ts';

/**
 * The charting library's files, read once from `node_modules` and inlined into every `report.html` (the
 * report writers stay pure: they receive this text). Pinned in package.json (`uplot`).
 */
let cached: HtmlAssets | undefined;

export function loadHtmlAssets(): HtmlAssets {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const dist = (file: string) => readFileSync(require.resolve(`uplot/dist/${file}`), 'utf8');
  cached = { uplotJs: dist('uPlot.iife.min.js'), uplotCss: dist('uPlot.min.css') };
  return cached;
}
