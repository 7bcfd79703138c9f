import { formatDurationMs, parseDurationMs } from '../../util/duration.ts';
import { didYouMean } from '../../util/suggest.ts';
import { truncateEcho } from '../../util/echo.ts';
import type { TraceArrival } from './types.ts';

export type TraceFormat = 'csv' | 'jsonl';

export interface TraceParseOptions {
  /** The file's format; detected from the first line when absent (`{` starts JSONL, anything else is CSV). */
  format?: TraceFormat;
  /** Templates in the job mix: `job` must be below it. Unchecked when absent. */
  jobCount?: number;
  /** The file name to put in messages (the harness knows it; this parser does no I/O). */
  source?: string;
  /** Most arrivals accepted (the scenario limit `max_trace_rows`); one more is an error. Unbounded when absent. */
  maxRows?: number;
  /** The name of that limit, for the message. */
  maxRowsName?: string;
}

const COLUMNS = ['at', 'job'] as const;
type Column = (typeof COLUMNS)[number];

const AT_HINT = 'a time since the start of the run, such as 90s, 1h30m or a whole number of milliseconds';

/** Bad trace input: where (1-based line and, when known, column), which field, and a hint how to fix it. */
export class TraceParseError extends Error {
  readonly code = 'TRACE_PARSE';
  override readonly name = 'TraceParseError';

  constructor(
    readonly line: number,
    readonly column: number | undefined,
    readonly field: string,
    readonly problem: string,
    readonly hint: string,
    readonly source?: string,
  ) {
    const where = `${source ?? 'trace'}:${line}${column === undefined ? '' : `:${column}`}`;
    super(`${where}: field "${field}": ${problem} (hint: ${hint})`);
  }
}

/**
 * Parses a trace file's text into arrivals sorted by time (a pure function: the harness reads the file).
 *
 * CSV has a header naming the columns `at` and optionally `job`; JSONL has one `{"at": ..., "job": ...}` per
 * line. The second argument is the options, or just the file name for messages. Blank lines are skipped, and so are CSV lines starting with `#`. Out-of-order arrivals are errors
 * rather than silently sorted, because a shuffled trace usually means a broken export.
 */
export function parseTrace(text: string, optionsOrSource: TraceParseOptions | string = {}): TraceArrival[] {
  const options = typeof optionsOrSource === 'string' ? { source: optionsOrSource } : optionsOrSource;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const format = options.format ?? detectTraceFormat(text);
  const parser = new RowChecker(options);
  if (format === 'jsonl') parseJsonl(lines, parser);
  else parseCsv(lines, parser);
  return parser.arrivals;
}

/** JSONL when the first line with content starts with `{`, CSV otherwise. */
export function detectTraceFormat(text: string): TraceFormat {
  for (const line of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const content = line.trim();
    if (content === '' || content.startsWith('#')) continue;
    return content.startsWith('{') ? 'jsonl' : 'csv';
  }
  return 'csv';
}

/** The checks shared by both formats, and the arrivals accepted so far. */
class RowChecker {
  readonly arrivals: TraceArrival[] = [];
  private previousAtMs = 0;
  private previousLine = 0;

  constructor(private readonly options: TraceParseOptions) {}

  fail(line: number, column: number | undefined, field: string, problem: string, hint: string): never {
    throw new TraceParseError(line, column, field, problem, hint, this.options.source);
  }

  atFromText(text: string, line: number, column: number | undefined): number {
    if (text.length > 40) this.fail(line, column, 'at', `"${truncateEcho(text, 40)}" is not a time`, AT_HINT);
    try {
      return parseDurationMs(text);
    } catch (error) {
      // The duration parser's message already lists the accepted forms; the hint says what the time means.
      const problem = error instanceof Error ? error.message : String(error);
      return this.fail(line, column, 'at', problem, 'each time is measured from the start of the run, virtual time 0');
    }
  }

  atFromNumber(value: number, line: number, column: number | undefined): number {
    if (!Number.isSafeInteger(value) || value < 0) {
      this.fail(line, column, 'at', `${value} is not a whole, non-negative number of milliseconds`, AT_HINT);
    }
    return value;
  }

  job(value: number, line: number, column: number | undefined): number {
    const { jobCount } = this.options;
    if (!Number.isSafeInteger(value) || value < 0) {
      this.fail(line, column, 'job', `${value} is not a template index`, 'an integer >= 0: 0 is the first entry of workload.jobs');
    }
    if (jobCount !== undefined && value >= jobCount) {
      this.fail(line, column, 'job', `template ${value} does not exist`, `workload.jobs has ${jobCount} entries: use 0 to ${jobCount - 1}`);
    }
    return value;
  }

  accept(atMs: number, job: number | undefined, line: number, atColumn: number | undefined): void {
    const { maxRows, maxRowsName } = this.options;
    if (maxRows !== undefined && this.arrivals.length >= maxRows) {
      this.fail(line, undefined, '(line)', `arrival ${this.arrivals.length + 1} is over the limit ${maxRowsName ?? 'of rows'} (${maxRows} rows)`, 'trim the trace or split it into several scenarios');
    }
    if (atMs < this.previousAtMs) {
      this.fail(
        line,
        atColumn,
        'at',
        `${formatDurationMs(atMs)} is earlier than the arrival on line ${this.previousLine} (${formatDurationMs(this.previousAtMs)})`,
        'sort the trace by time',
      );
    }
    this.previousAtMs = atMs;
    this.previousLine = line;
    this.arrivals.push(job === undefined ? { atMs } : { atMs, job });
  }
}

interface Cell {
  text: string;
  /** 1-based column of the cell's first character. */
  column: number;
}

