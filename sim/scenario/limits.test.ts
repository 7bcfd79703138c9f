import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError } from './parse.ts';
import { LIMITS, type Limit, type LimitKey } from './limits.ts';
import { formatDurationMs } from '../util/duration.ts';
import { fixtureContext } from '../../harness/scenario/load.ts';
import { loadProfile } from '../../fixtures/load.ts';
import { runScenario, RunLimitError } from '../run.ts';

// Each limit at its value (accepted, or at least not refused for that limit) and one past it (refused with an
// error naming the limit, located, with the limit's hint).

const traces = new Map<string, string>();
const ctx = fixtureContext((p) => {
  const t = traces.get(p);
  if (t === undefined) throw new Error('no such file');
  return t;
});

interface Parts {
  duration?: string;
  arrivals?: string;
  jobs?: string;
  topology?: string;
  extra?: string;
}

function scenario(p: Parts = {}): string {
  return `name: limits
duration: ${p.duration ?? '1h'}
${p.topology ? `topology:\n${p.topology}\n` : ''}workload:
  arrivals: ${p.arrivals ?? '{ kind: poisson, rate_per_hour: 10 }'}
  jobs:
${p.jobs ?? '    - { duration: 5m }'}
${p.extra ?? ''}`;
}

function outcome(text: string): { ok: true } | { ok: false; messages: string[]; error: ScenarioError } {
  try {
    parseScenario(text, 'limits.yaml', ctx);
    return { ok: true };
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    return { ok: false, messages: e.issues.map((i) => `${i.message} | ${i.hint ?? ''}`), error: e };
  }
}

function expectAccepted(text: string): void {
  const o = outcome(text);
  expect(o.ok ? [] : o.messages).toEqual([]);
}

function expectRefusedFor(text: string, key: LimitKey): void {
  const o = outcome(text);
  expect(o.ok).toBe(false);
  if (o.ok) return;
  const l = LIMITS[key];
  const issue = o.error.issues.find((i) => i.message.includes(l.name));
  expect(issue, `no issue names ${l.name}: ${o.messages.join('; ')}`).toBeDefined();
  expect(issue!.hint).toBe(l.hint);
  expect(issue!.line).toBeGreaterThanOrEqual(1);
  expect(issue!.column).toBeGreaterThanOrEqual(1);
}

/** Refused, but not for `key` (at the limit, where the input is invalid for another reason by construction). */
function expectNotRefusedFor(text: string, key: LimitKey): void {
  const o = outcome(text);
  if (o.ok) return;
  expect(o.messages.filter((m) => m.includes(LIMITS[key].name))).toEqual([]);
}

const list = (n: number, item: (i: number) => string): string => Array.from({ length: n }, (_, i) => item(i)).join('\n');

