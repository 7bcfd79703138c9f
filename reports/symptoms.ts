import type { Report, Symptom } from '../sim/report/types.ts';
import { formatAt, formatNumber } from './markdown.ts';

/**
 * The symptoms section of report.md and report.html: what an operator would have seen of the run's failures
 * (`report.symptoms`, DESIGN.md's contract), one row per kind, in the report's order (container, view, text).
 */

/** Symptom rows a page shows; report.json holds them all. */
export const SYMPTOMS_SHOWN = 40;

export interface SymptomsSection {
  /** The sentence above the table (or instead of it). */
  note: string;
  /** container, view, what, where, count, first, last: formatted, not escaped. */
  rows: string[][];
}

export const SYMPTOM_COLUMNS = ['container', 'view', 'what was seen', 'where', 'times', 'first', 'last'] as const;

export function symptomsSection(report: Pick<Report, 'symptoms' | 'mode'>): SymptomsSection {
  const all = report.symptoms;
  if (all === undefined) return { note: `This report records no symptoms (${report.mode === 'live' ? 'a live report from before the live stack recorded them' : 'a report from before they were recorded'}).`, rows: [] };
  if (all.length === 0) return { note: 'Nothing an operator would notice was seen: no container was down, and no effect of one was missed.', rows: [] };
  const shown = all.slice(0, SYMPTOMS_SHOWN);
  const containers = new Set(all.map((s) => s.container)).size;
  const note =
    `${formatNumber(all.length)} ${all.length === 1 ? 'kind' : 'kinds'} of symptom, of ${formatNumber(containers)} ${containers === 1 ? 'container' : 'containers'}` +
    (report.mode === 'live' ? ", from what the live run saw (the faults it carried out, the builds' fates, the stores' losses, the UI and API requests that failed)" : '') +
    (shown.length < all.length ? `; the first ${shown.length} here, report.json lists all ${all.length} (\`symptoms\`).` : '.');
  return { note, rows: shown.map(row) };
}

function row(s: Symptom): string[] {
  return [s.container, s.view, s.what, s.where, formatNumber(s.count), formatAt(s.first_at_ms), formatAt(s.last_at_ms)];
}
