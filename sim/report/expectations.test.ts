import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { comparisonText, evaluateExpectation, evaluateExpectations } from './expectations.ts';
import { sampleReport } from './sample.ts';

describe('evaluateExpectations', () => {
  const report = sampleReport();

  it('max passes when actual ≤ expected, including equality', () => {
    expect(evaluateExpectation(report, { metric: 'builds.lost', op: 'max', expected: 27 })).toEqual({
      metric: 'builds.lost',
      op: 'max',
      expected: 27,
      actual: 27,
      passed: true,
    });
    expect(evaluateExpectation(report, { metric: 'builds.lost', op: 'max', expected: 26 }).passed).toBe(false);
  });

  it('min passes when actual ≥ expected', () => {
    expect(evaluateExpectation(report, { metric: 'builds.succeeded', op: 'min', expected: 2310 }).passed).toBe(true);
    expect(evaluateExpectation(report, { metric: 'builds.succeeded', op: 'min', expected: 2311 }).passed).toBe(false);
  });

  it('equals compares strictly: numbers exactly, no coercion between types', () => {
    expect(evaluateExpectation(report, { metric: 'observed_severity', op: 'equals', expected: 'severe' }).passed).toBe(true);
    expect(evaluateExpectation(report, { metric: 'observed_severity', op: 'equals', expected: 'moderate' }).passed).toBe(false);
    expect(evaluateExpectation(report, { metric: 'builds.lost', op: 'equals', expected: 27 }).passed).toBe(true);
    expect(evaluateExpectation(report, { metric: 'builds.lost', op: 'equals', expected: '27' }).passed).toBe(false);
    expect(evaluateExpectation(report, { metric: 'throughput.builds_per_hour', op: 'equals', expected: 555.3000001 }).passed).toBe(false);
    expect(evaluateExpectation(report, { metric: 'throughput.builds_per_hour', op: 'equals', expected: 555.3 }).passed).toBe(true);
    expect(evaluateExpectation(report, { metric: 'ledger.conserved', op: 'equals', expected: true }).passed).toBe(true);
    const failed = evaluateExpectation(report, { metric: 'observed_severity', op: 'equals', expected: 'mild' });
    expect(failed).toMatchObject({ actual: 'severe', passed: false });
    expect(failed.error).toBeUndefined();
  });

  it('accepts a duration as the bound of a *_ms metric', () => {
    expect(evaluateExpectation(report, { metric: 'queue_time_ms.p95', op: 'max', expected: '13s' })).toMatchObject({
      actual: 12_400,
      passed: true,
    });
    expect(evaluateExpectation(report, { metric: 'queue_time_ms.p95', op: 'max', expected: '12s' }).passed).toBe(false);
    expect(evaluateExpectation(report, { metric: 'faults.0.at_ms', op: 'equals', expected: '1h' }).passed).toBe(true);
    const bad = evaluateExpectation(report, { metric: 'queue_time_ms.p95', op: 'max', expected: 'soon' });
    expect(bad.passed).toBe(false);
    expect(bad.error).toContain('soon');
  });

  it('fails a missing path with an error that suggests the right one', () => {
    const result = evaluateExpectation(report, { metric: 'builds.lots', op: 'max', expected: 0 });
    expect(result).toMatchObject({ metric: 'builds.lots', actual: null, passed: false });
    expect(result.error).toContain('did you mean `builds.lost`?');
  });

  it('fails max/min on a non-numeric actual with an error', () => {
    const result = evaluateExpectation(report, { metric: 'observed_severity', op: 'max', expected: 2 });
    expect(result).toMatchObject({ actual: 'severe', passed: false });
    expect(result.error).toContain('not a number');
    expect(evaluateExpectation(report, { metric: 'passed', op: 'min', expected: 1 }).passed).toBe(false);
  });

  it('fails a non-numeric bound for max/min with an error', () => {
    const result = evaluateExpectation(report, { metric: 'builds.lost', op: 'max', expected: 'none' });
    expect(result.passed).toBe(false);
    expect(result.error).toContain('a bound must be a number');
    expect(evaluateExpectation(report, { metric: 'builds.lost', op: 'max', expected: null }).passed).toBe(false);
  });

  it('fails a path naming a group of fields, listing some of them', () => {
    const result = evaluateExpectation(report, { metric: 'builds', op: 'max', expected: 0 });
    expect(result.passed).toBe(false);
    expect(result.error).toContain('`builds.triggered`');
  });

  it('refuses the fields that the expectations themselves decide', () => {
    for (const metric of ['passed', 'expectations.0.passed']) {
      const result = evaluateExpectation(report, { metric, op: 'equals', expected: true });
      expect(result.passed, metric).toBe(false);
      expect(result.error, metric).toContain('decided by the expectations');
    }
  });

  it('reproduces the sample report’s own expectations, in order', () => {
    const settled = report.expectations.map(({ metric, op, expected }) => ({ metric, op, expected }));
    expect(evaluateExpectations(report, settled)).toEqual(report.expectations);
  });

  it('max and min agree with numeric comparison (property)', () => {
    const number = fc.oneof(fc.integer(), fc.double({ noNaN: true }));
    fc.assert(
      fc.property(number, number, (actual, bound) => {
        const value = { value: actual };
        const max = evaluateExpectation(value, { metric: 'value', op: 'max', expected: bound });
        const min = evaluateExpectation(value, { metric: 'value', op: 'min', expected: bound });
        const equals = evaluateExpectation(value, { metric: 'value', op: 'equals', expected: bound });
        return (
          max.passed === actual <= bound &&
          min.passed === actual >= bound &&
          equals.passed === (actual === bound) &&
          max.actual === actual &&
          max.error === undefined &&
          min.error === undefined
        );
      }),
    );
  });
});

describe('comparisonText', () => {
  it('writes the operator as a symbol', () => {
    expect(comparisonText('max', 0)).toBe('≤ 0');
    expect(comparisonText('min', '5m')).toBe('≥ 5m');
    expect(comparisonText('equals', null)).toBe('= null');
  });
});