describe('scenario limits: at the limit and one past it', () => {
  it('max_scenario_file_bytes (parseScenario counts characters; the loader counts bytes, in load.test.ts)', () => {
    const base = scenario();
    const pad = (n: number) => `${base}#${'x'.repeat(n - base.length - 2)}\n`;
    expect(pad(LIMITS.scenarioFileBytes.value).length).toBe(LIMITS.scenarioFileBytes.value);
    expectAccepted(pad(LIMITS.scenarioFileBytes.value));
    expectRefusedFor(pad(LIMITS.scenarioFileBytes.value + 1), 'scenarioFileBytes');
  });

  it('max_yaml_aliases', () => {
    const n = LIMITS.yamlAliases.value;
    const expects = (count: number) => `expect:\n  - { metric: builds.lost, max: &zero 0 }\n${list(count, () => '  - { metric: builds.stuck, max: *zero }')}\n`;
    expectAccepted(scenario({ extra: expects(n) }));
    expectRefusedFor(scenario({ extra: expects(n + 1) }), 'yamlAliases');
    // Located at the alias past the limit (the last line), not only at the start of the file.
    const text = scenario({ extra: expects(n + 1) });
    const o = outcome(text);
    if (!o.ok) expect(o.error.issues[0]).toMatchObject({ line: text.trimEnd().split('\n').length, message: `alias number ${n + 1} is over the limit max_yaml_aliases (100 aliases)` });
  });

  it('max_yaml_aliases also bounds the expansion of nested aliases (a billion laughs)', () => {
    let bomb = 'x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
    for (let i = 1; i < 12; i++) bomb += `x${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]\n`;
    expectRefusedFor(`${scenario()}${bomb}`, 'yamlAliases');
  });

  it('max_yaml_depth', () => {
    // The root mapping is level 1; `x:` holds the nested lists (refused as an unknown key when within depth).
    const nested = (levels: number) => `${scenario()}x: ${'['.repeat(levels - 1)}0${']'.repeat(levels - 1)}\n`;
    expectNotRefusedFor(nested(LIMITS.yamlDepth.value), 'yamlDepth');
    expect(outcome(nested(LIMITS.yamlDepth.value)).ok).toBe(false); // refused, for the unknown key
    expectRefusedFor(nested(LIMITS.yamlDepth.value + 1), 'yamlDepth');
    // So deep that the YAML library's own recursion gives out: still the depth limit, never a stack overflow.
    expectRefusedFor(nested(20_000), 'yamlDepth');
  });

  it('max_string_chars', () => {
    const n = LIMITS.stringChars.value;
    expectAccepted(`${scenario()}description: ${'d'.repeat(n)}\n`);
    expectRefusedFor(`${scenario()}description: ${'d'.repeat(n + 1)}\n`, 'stringChars');
    // Keys too: an unknown key of 100,000 characters is not echoed whole.
    const o = outcome(`${scenario()}${'k'.repeat(100_000)}: 1\n`);
    expect(o.ok).toBe(false);
    if (!o.ok) expect(o.error.message.length).toBeLessThan(1_000);
  });

  it('max_duration, as text and as a number of milliseconds', () => {
    const max = LIMITS.durationMs.value;
    expectAccepted(scenario({ duration: '90d', arrivals: '{ kind: poisson, rate_per_hour: 1 }' }));
    expectAccepted(scenario({ duration: String(max), arrivals: '{ kind: poisson, rate_per_hour: 1 }' }));
    expectRefusedFor(scenario({ duration: '90d1ms' }), 'durationMs');
    expectRefusedFor(scenario({ duration: String(max + 1) }), 'durationMs');
    expectRefusedFor(scenario({ duration: '1000000000000000' }), 'durationMs');
    expectRefusedFor(scenario({ jobs: '    - { duration: 91d }' }), 'durationMs');
  });

  it('max_rate_per_hour, for every kind of rate', () => {
    const max = LIMITS.ratePerHour.value;
    expectAccepted(scenario({ arrivals: `{ kind: poisson, rate_per_hour: ${max} }` }));
    expectRefusedFor(scenario({ arrivals: `{ kind: poisson, rate_per_hour: ${max + 1} }` }), 'ratePerHour');
    expectRefusedFor(scenario({ arrivals: `{ kind: diurnal, peak_per_hour: ${max + 1} }` }), 'ratePerHour');
    expectRefusedFor(scenario({ arrivals: `{ kind: diurnal, peak_per_hour: 1, night_per_hour: ${max + 1} }` }), 'ratePerHour');
    expectRefusedFor(scenario({ arrivals: `{ kind: burst, base_per_hour: ${max + 1}, burst_per_hour: 1, every: 1h, length: 1m }` }), 'ratePerHour');
    expectRefusedFor(scenario({ arrivals: `{ kind: burst, base_per_hour: 1, burst_per_hour: ${max + 1}, every: 1h, length: 1m }` }), 'ratePerHour');
  });

  it('max_weight', () => {
    const max = LIMITS.weight.value;
    expectAccepted(scenario({ jobs: `    - { duration: 5m, weight: ${max} }` }));
    expectRefusedFor(scenario({ jobs: `    - { duration: 5m, weight: ${max + 1} }` }), 'weight');
  });

  it('max_nomad_clients, for the fleet and for a fault', () => {
    const max = LIMITS.nomadClients.value;
    expectAccepted(scenario({ topology: `  nomad_clients: { count: ${max} }` }));
    expectRefusedFor(scenario({ topology: `  nomad_clients: { count: ${max + 1} }` }), 'nomadClients');
    expectRefusedFor(scenario({ extra: `faults:\n  - { at: 1m, action: terminate_instance, target: nomad_client, count: ${max + 1} }\n` }), 'nomadClients');
  });

  it('max_job_templates', () => {
    const max = LIMITS.jobTemplates.value;
    expectAccepted(scenario({ jobs: list(max, () => '    - { duration: 5m }') }));
    expectRefusedFor(scenario({ jobs: list(max + 1, () => '    - { duration: 5m }') }), 'jobTemplates');
  });

  it('max_parallelism', () => {
    const max = LIMITS.parallelism.value;
    expectAccepted(scenario({ jobs: `    - { duration: 5m, parallelism: ${max} }` }));
    expectRefusedFor(scenario({ jobs: `    - { duration: 5m, parallelism: ${max + 1} }` }), 'parallelism');
  });

  it('max_workflow_jobs', () => {
    const max = LIMITS.workflowJobs.value;
    expectAccepted(scenario({ jobs: `    - { duration: 5m, workflow_jobs: ${max} }` }));
    expectRefusedFor(scenario({ jobs: `    - { duration: 5m, workflow_jobs: ${max + 1} }` }), 'workflowJobs');
  });

  it('max_faults', () => {
    const max = LIMITS.faults.value;
    const faults = (n: number) => `faults:\n${list(n, () => '  - { at: 1m, action: restart, target: frontend }')}\n`;
    expectAccepted(scenario({ extra: faults(max) }));
    expectRefusedFor(scenario({ extra: faults(max + 1) }), 'faults');
  });

  it('max_resource_classes', () => {
    const max = LIMITS.resourceClasses.value;
    const classes = (n: number) => `  resource_classes:\n${list(n, (i) => `    rc${i}: { cpu: 1, ram_mb: 1024 }`)}`;
    expectAccepted(scenario({ topology: classes(max) }));
    expectRefusedFor(scenario({ topology: classes(max + 1) }), 'resourceClasses');
  });

  it('max_expectations', () => {
    const max = LIMITS.expectations.value;
    const expects = (n: number) => `expect:\n${list(n, () => '  - { metric: builds.lost, max: 0 }')}\n`;
    expectAccepted(scenario({ extra: expects(max) }));
    expectRefusedFor(scenario({ extra: expects(max + 1) }), 'expectations');
  });

  it('max_scheduled_workflows', () => {
    const max = LIMITS.scheduled.value;
    const schedules = (n: number) => `  scheduled:\n${list(n, () => '    - { job: 0, every: 30m }')}`;
    expectAccepted(scenario({ jobs: `    - { duration: 5m }\n${schedules(max)}` }));
    expectRefusedFor(scenario({ jobs: `    - { duration: 5m }\n${schedules(max + 1)}` }), 'scheduled');
  });

  // A fleet that runs everything it is given, so that only the build count is at stake.
  const bigFleet = '  nomad_clients: { count: 10000, cpus: 64, memory_gb: 128 }';

  it('max_simulated_builds: the rate integrated over the duration, times the workflow jobs', () => {
    expect(LIMITS.simulatedBuilds.value).toBe(600_000);
    expectAccepted(scenario({ topology: bigFleet, duration: '6h', arrivals: '{ kind: poisson, rate_per_hour: 100000 }' }));
    expectRefusedFor(scenario({ topology: bigFleet, duration: '6h1ms', arrivals: '{ kind: poisson, rate_per_hour: 100000 }' }), 'simulatedBuilds');
    // A rate within its own limit is refused over a long duration, and workflow jobs count as builds.
    expectRefusedFor(scenario({ topology: bigFleet, duration: '90d', arrivals: '{ kind: poisson, rate_per_hour: 300 }' }), 'simulatedBuilds');
    expectAccepted(scenario({ topology: bigFleet, duration: '4h', arrivals: '{ kind: poisson, rate_per_hour: 3750 }', jobs: '    - { duration: 5m, workflow_jobs: 40 }' }));
    expectRefusedFor(scenario({ topology: bigFleet, duration: '4h', arrivals: '{ kind: poisson, rate_per_hour: 3750 }', jobs: '    - { duration: 5m, workflow_jobs: 41 }' }), 'simulatedBuilds');
    // Every arrival kind is counted: a month of diurnal peaks, bursts, scheduled workflows.
    expectRefusedFor(scenario({ topology: bigFleet, duration: '30d', arrivals: '{ kind: diurnal, peak_per_hour: 100000 }' }), 'simulatedBuilds');
    expectRefusedFor(scenario({ topology: bigFleet, duration: '30d', arrivals: '{ kind: burst, base_per_hour: 0, burst_per_hour: 100000, every: 1h, length: 10m }' }), 'simulatedBuilds');
    expectRefusedFor(
      scenario({ topology: bigFleet, duration: '90d', arrivals: '{ kind: poisson, rate_per_hour: 1 }', jobs: `    - { duration: 5m, workflow_jobs: 50 }\n  scheduled:\n    - { job: 0, every: 1m }` }),
      'simulatedBuilds',
    );
  });

  it('max_queued_builds: builds the fleet cannot run before the end', () => {
    expect(LIMITS.queuedBuilds.value).toBe(300_000);
    // No clients: every build waits.
    const noFleet = '  nomad_clients: { count: 0 }';
    expectAccepted(scenario({ topology: noFleet, duration: '4h', arrivals: '{ kind: poisson, rate_per_hour: 75000 }' }));
    expectRefusedFor(scenario({ topology: noFleet, duration: '4h1ms', arrivals: '{ kind: poisson, rate_per_hour: 75000 }' }), 'queuedBuilds');
    // One 8-CPU client (6 usable) against 2-CPU jobs of 6 minutes runs 3 at a time, 30 an hour, 120 in 4 h:
    // all builds but those 120 wait, so 300,120 builds (75,030 an hour) are exactly at the limit.
    const oneClient = '  nomad_clients: { count: 1, cpus: 8, memory_gb: 32 }';
    expectAccepted(scenario({ topology: oneClient, duration: '4h', arrivals: '{ kind: poisson, rate_per_hour: 75029 }', jobs: '    - { duration: 6m }' }));
    expectRefusedFor(scenario({ topology: oneClient, duration: '4h', arrivals: '{ kind: poisson, rate_per_hour: 75031 }', jobs: '    - { duration: 6m }' }), 'queuedBuilds');
    // The same load on a fleet that keeps up is not refused for waiting.
    expectAccepted(scenario({ topology: '  nomad_clients: { count: 2000, cpus: 64, memory_gb: 128 }', duration: '4h', arrivals: '{ kind: poisson, rate_per_hour: 100000 }', jobs: '    - { duration: 6m }' }));
  });

  it('max_simulated_tasks: builds times parallelism', () => {
    expect(LIMITS.simulatedTasks.value).toBe(3_000_000);
    expectAccepted(scenario({ topology: bigFleet, duration: '3h', arrivals: '{ kind: poisson, rate_per_hour: 1000 }', jobs: '    - { duration: 5m, parallelism: 1000 }' }));
    expectRefusedFor(scenario({ topology: bigFleet, duration: '3h1ms', arrivals: '{ kind: poisson, rate_per_hour: 1000 }', jobs: '    - { duration: 5m, parallelism: 1000 }' }), 'simulatedTasks');
  });

  it('max_trace_rows', () => {
    const max = LIMITS.traceRows.value;
    traces.set('rows-at.csv', `at\n${'0\n'.repeat(max)}`);
    traces.set('rows-past.csv', `at\n${'0\n'.repeat(max + 1)}`);
    expectAccepted(scenario({ arrivals: '{ kind: trace, file: rows-at.csv }' }));
    const o = outcome(scenario({ arrivals: '{ kind: trace, file: rows-past.csv }' }));
    expect(o.ok).toBe(false);
    if (!o.ok) {
      expect(o.error.issues[0]).toMatchObject({ file: 'rows-past.csv', line: max + 2 });
      expect(o.messages[0]).toContain(LIMITS.traceRows.name);
    }
  });

  it('max_trace_file_bytes (what the reader returned; the bounded read itself is in load.test.ts)', () => {
    const max = LIMITS.traceFileBytes.value;
    const trace = (n: number) => {
      const body = 'at\n0\n#';
      return `${body}${'x'.repeat(n - body.length - 1)}\n`;
    };
    traces.set('size-at.csv', trace(max));
    traces.set('size-past.csv', trace(max + 1));
    expect(traces.get('size-at.csv')!.length).toBe(max);
    expectAccepted(scenario({ arrivals: '{ kind: trace, file: size-at.csv }' }));
    expectRefusedFor(scenario({ arrivals: '{ kind: trace, file: size-past.csv }' }), 'traceFileBytes');
  });
});

