import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError, type ScenarioIssue } from '../scenario/parse.ts';
import { fixtureContext } from '../../harness/scenario/load.ts';
import { applyOverrides } from './overrides.ts';
import { settleTuneExpectations, specAxes } from './spec.ts';
import { judgeTune, summariseTune, type TuneCellResult } from './tune-result.ts';
import type { RawTune } from '../scenario/schema.ts';

const BASE = `name: t
duration: 1h
topology:
  nomad_clients: { count: 4 }
workload:
  arrivals: { kind: poisson, rate_per_hour: 10 }
  jobs:
    - { duration: 5m }
`;

const TUNE = `tune:
  sweep:
    topology.nomad_clients.count: [2, 4, 8]
    topology.scheduler: [binpack, spread]
  replications: 2
  targets: ['p95_queue_s<=10']
  expect:
    - { metric: recommended.params.topology.nomad_clients.count, max: 4 }
    - { metric: cells.5.utilisation.mean_cpu, max: 1 }
`;

function issuesOf(text: string, command?: 'run' | 'dr' | 'tune'): ScenarioIssue[] {
  try {
    parseScenario(text, 's.yaml', fixtureContext(undefined, command));
    return [];
  } catch (e) {
    if (e instanceof ScenarioError) return e.issues;
    throw e;
  }
}

describe('a scenario\'s tune section', () => {
  it('is read by twin tune and validate, and refused by twin run and dr with a hint naming twin tune', () => {
    expect(issuesOf(BASE + TUNE, 'tune')).toEqual([]);
    expect(issuesOf(BASE + TUNE)).toEqual([]);
    for (const command of ['run', 'dr'] as const) {
      const [issue, ...more] = issuesOf(BASE + TUNE, command);
      expect(more).toEqual([]);
      expect(issue).toMatchObject({ line: 10, field: 'tune', message: `\`tune\` is a sweep of this scenario, which \`twin ${command}\` does not run` });
      expect(issue!.hint).toContain('twin tune s.yaml');
    }
  });

  it('gives the sweep axes in file order, and its expect lines as the evaluator takes them', () => {
    const spec: RawTune = { sweep: { 'topology.nomad_clients.count': [2, 4], 'topology.scheduler': ['spread'] }, expect: [{ metric: 'recommended.cell', equals: 0 }, { metric: 'cells.0.queue_time_ms.p95', max: '2s' }, { metric: 'recommended.cost_per_day', min: 1 }] };
    expect(specAxes(spec)).toEqual([{ key: 'topology.nomad_clients.count', values: [2, 4] }, { key: 'topology.scheduler', values: ['spread'] }]);
    expect(settleTuneExpectations(spec)).toEqual([{ metric: 'recommended.cell', op: 'equals', expected: 0 }, { metric: 'cells.0.queue_time_ms.p95', op: 'max', expected: '2s' }, { metric: 'recommended.cost_per_day', op: 'min', expected: 1 }]);
  });

  it('names a bad key, value, target or metric at its line, with a hint', () => {
    const bad = `tune:
  sweep:
    topology.nomad_clients.cont: [2, 4]
    topology.scheduler: [binpack, binpack]
  targets: ['p95<=1']
  samples: 3
  expect:
    - { metric: recommended.params.topology.nomad_client.count, max: 4 }
    - { metric: recommended.cost_per_day, max: 1s }
    - { metric: passed, equals: true }
`;
    const issues = issuesOf(BASE + bad, 'tune');
    const at = (field: string) => issues.find((i) => i.field === field);
    expect(at('tune.sweep.topology.nomad_clients.cont')).toMatchObject({ line: 11, message: expect.stringContaining('did you mean `topology.nomad_clients.count`') });
    expect(at('tune.sweep.topology.scheduler')).toMatchObject({ line: 12, message: expect.stringContaining('the value "binpack" is given twice') });
    expect(at('tune.targets[0]')).toMatchObject({ line: 13, message: expect.stringContaining('unknown metric `p95`') });
    expect(at('tune.samples')).toMatchObject({ line: 14, message: '`samples` applies to `sample: random`' });
    expect(at('tune.expect[0].metric')).toMatchObject({ line: 16, message: expect.stringContaining('unknown tune.json metric') });
    expect(at('tune.expect[1].max')).toMatchObject({ line: 17, message: 'a duration (1s) is only allowed for *_ms metrics' });
    expect(at('tune.expect[2].metric')?.message).toContain('decided by the expectations themselves');
    for (const i of issues) expect(i.hint, i.field).not.toBe('');
    expect(issuesOf(`${BASE}tune:\n  sweep: {}\n`, 'tune')[0]).toMatchObject({ field: 'tune.sweep', message: 'nothing to sweep' });
    expect(issuesOf(`${BASE}tune:\n  sweep: { tune: [1] }\n`, 'tune')[0]!.message).toContain('`tune` cannot be swept');
    expect(issuesOf(`${BASE}tune:\n  sweep: { topology.nomad_clients.count: [2] }\n  replicas: 2\n`, 'tune')[0]).toMatchObject({ field: 'tune.replicas', message: 'unknown key `replicas`' });
  });

  it('is not part of a cell: the cell scenario is the file without it, which twin run accepts', () => {
    const cell = applyOverrides(BASE + TUNE, { 'topology.nomad_clients.count': 8 });
    expect(cell).not.toContain('tune');
    expect(issuesOf(cell, 'run')).toEqual([]);
    expect(parseScenario(cell, 's.yaml', fixtureContext(undefined, 'run')).topology.nomadClients.count).toBe(8);
  });
});

