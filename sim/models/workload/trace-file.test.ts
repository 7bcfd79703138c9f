import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDurationMs } from '../../util/duration.ts';
import { detectTraceFormat, parseTrace, TraceParseError } from './trace-file.ts';

/** Runs the parser and returns its error, failing the test if it did not throw a TraceParseError. */
function parseError(text: string, options?: Parameters<typeof parseTrace>[1]): TraceParseError {
  try {
    parseTrace(text, options);
  } catch (error) {
    if (error instanceof TraceParseError) return error;
    throw error;
  }
  throw new Error('expected a TraceParseError');
}

describe('parseTrace: CSV', () => {
  it('reads durations and milliseconds, with and without a job column', () => {
    expect(parseTrace('at,job\n0,0\n90s,1\n1h30m,\n5400001,2\n')).toEqual([
      { atMs: 0, job: 0 },
      { atMs: 90_000, job: 1 },
      { atMs: 5_400_000 },
      { atMs: 5_400_001, job: 2 },
    ]);
    expect(parseTrace('at\n250ms\n1m\n')).toEqual([{ atMs: 250 }, { atMs: 60_000 }]);
  });

  it('accepts a reordered, spaced, quoted header, CRLF, a BOM, comments and blank lines', () => {
    const text = '\uFEFF# exported from Insights\r\n Job , "AT"\r\n\r\n2, "1h 10m"\r\n#pause\r\n,2h\r\n';
    expect(parseTrace(text)).toEqual([{ atMs: 4_200_000, job: 2 }, { atMs: 7_200_000 }]);
  });

  it('names the line, column and field of a bad time', () => {
    const error = parseError('at,job\n1m,0\n5x,1\n', 'arrivals.csv');
    expect(error).toMatchObject({ line: 3, column: 1, field: 'at', source: 'arrivals.csv', code: 'TRACE_PARSE' });
    expect(error.hint).toMatch(/start of the run/);
    expect(error.message).toMatch(/^arrivals\.csv:3:1: field "at": .*5x/);
  });

  it('names a bad job index and checks it against the mix', () => {
    expect(parseError('at,job\n1m,x\n')).toMatchObject({ line: 2, column: 4, field: 'job' });
    expect(parseError('at,job\n1m,-1\n')).toMatchObject({ line: 2, field: 'job' });
    const tooHigh = parseError('at,job\n1m,0\n2m,3\n', { jobCount: 3 });
    expect(tooHigh).toMatchObject({ line: 3, column: 4, field: 'job' });
    expect(tooHigh.hint).toMatch(/0 to 2/);
  });

  it('rejects an arrival earlier than the one before, naming both lines', () => {
    const error = parseError('at\n1m\n3m\n2m\n');
    expect(error).toMatchObject({ line: 4, field: 'at' });
    expect(error.message).toMatch(/line 3/);
    expect(error.hint).toMatch(/sort/);
  });

  it('rejects a missing header, an unknown column and surplus values', () => {
    expect(parseError('')).toMatchObject({ line: 1, field: 'at' });
    expect(parseError('# nothing\n')).toMatchObject({ line: 1, field: 'at' });
    const unknown = parseError('at,jbo\n1m,0\n');
    expect(unknown).toMatchObject({ line: 1, column: 4, field: 'jbo' });
    expect(unknown.hint).toMatch(/did you mean `job`/);
    expect(parseError('job\n1\n')).toMatchObject({ line: 1, field: 'at' });
    expect(parseError('at,at\n1m,2m\n')).toMatchObject({ line: 1, field: 'at' });
    expect(parseError('at\n1m,0\n')).toMatchObject({ line: 2, column: 4, field: 'column 2' });
    expect(parseError('at,job\n,1\n')).toMatchObject({ line: 2, field: 'at' });
    expect(parseError('at\n"1m\n')).toMatchObject({ line: 2, column: 1 });
  });

  it('reads back whatever a writer of formatted durations produces', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 7 * 86_400_000 }), fc.option(fc.nat({ max: 9 }), { nil: undefined }))), (rows) => {
        const sorted = [...rows].sort((a, b) => a[0] - b[0]);
        const csv = ['at,job', ...sorted.map(([at, job]) => `${formatDurationMs(at)},${job ?? ''}`)].join('\n');
        const expected = sorted.map(([atMs, job]) => (job === undefined ? { atMs } : { atMs, job }));
        expect(parseTrace(csv)).toEqual(expected);
        const jsonl = sorted.map(([at, job]) => JSON.stringify(job === undefined ? { at } : { at: formatDurationMs(at), job })).join('\n');
        expect(parseTrace(jsonl, { format: 'jsonl' })).toEqual(expected);
      }),
    );
  });
});

describe('parseTrace: JSONL', () => {
  it('reads string durations and numeric milliseconds', () => {
    const text = '{"at": "90s", "job": 0}\n\n{"at": 120000}\n{"at": "1h", "job": null}\n';
    expect(detectTraceFormat(text)).toBe('jsonl');
    expect(parseTrace(text)).toEqual([{ atMs: 90_000, job: 0 }, { atMs: 120_000 }, { atMs: 3_600_000 }]);
  });

  it('names the line and field of each kind of error', () => {
    const syntax = parseError('{"at": "1m"}\n{"at": "2m",}\n');
    expect(syntax).toMatchObject({ line: 2, field: '(line)' });
    expect(syntax.column).toBeGreaterThan(1);
    expect(parseError('{"at": "1m"}\n[1]\n')).toMatchObject({ line: 2, field: '(line)' });
    expect(parseError('{"at": "1m"}\n{"at": "2q"}\n')).toMatchObject({ line: 2, column: 2, field: 'at' });
    expect(parseError('{"at": 1.5}\n')).toMatchObject({ line: 1, field: 'at' });
    expect(parseError('{"at": true}\n')).toMatchObject({ line: 1, field: 'at' });
    expect(parseError('{"job": 1}\n')).toMatchObject({ line: 1, field: 'at' });
    expect(parseError('{"at": "1m", "job": "a"}\n')).toMatchObject({ line: 1, column: 14, field: 'job' });
    expect(parseError('{"at": "1m", "job": 4}\n', { jobCount: 2 })).toMatchObject({ line: 1, field: 'job' });
    const unknown = parseError('{"at": "1m", "jbo": 0}\n');
    expect(unknown).toMatchObject({ line: 1, column: 14, field: 'jbo' });
    expect(unknown.hint).toMatch(/did you mean `job`/);
    expect(parseError('{"at": "2m"}\n{"at": "1m"}\n')).toMatchObject({ line: 2, field: 'at' });
  });
});
