import type { Report } from '../sim/report/types.ts';
import { toJson } from './json.ts';
import { toJunit } from './junit.ts';
import { toMarkdown } from './markdown.ts';
import { toHtml } from './html.ts';
import type { HtmlAssets } from './charts.ts';
import type { Timeline } from '../sim/metrics/timeline.ts';

/**
 * The report writers: pure functions from a report to text. Writing the files is the caller's job (the CLI),
 * so that everything here can be tested without a disk and gives the same bytes for the same report.
 */
export { toJson } from './json.ts';
export { AFFECTED_BUILDS_SHOWN, formatAt, formatMs, formatNumber, formatPercent, toMarkdown } from './markdown.ts';
export { toHtml } from './html.ts';
export { chartFigure, chartRuntime, escapeHtml, jsonForScript, type ChartSpec, type HtmlAssets } from './charts.ts';
export { escapeXmlAttribute, escapeXmlText, LEDGER_TESTCASE, toJunit, toJunitMany } from './junit.ts';

/**
 * The files `twin run` writes into its output directory for one scenario, by file name. A type alias rather
 * than an interface, so that it is assignable to `Record<string, string>` for a generic file writer.
 */
export type ReportFiles = {
  'report.json': string;
  'report.md': string;
  'junit.xml': string;
  'report.html'?: string;
};

/** What `report.html` needs beside the report: the inlined chart library and, from a simulated run, its series. */
export interface HtmlInputs {
  assets: HtmlAssets;
  timeline?: Timeline | undefined;
}

/**
 * Every file of one run's report, rendered; the caller decides where (and whether) to write them. With `html`
 * (the chart library's text, read by the caller) `report.html` is rendered too.
 */
export function renderReportFiles(report: Report, html?: HtmlInputs): ReportFiles {
  return {
    'report.json': toJson(report),
    'report.md': toMarkdown(report),
    'junit.xml': toJunit(report),
    ...(html ? { 'report.html': toHtml(report, html.timeline, html.assets) } : {}),
  };
}