/** A run of a cell of a fleet-size sweep: `n` clients; cost falls then rises, the least at 12. */
function run(cellIndex: number, n: number): TuneCellResult {
  const cost = n * 4.8 + 1440 / (n - 4) ** 2;
  return {
    cellIndex, replication: 0, seed: cellIndex, params: { 'topology.nomad_clients.count': n }, scenario: 's',
    cost: { total_per_day: cost, machines_per_day: n * 4.8, vm_service_per_day: 0, waiting_per_day: cost - n * 4.8 },
    queue_time_ms: { mean: 1, p50: 1, p95: 1000 / n, p99: 1, max: 1 }, capacity_wait_ms: null,
    utilisation: { mean_cpu: 4.2 / n, peak_cpu: 1, fragmentation: null },
    throughput: { builds_per_hour: 50, peak_builds_per_hour: 60, tasks_completed: 100 },
    builds: { triggered: 1, succeeded: 1, failed: 0, lost: 0, stuck: 0, not_triggered: 0, retried: 0 },
    autoscaling: null, vm_service: { mean_wait_ms: 0, instance_hours: null, dlc_without_cache: null },
    expectations_passed: true, events: 1, queue_time_series: { bucket_ms: 1, t_ms: [], mean_ms: [], max_ms: [] },
  };
}

describe('tune.expect against a result', () => {
  const sizes = [5, 8, 12, 16];
  const cells = sizes.map((n) => ({ 'topology.nomad_clients.count': n }));
  const req = (expect: RawTune['expect'], targets: string[] = []) => ({
    scenario: 's', file: 's.yaml', seed: 1, sample: 'grid' as const, gridCells: 4, replications: 1,
    sweep: [{ key: 'topology.nomad_clients.count', values: sizes }],
    targets: targets.map((t) => ({ metric: 'p95_queue_s' as const, op: '<=' as const, value: Number(t) })),
    expect: settleTuneExpectations({ sweep: {}, expect }), replay: 'twin tune s.yaml',
  });
  const runs = sizes.map((n, i) => run(i, n));

  it('reads recommended as the recommended cell\'s whole row, and a swept dotted key under params', () => {
    const r = summariseTune(req([{ metric: 'recommended.params.topology.nomad_clients.count', equals: 12 }, { metric: 'recommended.utilisation.mean_cpu', max: 0.42 }, { metric: 'recommended.queue_time_ms_p95', max: 100 }, { metric: 'cells.0.cost_per_day', min: 100 }]), cells, runs);
    expect(r.recommended?.params).toEqual({ 'topology.nomad_clients.count': 12 });
    expect(r.expectations.map((e) => [e.actual, e.passed])).toEqual([[12, true], [0.35, true], [83.333, true], [run(0, 5).cost.total_per_day, true]]);
    expect(r.passed).toBe(true);
  });

  it('fails when the conclusion does not hold, and when there is no recommended cell', () => {
    const wrong = summariseTune(req([{ metric: 'recommended.params.topology.nomad_clients.count', max: 8 }]), cells, runs);
    expect(wrong.passed).toBe(false);
    expect(wrong.expectations[0]).toMatchObject({ actual: 12, passed: false });
    const none = summariseTune(req([{ metric: 'recommended.cost_per_day', max: 1000 }], ['0.001']), cells, runs);
    expect(none.recommended).toBeNull();
    expect(none.expectations[0]).toMatchObject({ passed: false, actual: null });
    expect(none.expectations[0]!.error).toBeDefined();
    expect(summariseTune(req(undefined), cells, runs)).toMatchObject({ expectations: [], passed: true });
  });

  it('judges the result as tune.json holds it', () => {
    const r = summariseTune(req(undefined), cells, runs);
    expect(judgeTune(r, [{ metric: 'recommended.cell', op: 'equals', expected: 2 }])[0]!.passed).toBe(true);
  });
});