function parseCsv(lines: readonly string[], rows: RowChecker): void {
  let header: { columns: Column[]; line: number } | undefined;
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) return;
    const cells = splitCsvLine(raw, lineNo, rows);
    if (header === undefined) {
      header = { columns: csvHeader(cells, lineNo, rows), line: lineNo };
      return;
    }
    const { columns } = header;
    if (cells.length > columns.length) {
      const extra = cells[columns.length]!;
      rows.fail(lineNo, extra.column, `column ${columns.length + 1}`, `${cells.length} values for ${columns.length} columns (${columns.join(',')})`, 'remove the extra values, or name them in the header');
    }
    let atMs: number | undefined;
    let atColumn: number | undefined;
    let job: number | undefined;
    columns.forEach((name, c) => {
      const cell = cells[c];
      const text = cell?.text.trim() ?? '';
      const column = cell?.column ?? raw.length + 1;
      if (name === 'at') {
        if (text === '') rows.fail(lineNo, column, 'at', 'missing', AT_HINT);
        atMs = rows.atFromText(text, lineNo, column);
        atColumn = column;
      } else if (text !== '') {
        if (!/^\d+$/.test(text)) rows.fail(lineNo, column, 'job', `"${truncateEcho(text)}" is not a template index`, 'an integer >= 0: 0 is the first entry of workload.jobs; leave it empty to draw by weight');
        job = rows.job(Number(text), lineNo, column);
      }
    });
    rows.accept(atMs!, job, lineNo, atColumn);
  });
  if (header === undefined) {
    rows.fail(1, undefined, 'at', 'the trace has no header line', 'start a CSV trace with a header such as `at,job`, or write JSONL lines like {"at": "90s", "job": 0}');
  }
}

function csvHeader(cells: readonly Cell[], lineNo: number, rows: RowChecker): Column[] {
  const columns: Column[] = [];
  for (const cell of cells) {
    const name = cell.text.trim().toLowerCase();
    if (!(COLUMNS as readonly string[]).includes(name)) {
      const hint = [name.length > 40 ? '' : didYouMean(name, COLUMNS), `the trace's columns are ${COLUMNS.join(' and ')}`].filter(Boolean).join(' ');
      rows.fail(lineNo, cell.column, name === '' ? '(empty)' : truncateEcho(name), 'unknown column in the header', hint);
    }
    if (columns.includes(name as Column)) rows.fail(lineNo, cell.column, name, 'column named twice', 'name each column once');
    columns.push(name as Column);
  }
  if (!columns.includes('at')) {
    rows.fail(lineNo, undefined, 'at', 'the header has no `at` column', 'the first line names the columns, such as `at,job`');
  }
  return columns;
}

/** Splits one CSV line on commas, honouring double quotes ("" inside quotes is a quote). */
function splitCsvLine(line: string, lineNo: number, rows: RowChecker): Cell[] {
  const cells: Cell[] = [];
  let i = 0;
  for (;;) {
    const start = i;
    let text = '';
    while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
    const contentStart = i < line.length && line[i] !== ',' ? i : start;
    if (line[i] === '"') {
      const quoteAt = i;
      i++;
      for (;;) {
        if (i >= line.length) rows.fail(lineNo, quoteAt + 1, `column ${cells.length + 1}`, 'unterminated quote', 'close the quoted value with "');
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            text += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        text += line[i];
        i++;
      }
      while (i < line.length && line[i] !== ',') i++;
    } else {
      const end = line.indexOf(',', i);
      const stop = end < 0 ? line.length : end;
      text = line.slice(start, stop);
      i = stop;
    }
    cells.push({ text, column: contentStart + 1 });
    if (i >= line.length) return cells;
    i++; // past the comma
  }
}

function parseJsonl(lines: readonly string[], rows: RowChecker): void {
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const position = /position (\d+)/.exec(message)?.[1];
      rows.fail(lineNo, position === undefined ? undefined : Number(position) + 1, '(line)', `not valid JSON: ${truncateEcho(message, 120)}`, 'each line is one JSON object such as {"at": "90s", "job": 0}');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      rows.fail(lineNo, 1, '(line)', 'not a JSON object', 'each line is one JSON object such as {"at": "90s", "job": 0}');
    }
    const record = value as Record<string, unknown>;
    const columnOf = (key: string): number | undefined => {
      const at = raw.indexOf(`"${key}"`);
      return at < 0 ? undefined : at + 1;
    };
    for (const key of Object.keys(record).sort()) {
      if (!(COLUMNS as readonly string[]).includes(key)) {
        const hint = [key.length > 40 ? '' : didYouMean(key, COLUMNS), `a line's keys are ${COLUMNS.join(' and ')}`].filter(Boolean).join(' ');
        rows.fail(lineNo, columnOf(key), truncateEcho(key), 'unknown key', hint);
      }
    }
    const at = record['at'];
    const atColumn = columnOf('at');
    let atMs: number;
    if (typeof at === 'string') atMs = rows.atFromText(at, lineNo, atColumn);
    else if (typeof at === 'number') atMs = rows.atFromNumber(at, lineNo, atColumn);
    else if (at === undefined) return rows.fail(lineNo, undefined, 'at', 'missing', AT_HINT);
    else return rows.fail(lineNo, atColumn, 'at', `${truncateEcho(JSON.stringify(at))} is neither a duration string nor a number`, AT_HINT);
    const job = record['job'];
    let jobIndex: number | undefined;
    if (typeof job === 'number') jobIndex = rows.job(job, lineNo, columnOf('job'));
    else if (job !== undefined && job !== null) {
      rows.fail(lineNo, columnOf('job'), 'job', `${truncateEcho(JSON.stringify(job))} is not a template index`, 'an integer >= 0, or leave it out to draw by weight');
    }
    rows.accept(atMs, jobIndex, lineNo, atColumn);
  });
}