describe('max_run_events', () => {
  const small = parseScenario(scenario({ duration: '30m', arrivals: '{ kind: poisson, rate_per_hour: 60 }', extra: 'faults:\n  - { at: 10m, action: restart, target: frontend }\n' }), 'events.yaml', ctx);
  const profile = loadProfile(small.version);

  it('is the default of a run', () => {
    expect(LIMITS.runEvents.value).toBe(20_000_000);
    expect(runScenario(small, profile).engine.stop_reason).toBe('completed');
  });

  it('a run that needs exactly the limit completes; one event fewer is an error naming the limit, not a cut report', () => {
    const events = runScenario(small, profile).engine.events;
    expect(runScenario(small, profile, { maxEvents: events }).engine.events).toBe(events);
    let caught: unknown;
    try {
      runScenario(small, profile, { maxEvents: events - 1 });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(RunLimitError);
    expect(caught).toBeInstanceOf(ScenarioError); // so the CLI answers with exit 2 and no stack trace
    const issue = (caught as RunLimitError).issues[0]!;
    expect(issue.message).toContain(LIMITS.runEvents.name);
    expect(issue.message).toContain(`${events - 1} events`);
    expect(issue.hint).toBe(LIMITS.runEvents.hint);
  });

  it('bounds the fault-free baseline too', () => {
    // Stopping frontend for good drops every later webhook: the run fires fewer events than its baseline.
    const text = scenario({ duration: '30m', arrivals: '{ kind: poisson, rate_per_hour: 600 }', extra: 'faults:\n  - { at: 1m, action: stop, target: frontend }\n' });
    const stopped = parseScenario(text, 'events.yaml', ctx);
    const runEvents = runScenario(stopped, profile).engine.events;
    const baselineEvents = runScenario({ ...stopped, faults: [] }, profile).engine.events;
    expect(baselineEvents).toBeGreaterThan(runEvents);
    expect(() => runScenario(stopped, profile, { maxEvents: runEvents })).toThrow(/the fault-free baseline run \(\d+ events/);
    expect(runScenario(stopped, profile, { maxEvents: baselineEvents }).engine.events).toBe(runEvents);
  });
});

describe('the limits table of sim/README.md', () => {
  it('lists every limit with its value', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const rows = readme.split('\n').filter((l) => l.startsWith('| `max_'));
    const all: Limit[] = Object.values(LIMITS);
    expect(rows.length).toBe(all.length);
    for (const l of all) {
      const row = rows.find((r) => r.startsWith(`| \`${l.name}\` |`));
      expect(row, l.name).toBeDefined();
      const value = l.unit === 'ms' ? formatDurationMs(l.value) : l.value.toLocaleString('en');
      expect(row!.split('|')[2]!.trim().split(' ')[0]).toBe(value);
    }
  });
});
