import { describe, expect, it } from 'vitest';
import { sampleReport } from '../sim/report/sample.ts';
import { renderReportFiles, toJson, toJunit, toJunitMany, toMarkdown } from './index.ts';

describe('renderReportFiles', () => {
  it('renders the three files of a run', () => {
    const report = sampleReport();
    const files = renderReportFiles(report);
    expect(Object.keys(files)).toEqual(['report.json', 'report.md', 'junit.xml']);
    expect(files['report.json']).toBe(toJson(report));
    expect(files['report.md']).toBe(toMarkdown(report));
    expect(files['junit.xml']).toBe(toJunit(report));
    const asRecord: Record<string, string> = files;
    expect(Object.values(asRecord).every((text) => text.endsWith('\n'))).toBe(true);
  });
});

describe('determinism', () => {
  it('gives identical bytes for the same report, and for a deep copy of it', () => {
    const report = sampleReport();
    const first = renderReportFiles(report);
    expect(renderReportFiles(report)).toEqual(first);
    expect(renderReportFiles(structuredClone(report))).toEqual(first);
    expect(renderReportFiles(sampleReport())).toEqual(first);
    expect(toJunitMany([report, report])).toBe(toJunitMany([structuredClone(report), sampleReport()]));
  });

  it('does not change the report it renders', () => {
    const report = sampleReport();
    const before = structuredClone(report);
    renderReportFiles(report);
    expect(report).toEqual(before);
  });

  it('changes when the report changes (the comparison above can fail)', () => {
    const files = renderReportFiles(sampleReport());
    const other = renderReportFiles(sampleReport({ seed: 43 }));
    expect(other['report.json']).not.toBe(files['report.json']);
    expect(other['report.md']).not.toBe(files['report.md']);
    expect(other['junit.xml']).not.toBe(files['junit.xml']);
  });

  it('contains no wall-clock timestamp', () => {
    const files = renderReportFiles(sampleReport());
    for (const text of Object.values(files)) {
      expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
      expect(text).not.toContain('timestamp');
    }
  });
});
