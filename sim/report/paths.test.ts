import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getPath, isDurationMetric, leafPaths, normalizePath, reportPaths } from './paths.ts';
import { sampleReport } from './sample.ts';

describe('getPath', () => {
  const report = sampleReport();

  it('resolves plain dotted paths', () => {
    expect(getPath(report, 'builds.lost')).toEqual({ found: true, value: 27 });
    expect(getPath(report, 'queue_time_ms.p95')).toEqual({ found: true, value: 12_400 });
    expect(getPath(report, 'observed_severity')).toEqual({ found: true, value: 'severe' });
  });

  it('resolves array indices written with a dot or with brackets', () => {
    expect(getPath(report, 'faults.0.observed_severity')).toEqual({ found: true, value: 'severe' });
    expect(getPath(report, 'faults[1].observed_severity')).toEqual({ found: true, value: 'moderate' });
    expect(getPath(report, 'faults[1].count')).toEqual({ found: true, value: 2 });
  });

  it('resolves metric names that contain dots', () => {
    expect(getPath(report, 'metrics.circle.nomad.server_agent.jobs.pending.max')).toEqual({ found: true, value: 183 });
    expect(getPath(report, 'metrics.circle.run-queue.latency.samples')).toEqual({ found: true, value: 2391 });
  });

  it('prefers the longest key, and falls back to a shorter one when the longer leads nowhere', () => {
    const value = { m: { 'a.b': { c: 1 }, a: { b: { d: 2 } } } };
    expect(getPath(value, 'm.a.b.c')).toEqual({ found: true, value: 1 });
    expect(getPath(value, 'm.a.b.d')).toEqual({ found: true, value: 2 });
  });

  it('returns objects too: the caller decides whether a group of fields is acceptable', () => {
    const found = getPath(report, 'builds');
    expect(found.found).toBe(true);
  });

  it('names the missing field and the closest existing path', () => {
    const lookup = getPath(report, 'builds.lots');
    expect(lookup.found).toBe(false);
    if (lookup.found) return;
    expect(lookup.error).toContain('`lots`');
    expect(lookup.error).toContain('did you mean `builds.lost`?');
  });

  it('suggests the full path when only the leaf was written', () => {
    const lookup = getPath(report, 'p95');
    expect(lookup.found ? '' : lookup.error).toContain('did you mean `queue_time_ms.p95`?');
  });

  it('suggests a metric name close to a misspelt one', () => {
    const lookup = getPath(report, 'metrics.circle.nomad.server_agent.jobs.pendng.max');
    expect(lookup.found ? '' : lookup.error).toContain('did you mean `metrics.circle.nomad.server_agent.jobs.pending.max`?');
  });

  it('explains an index out of range and a path through a scalar', () => {
    const outOfRange = getPath(report, 'faults.5.at_ms');
    expect(outOfRange.found ? '' : outOfRange.error).toContain('`faults` has 2 entries, so no index 5');
    const notIndex = getPath(report, 'faults.first.at_ms');
    expect(notIndex.found ? '' : notIndex.error).toContain('is a list');
    const throughScalar = getPath(report, 'builds.lost.total');
    expect(throughScalar.found ? '' : throughScalar.error).toContain('`builds.lost` is a number');
  });

  it('rejects an empty path', () => {
    expect(getPath(report, '  ').found).toBe(false);
  });

  it('does not treat undefined optional fields as present', () => {
    expect(getPath(sampleReport({ description: undefined }), 'description').found).toBe(false);
  });
});

describe('normalizePath', () => {
  it('turns brackets into dots', () => {
    expect(normalizePath('faults[0].observed_severity')).toBe('faults.0.observed_severity');
    expect(normalizePath('a[1][2]')).toBe('a.1.2');
  });
});

describe('reportPaths', () => {
  const paths = reportPaths(sampleReport());

  it('lists every leaf in field order, array items by index, metric names whole', () => {
    expect(paths[0]).toBe('scenario');
    expect(paths).toContain('builds.lost');
    expect(paths).toContain('queue_time_ms.p95');
    expect(paths).toContain('faults.0.observed_severity');
    expect(paths).toContain('faults.1.count');
    expect(paths).toContain('metrics.circle.nomad.server_agent.jobs.pending.max');
    expect(paths).toContain('engine.stop_reason');
    expect(paths).not.toContain('builds');
    expect(new Set(paths).size).toBe(paths.length);
  });

  it('every listed path resolves to a scalar', () => {
    const report = sampleReport();
    for (const path of paths) {
      const lookup = getPath(report, path);
      expect(lookup.found, path).toBe(true);
      if (lookup.found) expect(typeof lookup.value === 'object' && lookup.value !== null, path).toBe(false);
    }
  });

  it('round-trips through getPath for any JSON-like value with plain keys (property)', () => {
    const key = fc.stringMatching(/^[a-z_][a-z0-9_]{0,5}$/);
    const tree = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null)),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(key, tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(fc.dictionary(key, tree, { maxKeys: 5 }), (value) => {
        for (const path of leafPaths(value)) {
          const lookup = getPath(value, path);
          const expected = path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], value);
          if (!lookup.found || lookup.value !== expected) return false;
        }
        return true;
      }),
    );
  });

  it('finds every leaf even when keys contain dots (property)', () => {
    const key = fc.stringMatching(/^[a-z]{1,3}(\.[a-z]{1,3}){0,2}$/);
    const leafRecord = fc.dictionary(key, fc.dictionary(key, fc.integer(), { minKeys: 1, maxKeys: 3 }), { maxKeys: 5 });
    fc.assert(
      fc.property(leafRecord, (metrics) => leafPaths({ metrics }).every((path) => getPath({ metrics }, path).found)),
    );
  });
});

describe('isDurationMetric', () => {
  it.each([
    ['queue_time_ms.p95', true],
    ['run_queue_latency_ms.max', true],
    ['rto_ms', true],
    ['faults.0.at_ms', true],
    ['vm_service.mean_wait_ms', true],
    ['samples_ms.0', true],
    ['builds.lost', false],
    ['observed_severity', false],
    ['capacity.peak_pending_jobs', false],
    ['metrics.circle.run-queue.latency.mean', false],
  ])('%s → %s', (path, expected) => {
    expect(isDurationMetric(path)).toBe(expected);
  });
});
