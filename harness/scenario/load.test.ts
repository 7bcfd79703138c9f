import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScenarioFile, readBoundedFile, InputFileError } from './load.ts';
import { ScenarioError, type ScenarioIssue } from '../../sim/scenario/parse.ts';
import { LIMITS } from '../../sim/scenario/limits.ts';

const dir = mkdtempSync(join(tmpdir(), 'twin-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SCENARIO = `name: load
duration: 1h
workload:
  arrivals: { kind: poisson, rate_per_hour: 10 }
  jobs:
    - { duration: 5m }
`;

function traceScenario(file: string): string {
  return SCENARIO.replace('{ kind: poisson, rate_per_hour: 10 }', `{ kind: trace, file: "${file}" }`);
}

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function issuesOf(path: string): ScenarioIssue[] {
  try {
    loadScenarioFile(path);
  } catch (e) {
    if (e instanceof ScenarioError) return e.issues;
    throw e;
  }
  throw new Error(`expected ${path} to be refused`);
}

describe('loadScenarioFile reads a bounded regular file', () => {
  it('max_scenario_file_bytes counts bytes: a file of exactly the limit loads, one byte more is refused unread', () => {
    const limit = LIMITS.scenarioFileBytes.value;
    // Two-byte characters: the limit is on bytes, not characters.
    const padded = (bytes: number) => `${SCENARIO}#${'é'.repeat((bytes - Buffer.byteLength(SCENARIO) - 2) / 2)}\n`;
    const at = write('at.yaml', padded(limit));
    expect(Buffer.byteLength(padded(limit))).toBe(limit);
    expect(loadScenarioFile(at).name).toBe('load');
    const past = write('past.yaml', `${padded(limit)}x`);
    const [issue] = issuesOf(past);
    expect(issue).toMatchObject({ line: 1, column: 1, hint: LIMITS.scenarioFileBytes.hint });
    expect(issue!.message).toContain(LIMITS.scenarioFileBytes.name);
  });

  it('refuses /dev/zero at once (a character device), rather than reading it for ever', () => {
    const [issue] = issuesOf('/dev/zero');
    expect(issue!.message).toBe('is a character device, not a regular file');
  });

  it('refuses a FIFO without waiting for a writer, and a directory', () => {
    const fifo = join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    expect(issuesOf(fifo)[0]!.message).toBe('is a FIFO, not a regular file');
    expect(issuesOf(dir)[0]!.message).toBe('is a directory, not a regular file');
  });

  it('says when the file does not exist', () => {
    expect(issuesOf(join(dir, 'missing.yaml'))[0]).toMatchObject({ message: 'no such file', line: 1, column: 1 });
  });

  it('readBoundedFile stops one byte past the limit even when the size says 0 (files of /proc)', () => {
    const tiny = { ...LIMITS.scenarioFileBytes, value: 8 };
    expect(() => readBoundedFile('/proc/self/status', tiny)).toThrow(InputFileError);
    expect(readBoundedFile('/proc/self/status', LIMITS.scenarioFileBytes)).toContain('Name:');
  });
});

describe('trace files', () => {
  it('are read relative to the scenario file', () => {
    mkdirSync(join(dir, 'traces'), { recursive: true });
    write('traces/ok.csv', 'at,job\n0s,0\n90s,0\n');
    const s = loadScenarioFile(write('trace-ok.yaml', traceScenario('traces/ok.csv')));
    expect(s.workload.arrivals).toEqual({ kind: 'trace', arrivals: [{ atMs: 0, job: 0 }, { atMs: 90_000, job: 0 }] });
  });

  it('must stay inside the scenario file\'s folder: ../, absolute paths and links out are refused without reading', () => {
    const hint = 'put the trace beside the scenario file (or in a folder below it) and name it relative to the scenario';
    // A path that does not exist outside says the same: the answer must not tell which files exist.
    for (const path of ['../../../../etc/passwd', '/etc/passwd', '/dev/zero', '../no-such-file-of-the-twin.csv']) {
      const [issue] = issuesOf(write('escape.yaml', traceScenario(path)));
      expect(issue).toMatchObject({ field: 'workload.arrivals.file', line: 4, hint });
      expect(issue!.message).toBe(`cannot read trace file \`${path}\`: the path leads outside the scenario file's folder`);
      expect(issue!.message).not.toContain('root:');
    }
    symlinkSync('/etc/passwd', join(dir, 'link.csv'));
    const [issue] = issuesOf(write('link.yaml', traceScenario('link.csv')));
    expect(issue!.message).toContain('a link to a file outside');
  });

  it('must be regular files', () => {
    const fifo = join(dir, 'trace-fifo.csv');
    execFileSync('mkfifo', [fifo]);
    const [issue] = issuesOf(write('trace-fifo.yaml', traceScenario('trace-fifo.csv')));
    expect(issue!.message).toBe('cannot read trace file `trace-fifo.csv`: is a FIFO, not a regular file');
  });

  it('max_trace_file_bytes: a file of the limit is read (and judged on its content), one byte more is refused unread', () => {
    const limit = LIMITS.traceFileBytes.value;
    // Sparse files: NUL bytes, so the one at the limit fails as a trace, not for its size.
    truncateSync(write('at.csv', ''), limit);
    truncateSync(write('past.csv', ''), limit + 1);
    const at = issuesOf(write('trace-at.yaml', traceScenario('at.csv')));
    expect(at.map((i) => i.message).join()).not.toContain(LIMITS.traceFileBytes.name);
    const [past] = issuesOf(write('trace-past.yaml', traceScenario('past.csv')));
    expect(past!.message).toContain(LIMITS.traceFileBytes.name);
    expect(past!.message).toContain(`the file (${limit + 1} bytes)`); // refused from its size, before reading
    expect(past!.hint).toBe(LIMITS.traceFileBytes.hint);
  });

  it('errors echo at most a short excerpt of the trace', () => {
    write('secret.csv', `${'s'.repeat(5_000)},x\n`);
    const [issue] = issuesOf(write('secret.yaml', traceScenario('secret.csv')));
    expect(issue!.field.length).toBeLessThan(100);
    expect(`${issue!.message}${issue!.hint}`.length).toBeLessThan(300);
  });
});
