import { describe, expect, it } from 'vitest';
import { MetricStore, type PutDatum } from './metric-store.ts';

const T0 = Date.UTC(2026, 11, 7, 9, 0, 0);
const dims = [{ name: 'AutoScalingGroupName', value: 'g' }];
const datum = (over: Partial<PutDatum>): PutDatum => ({ metricName: 'M', dimensions: dims, timestampMs: undefined, unit: undefined, ...over });

describe('MetricStore (CloudWatch metrics, pure)', () => {
  it('merges values, value/count arrays and statistic sets into periods, and answers one statistic over a window', () => {
    const s = new MetricStore(() => T0);
    s.put('CircleCI/Nomad', [
      datum({ value: 4, timestampMs: T0 - 50_000 }),
      datum({ values: [1, 10], counts: [3, 1], timestampMs: T0 - 40_000 }),
      datum({ statisticValues: { sampleCount: 2, sum: 6, minimum: 0, maximum: 5 }, timestampMs: T0 - 70_000 }),
    ]);
    const q = { namespace: 'CircleCI/Nomad', metricName: 'M', dimensions: dims, startMs: T0 - 120_000, endMs: T0, periodS: 60, unit: undefined };
    expect(s.statistics({ ...q, statistics: ['SampleCount', 'Sum', 'Average', 'Minimum', 'Maximum'] })).toEqual([
      { timestampMs: T0 - 120_000, unit: 'None', values: { SampleCount: 2, Sum: 6, Average: 3, Minimum: 0, Maximum: 5 } },
      { timestampMs: T0 - 60_000, unit: 'None', values: { SampleCount: 5, Sum: 17, Average: 17 / 5, Minimum: 1, Maximum: 10 } },
    ]);
    expect(s.statistic(q, T0 - 60_000, T0, 'Average')).toBe(17 / 5);
    expect(s.statistic(q, T0, T0 + 60_000, 'Average')).toBeUndefined();
    // Dimensions name the metric: another set is another metric.
    expect(s.statistic({ ...q, dimensions: [] }, T0 - 60_000, T0, 'Average')).toBeUndefined();
    expect(s.list({ dimensions: [{ name: 'AutoScalingGroupName', value: undefined }] }).map((m) => m.metricName)).toEqual(['M']);
    expect(s.list({ dimensions: [{ name: 'AutoScalingGroupName', value: 'other' }] })).toEqual([]);
  });

  it('refuses what CloudWatch refuses, naming the parameter, and stores nothing of a refused call', () => {
    const s = new MetricStore(() => T0);
    expect(() => s.put('AWS/EC2', [datum({ value: 1 })])).toThrow(/AWS\/EC2 for parameter Namespace is invalid/);
    s.put('AWS/EC2', [datum({ value: 1 })], true); // the twin's own publisher may
    expect(() => s.put('N', [datum({ value: 1 }), datum({ value: Number.NaN })])).toThrow(/MetricData\.member\.2\.Value/);
    expect(s.list({ namespace: 'N', dimensions: [] })).toEqual([]);
    expect(() => s.put('N', [datum({ value: 1, values: [2] })])).toThrow(expect.objectContaining({ code: 'InvalidParameterCombination' }));
    expect(() => s.put('N', [datum({ value: 1, timestampMs: T0 - 15 * 86_400_000 })])).toThrow(/two weeks in the past/);
    expect(() => s.put('N', [datum({ value: 1, unit: 'Parsecs' })])).toThrow(/Parsecs for parameter MetricData\.member\.1\.Unit/);
    const q = { namespace: 'N', metricName: 'M', dimensions: dims, unit: undefined, statistics: ['Average' as const] };
    expect(() => s.statistics({ ...q, startMs: T0, endMs: T0 + 86_400_000 * 2, periodS: 60 })).toThrow(expect.objectContaining({ code: 'InvalidParameterCombination' }));
    expect(() => s.statistics({ ...q, startMs: T0, endMs: T0 + 60_000, periodS: 90 })).toThrow(/Period/);
  });
});
