import { describe, expect, it } from 'vitest';
import { sampleReport } from '../sim/report/sample.ts';
import type { Report } from '../sim/report/types.ts';
import { toJson } from './json.ts';

const CONTRACT_ORDER = [
  'scenario',
  'description',
  'version',
  'mode',
  'seed',
  'passed',
  'builds',
  'queue_time_ms',
  'data_loss',
  'faults',
  'observed_severity',
  'expectations',
  'replay',
  'severity_because',
  'duration_ms',
  'ended_at_ms',
  'webhooks',
  'workflows',
  'start_delay_ms',
  'ui',
  'scheduled_workflows',
  'run_queue_latency_ms',
  'throughput',
  'capacity',
  'vm_service',
  'startup',
  'services_machine',
  'test_results',
  'metric_gaps',
  'metrics',
  'ledger',
  'affected_builds',
  'affected_builds_total',
  'engine',
  'autoscaling',
  'cost',
];

/** The same report with every object's keys inserted in reverse order. */
function reversed<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reversed) as T;
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversed(v)])) as T;
}

describe('toJson', () => {
  const report = sampleReport();
  const text = toJson(report);

  it('parses back to the report', () => {
    expect(JSON.parse(text)).toEqual(report);
  });

  it('puts the contract fields first, in DESIGN.md order, then the extensions', () => {
    expect(Object.keys(JSON.parse(text) as object)).toEqual(CONTRACT_ORDER);
  });

  it('orders nested fields as the type declares them', () => {
    const parsed = JSON.parse(text) as Report;
    expect(Object.keys(parsed.builds)).toEqual(['triggered', 'succeeded', 'failed', 'lost', 'stuck', 'not_triggered', 'retried']);
    expect(Object.keys(parsed.queue_time_ms)).toEqual(['mean', 'p50', 'p95', 'p99', 'max']);
    expect(Object.keys(parsed.expectations[0] ?? {})).toEqual(['metric', 'op', 'expected', 'actual', 'passed']);
    expect(Object.keys(parsed.faults[0] ?? {})).toEqual(['at_ms', 'action', 'target', 'for_ms', 'observed_severity']);
  });

  it('gives the same bytes whatever order the run built the object in', () => {
    expect(toJson(reversed(report))).toBe(text);
  });

  it('sorts metric names by code unit', () => {
    const metrics = Object.fromEntries(Object.entries(report.metrics).reverse());
    const names = Object.keys((JSON.parse(toJson({ ...report, metrics })) as Report).metrics);
    expect(names).toEqual([...names].sort());
    expect(names[0]).toBe('circle.backend.build.run-queue');
  });

  it('uses a 2-space indent and ends with one newline', () => {
    expect(text.startsWith('{\n  "scenario": "kill-rabbitmq-midday",\n  "description"')).toBe(true);
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.endsWith('\n\n')).toBe(false);
  });

  it('drops undefined optional fields and keeps unknown extensions after the known fields', () => {
    const extended = { ...sampleReport({ description: undefined }), rto_ms: 540_000 } as Report;
    const keys = Object.keys(JSON.parse(toJson(extended)) as object);
    expect(keys).not.toContain('description');
    expect(keys[keys.length - 1]).toBe('rto_ms');
  });

  it('keeps an expectation’s error', () => {
    const withError = sampleReport({
      expectations: [{ metric: 'nope', op: 'max', expected: 0, actual: null, passed: false, error: 'no field `nope`' }],
    });
    expect((JSON.parse(toJson(withError)) as Report).expectations[0]?.error).toBe('no field `nope`');
  });
});
