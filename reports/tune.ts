import type { TuneResult } from '../sim/tune/tune-result.ts';
import { toTuneHtml, type TuneHtmlInputs } from './tune-html.ts';
import { toTuneMarkdown } from './tune-markdown.ts';

export { toTuneHtml, type TuneHtmlInputs } from './tune-html.ts';
export { toTuneMarkdown } from './tune-markdown.ts';

/** `tune.json`: the result as built (its keys in the order `summariseTune` sets them), 2-space indent, a newline. */
export function toTuneJson(r: TuneResult): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

/** The files `twin tune` writes: tune.json, tune.md and tune.html. Pure. */
export function renderTuneFiles(r: TuneResult, html: TuneHtmlInputs): Record<string, string> {
  return { 'tune.json': toTuneJson(r), 'tune.md': toTuneMarkdown(r), 'tune.html': toTuneHtml(r, html) };
}
