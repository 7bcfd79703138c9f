import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError, formatIssue, type ScenarioIssue } from './parse.ts';
import { fixtureContext } from '../../harness/scenario/load.ts';

const ctx = fixtureContext((p) => {
  if (p === 'arrivals.csv') return 'at,job\n0s,0\n90s,0\n2m,0\n';
  if (p === 'bad.csv') return 'at,job\n0s,0\nlater,0\n';
  throw new Error('no such file');
});

const BASE = `name: t
duration: 1h
workload:
  arrivals: { kind: poisson, rate_per_hour: 60 }
  jobs:
    - { duration: 5m }
`;

function issuesOf(text: string): ScenarioIssue[] {
  try {
    parseScenario(text, 'x.yaml', ctx);
  } catch (e) {
    if (e instanceof ScenarioError) return e.issues;
    throw e;
  }
  throw new Error('expected the scenario to be rejected');
}

describe('parseScenario', () => {
  it('settles a minimal scenario with the documented defaults', () => {
    const s = parseScenario(BASE, 'x.yaml', ctx);
    expect(s).toMatchObject({
      name: 't',
      version: '2.19.6',
      seed: 1,
      mode: 'sim',
      durationMs: 3_600_000,
      topology: { storage: 's3', auth: 'github', nomadClients: { count: 10, cpus: 8, memoryGb: 32 }, defaultResourceClass: 'medium' },
    });
    expect(s.workload.jobs[0]).toMatchObject({ weight: 1, executor: 'docker', resourceClass: 'medium', duration: { kind: 'fixed', ms: 300_000 }, parallelism: 1 });
    expect(s.topology.resourceClasses['docker:medium']).toEqual({ name: 'medium', executor: 'docker', cpuMilli: 2000, memoryMb: 4096 });
  });

  it('names file, line, column and field for an unknown target, with a suggestion', () => {
    const [issue, ...rest] = issuesOf(`${BASE}faults:\n  - { at: 10m, action: kill, target: rabitmq }\n`);
    expect(rest).toEqual([]);
    expect(issue).toMatchObject({ file: 'x.yaml', line: 8, field: 'faults[0].target' });
    expect(issue!.message).toBe('unknown target `rabitmq`; did you mean `rabbitmq`?');
    expect(issue!.column).toBe(38);
    expect(formatIssue(issue!)).toMatch(/^x\.yaml:8:38: faults\[0\]\.target: unknown target/);
  });

  it('rejects unknown keys at the key, suggesting the intended one', () => {
    const all = issuesOf(BASE.replace('duration: 1h', 'duraton: 1h'));
    expect(all.map((i) => i.field)).toEqual(['duration', 'duraton']);
    const unknown = all[1]!;
    expect(unknown).toMatchObject({ line: 2, column: 1 });
    expect(unknown.message).toContain('did you mean `duration`?');
    expect(all[0]!.message).toBe('required field is missing');
  });

  it('explains bad durations and enum values', () => {
    const issues = issuesOf(BASE.replace('duration: 5m', 'duration: 5 minutes').replace('poisson', 'poison'));
    expect(issues.map((i) => [i.field, i.line])).toEqual([
      ['workload.arrivals.kind', 4],
      ['workload.jobs[0].duration', 6],
    ]);
    expect(issues[0]!.message).toContain('did you mean `poisson`?');
    expect(issues[1]!.message).toContain('a duration such as 250ms, 90s');
  });

  it('checks expectations against the report paths', () => {
    const [issue] = issuesOf(`${BASE}expect:\n  - { metric: builds.lots, max: 0 }\n`);
    expect(issue).toMatchObject({ field: 'expect[0].metric', line: 8 });
    expect(issue!.message).toContain('did you mean `builds.lost`?');
    expect(issuesOf(`${BASE}expect:\n  - { metric: builds.lost, max: 1s }\n`)[0]!.message).toContain('only allowed for *_ms metrics');
    expect(issuesOf(`${BASE}expect:\n  - { metric: builds.lost, max: 0, min: 0 }\n`)[0]!.message).toContain('exactly one of equals, max or min');
  });

  it('refuses resource classes that cannot fit a client after the reservation', () => {
    const text = BASE.replace('{ duration: 5m }', '{ duration: 5m, resource_class: massive }').replace('duration: 1h\n', 'duration: 1h\ntopology: { nomad_clients: { count: 2, cpus: 8 } }\n');
    const [issue] = issuesOf(text);
    expect(issue!.message).toContain('needs 7 CPU');
    expect(issue!.hint).toContain('queued forever');
  });

  it('refuses faults after the end, `for` on actions it cannot undo, and actions on the wrong target', () => {
    const issues = issuesOf(`${BASE}faults:\n  - { at: 2h, action: kill, target: redis }\n  - { at: 10m, action: restart, target: redis, for: 5m }\n  - { at: 10m, action: drain, target: frontend }\n`);
    expect(issues.map((i) => i.field)).toEqual(['faults[0].at', 'faults[1].for', 'faults[2].action']);
  });

  it('reports YAML syntax errors with their position', () => {
    const [issue] = issuesOf('name: t\nworkload: {\n');
    expect(issue!.message).toMatch(/^YAML syntax/);
    expect(issue!.line).toBeGreaterThanOrEqual(2);
  });

  it('reads trace files relative to the scenario and locates errors inside them', () => {
    const trace = BASE.replace('{ kind: poisson, rate_per_hour: 60 }', '{ kind: trace, file: arrivals.csv }');
    expect(parseScenario(trace, 'x.yaml', ctx).workload.arrivals).toEqual({ kind: 'trace', arrivals: [{ atMs: 0, job: 0 }, { atMs: 90_000, job: 0 }, { atMs: 120_000, job: 0 }] });
    const [bad] = issuesOf(trace.replace('arrivals.csv', 'bad.csv'));
    expect(bad).toMatchObject({ file: 'bad.csv', line: 3 });
    const [missing] = issuesOf(trace.replace('arrivals.csv', 'nope.csv'));
    expect(missing!.message).toContain('cannot read trace file');
  });

  it('resolves aliases to canonical container names', () => {
    const s = parseScenario(`${BASE}faults:\n  - { at: 10m, action: kill, target: picard-output-processor, for: 5m }\n`, 'x.yaml', ctx);
    expect(s.faults[0]).toMatchObject({ target: 'output-processor', writtenTarget: 'picard-output-processor', atMs: 600_000, forMs: 300_000 });
  });

  it('refuses what the models cannot run, where it is written: the crashers of `run` that `validate` used to accept', () => {
    const arrivals = (a: string) => BASE.replace('{ kind: poisson, rate_per_hour: 60 }', a);
    const job = (d: string) => BASE.replace('{ duration: 5m }', `{ duration: ${d} }`);
    const cases: [string, string, string][] = [
      [arrivals('{ kind: diurnal, peak_per_hour: 100, width: 0 }'), 'workload.arrivals.width', 'must be above 0'],
      [arrivals('{ kind: burst, base_per_hour: 1, burst_per_hour: 9, every: 0, length: 0 }'), 'workload.arrivals.every', 'must be above 0'],
      [arrivals('{ kind: burst, base_per_hour: 1, burst_per_hour: 9, every: 10m, length: 10m1ms }'), 'workload.arrivals.length', 'bursts would overlap'],
      [job('{ median: 0, p95: 1m }'), 'workload.jobs[0].duration.median', 'must be above 0'],
      [job('{ dist: lognormal, median: 0ms, p95: 1m }'), 'workload.jobs[0].duration.median', 'must be above 0'],
      [job('{ median: 2m, p95: 1m }'), 'workload.jobs[0].duration.p95', 'greater than the median'],
      [job('{ dist: exponential, mean: 0 }'), 'workload.jobs[0].duration.mean', 'must be above 0'],
      [job('{ dist: uniform, min: 2m, max: 1m }'), 'workload.jobs[0].duration.max', 'at least min'],
      [`${BASE}topology: { services_machine: { disk_gb: 10, disk_free_gb: 11 } }\n`, 'topology.services_machine.disk_free_gb', 'more than the volume'],
      [`${BASE}topology: { services_machine: { disk_gb: 10, rabbitmq_disk_limit_gb: 11 } }\n`, 'topology.services_machine.rabbitmq_disk_limit_gb', 'more than the volume'],
    ];
    for (const [text, field, says] of cases) {
      const [issue, ...rest] = issuesOf(text);
      expect(rest).toEqual([]);
      expect(issue!.field).toBe(field);
      expect(issue!.message).toContain(says);
      expect(issue!.line).toBeGreaterThan(1);
    }
    // At the edge: a burst filling its whole period, the smallest width, a median just under p95 all run.
    expect(() => parseScenario(arrivals('{ kind: burst, base_per_hour: 1, burst_per_hour: 9, every: 10m, length: 10m }'), 'x.yaml', ctx)).not.toThrow();
    expect(() => parseScenario(arrivals('{ kind: diurnal, peak_per_hour: 100, width: 1ms }'), 'x.yaml', ctx)).not.toThrow();
    expect(() => parseScenario(job('{ median: 1ms, p95: 2ms }'), 'x.yaml', ctx)).not.toThrow();
  });

  it('a bare number is whole milliseconds, and a fraction says so with a hint', () => {
    expect(parseScenario(BASE.replace('duration: 1h', 'duration: 3600000'), 'x.yaml', ctx).durationMs).toBe(3_600_000);
    const [issue] = issuesOf(BASE.replace('duration: 1h', 'duration: 1.5'));
    expect(issue).toMatchObject({ field: 'duration', line: 2, message: '`1.5` is not a whole number of milliseconds: a bare number is milliseconds' });
    expect(issue!.hint).toContain('1.5h');
  });

  it('checks each expectation\'s value against its metric\'s type', () => {
    const expectOf = (e: string) => issuesOf(`${BASE}expect:\n  - ${e}\n`);
    expect(expectOf('{ metric: builds.lost, equals: none }')[0]).toMatchObject({ field: 'expect[0].equals', message: '`builds.lost` is a number, but the expected value `none` is a string' });
    expect(expectOf('{ metric: builds.lost, equals: true }')[0]!.message).toContain('is a boolean');
    expect(expectOf('{ metric: observed_severity, max: 3 }')[0]).toMatchObject({ field: 'expect[0].max', message: '`observed_severity` is a string, not a number: `max` cannot compare it' });
    expect(expectOf('{ metric: passed, equals: true }')[0]!.message).toContain('decided by the expectations themselves');
    expect(expectOf('{ metric: queue_time_ms, max: 1 }')[0]!.message).toContain('unknown metric');
    // Well typed: numbers, a duration for a *_ms metric, a severity, a boolean, a statsd metric.
    for (const ok of ['{ metric: builds.lost, equals: 0 }', '{ metric: queue_time_ms.p95, equals: 1s }', '{ metric: observed_severity, equals: none }', '{ metric: ledger.conserved, equals: true }', '{ metric: metrics.circle.run-queue.latency.max, max: 3 }']) {
      expect(() => parseScenario(`${BASE}expect:\n  - ${ok}\n`, 'x.yaml', ctx)).not.toThrow();
    }
  });

  it('refuses every section no command runs yet, at its key, naming the command that will', () => {
    const sections: [string, string, string][] = [
      ['topology: { vm_service: { max_instances: 3 } }', 'topology.vm_service.max_instances', 'not modelled'],
    ];
    for (const [yaml, field, command] of sections) {
      const [issue, ...rest] = issuesOf(`${BASE}${yaml}\n`);
      expect(rest).toEqual([]);
      expect(issue).toMatchObject({ field, line: 7 });
      expect(issue!.message).toContain(command);
      expect(issue!.hint).toBeTruthy();
    }
  });

  it('settles target-tracking policies with AWS defaults, and refuses a CPU target over 100 % where it is written', () => {
    const tt = `${BASE}autoscaling:
  min: 1
  max: 9
  policies:
    - { kind: target_tracking, metric: cpu_utilisation, target: 70 }
    - { kind: target_tracking, metric: backlog_per_client, target: 3, warmup: 2m, scale_in_cooldown: 10m, disable_scale_in: true }
`;
    expect(parseScenario(tt, 'x.yaml', ctx).autoscaling!.targetTracking).toEqual([
      { metric: 'cpu_utilisation', target: 70, warmupMs: 300_000, scaleInCooldownMs: 300_000, disableScaleIn: false },
      { metric: 'backlog_per_client', target: 3, warmupMs: 120_000, scaleInCooldownMs: 600_000, disableScaleIn: true },
    ]);
    const [issue] = issuesOf(tt.replace('target: 70', 'target: 170'));
    expect(formatIssue(issue!)).toMatch(/^x\.yaml:11:\d+: autoscaling\.policies\[0\]\.target: `170` is not valid: expected a percent of at most 100 for cpu_utilisation/);
  });

  it('never echoes a long value whole', () => {
    const [issue] = issuesOf(BASE.replace('poisson', 'p'.repeat(3_000)));
    expect(issue!.message.length).toBeLessThan(300);
    expect(issue!.message).toContain('(3000 characters)');
  });
});
