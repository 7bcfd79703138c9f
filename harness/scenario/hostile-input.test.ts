import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { fixtureContext } from './load.ts';
import { parseScenario, ScenarioError, MAX_ISSUE_CHARS } from '../../sim/scenario/parse.ts';
import type { SettledScenario } from '../../sim/scenario/settled.ts';
import { LIMITS } from '../../sim/scenario/limits.ts';
import { FAULT_ACTIONS } from '../../sim/scenario/schema.ts';
import { loadProfile } from '../../fixtures/load.ts';
import { runScenario } from '../../sim/run.ts';

/**
 * Thousands of hostile scenario files: `parseScenario` either settles one or throws a ScenarioError whose
 * issues are located (line and column ≥ 1), name a field (a string, perhaps empty for the whole file) and say
 * what is wrong in bounded length; never any other exception, and in bounded time. Every scenario it accepts
 * runs through the simulation without throwing.
 */

// Trace files the hostile scenarios may name: good, empty, garbage, out of order, huge values.
const TRACES: Record<string, string> = {
  'ok.csv': 'at,job\n0s,0\n90s,0\n2m,\n',
  'ok.jsonl': '{"at": "1s", "job": 0}\n{"at": 2000}\n',
  'empty.csv': '',
  'garbage.csv': '\u0000\u0001\uFFFD,,,"\n"unterminated\n',
  'unsorted.csv': 'at\n2m\n1m\n',
  'huge.csv': `at,job\n${'9'.repeat(400)},${'9'.repeat(400)}\n`,
  'badjson.jsonl': '{"at": \n{"at": [1,2], "job": {"x": 1}}\n',
  'nan.jsonl': '{"at": 1e400}\n{"at": -1}\n',
};
const ctx = fixtureContext((p) => {
  const t = TRACES[p];
  if (t === undefined) throw new Error('no such file');
  return t;
}, 'run');

const MAX_PARSE_MS = 2_000;

/** Parses and checks the error contract; returns the settled scenario when accepted. */
function parseChecked(text: string): SettledScenario | undefined {
  const started = performance.now();
  try {
    return parseScenario(text, 'hostile.yaml', ctx);
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw new Error(`not a ScenarioError: ${(e as Error)?.stack ?? String(e)}\n--- input (first 500 characters) ---\n${text.slice(0, 500)}`);
    expect(e.issues.length).toBeGreaterThan(0);
    for (const issue of e.issues) {
      expect(issue.line).toBeGreaterThanOrEqual(1);
      expect(issue.column).toBeGreaterThanOrEqual(1);
      expect(Number.isInteger(issue.line) && Number.isInteger(issue.column)).toBe(true);
      expect(typeof issue.field).toBe('string');
      expect(issue.field.length).toBeLessThanOrEqual(100);
      expect(issue.message.length).toBeGreaterThan(0);
      expect(issue.message.length).toBeLessThanOrEqual(MAX_ISSUE_CHARS + 40);
      expect((issue.hint ?? '').length).toBeLessThanOrEqual(MAX_ISSUE_CHARS + 40);
    }
    return undefined;
  } finally {
    expect(performance.now() - started).toBeLessThan(MAX_PARSE_MS);
  }
}

// Values of every wrong kind, for any field.
const hostileNumber = fc.oneof(
  fc.constantFrom(0, -1, -0, 1, 1.5, 0.1, 2 ** 31, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 1e15, 1e308, Number.MAX_VALUE, Number.MIN_VALUE, Number.NaN, Infinity, -Infinity),
  fc.double({ noDefaultInfinity: false }),
  fc.integer({ min: -10, max: 1_000_000 }),
);
const hostileDuration = fc.oneof(
  fc.constantFrom('0ms', '1ms', '0', '1.5', '1.5h', '-1s', '1h1h', '10m1h', '1e3s', '', ' ', '90d', '90d1ms', '1000000000000000', '99999999999999999999d', '1.1234567s', '5 m', 'forever'),
  hostileNumber,
);
const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', ' ', '*', '&a', '!!binary', '{{}}', '\u0000', 'é'.repeat(10), '../../etc/passwd'),
  fc.integer({ min: 4_090, max: 4_200 }).map((n) => 'x'.repeat(n)),
  fc.constant('y'.repeat(100_000)),
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileNumber,
  hostileDuration,
  hostileString,
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.integer(), { maxKeys: 3 }),
);

/** A sound scenario as a plain object, then mutated: a path set to a hostile value, an unknown key, a key removed. */
function soundScenario(): Record<string, unknown> {
  return {
    name: 'hostile',
    duration: '1h',
    seed: 3,
    topology: { nomad_clients: { count: 2, cpus: 8, memory_gb: 32 }, resource_classes: { tiny: { cpu: 1, ram_mb: 1024 } }, services_machine: { disk_gb: 100, disk_free_gb: 7 }, vm_service: { preallocated_machine: 1 } },
    workload: {
      arrivals: { kind: 'burst', base_per_hour: 10, burst_per_hour: 50, every: '20m', length: '5m', first_at: '1m' },
      jobs: [
        { name: 'a', weight: 2, executor: 'docker', resource_class: 'tiny', duration: { median: '2m', p95: '5m' }, parallelism: 2, workflow_jobs: 2, failure_rate: 0.1, artifacts: 1, test_results: true },
        { executor: 'machine', duration: { dist: 'uniform', min: '1m', max: '3m' }, uses_contexts: true },
      ],
      scheduled: [{ job: 0, every: '30m' }],
    },
    faults: [{ at: '10m', action: 'kill', target: 'rabbitmq', for: '5m' }],
    expect: [{ metric: 'builds.lost', max: 0 }, { metric: 'queue_time_ms.p95', max: '1h' }, { metric: 'observed_severity', equals: 'severe' }],
  };
}

/** Every path to a leaf or a collection of the sound scenario, for mutations. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = prefix.length > 0 ? [prefix] : [];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}
const PATHS = paths(soundScenario());
const KNOWN_KEYS = ['backups', 'disaster', 'recovery', 'autoscaling', 'cost', 'mode', 'time_scale', 'version', 'description', 'width', 'peak_at', 'night_per_hour', 'file', 'kind', 'dist', 'mean', 'value', 'count', 'scheduler', 'hour_usd', 'instance_type', 'max_instances'];

type Mutation = { kind: 'set'; path: (string | number)[]; value: unknown } | { kind: 'delete'; path: (string | number)[] } | { kind: 'add'; path: (string | number)[]; key: string; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), path: fc.constantFrom(...PATHS), value: hostileValue }),
  fc.record({ kind: fc.constant('delete' as const), path: fc.constantFrom(...PATHS) }),
  fc.record({ kind: fc.constant('add' as const), path: fc.constantFrom([], ...PATHS), key: fc.oneof(fc.constantFrom(...KNOWN_KEYS), fc.string({ maxLength: 12 })), value: hostileValue }),
);

function apply(doc: Record<string, unknown>, m: Mutation): void {
  const parentPath = m.kind === 'add' ? m.path : m.path.slice(0, -1);
  let parent: unknown = doc;
  for (const seg of parentPath) parent = (parent as Record<string | number, unknown>)?.[seg];
  if (parent === null || typeof parent !== 'object') return;
  const p = parent as Record<string | number, unknown>;
  if (m.kind === 'add') p[m.key] = m.value;
  else if (m.kind === 'delete') delete p[m.path[m.path.length - 1]!];
  else p[m.path[m.path.length - 1]!] = m.value;
}

/** YAML text of a mutated scenario; non-finite numbers are written as YAML's `.nan` and `.inf`. */
const mutatedText = fc.array(mutation, { minLength: 1, maxLength: 4 }).map((ms) => {
  const doc = soundScenario();
  for (const m of ms) apply(doc, m);
  return stringify(doc, { lineWidth: 0 });
});

const ARRIVAL_KINDS = [
  '{ kind: poisson, rate_per_hour: RATE }',
  '{ kind: diurnal, peak_per_hour: RATE, night_per_hour: NIGHT, width: DUR, peak_at: "23:59", weekends: false }',
  '{ kind: burst, base_per_hour: NIGHT, burst_per_hour: RATE, every: DUR, length: DUR2, first_at: DUR }',
  '{ kind: trace, file: TRACE }',
];

/** Text-level attacks a mapping cannot express: alias bombs, deep nesting, garbage, tabs, duplicate keys. */
const textAttack = fc.oneof(
  fc.uint8Array({ maxLength: 2_000 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.uint8Array({ maxLength: 2_000 }).map((b) => Buffer.from(b).toString('utf8')),
  fc.string({ maxLength: 500 }),
  fc.record({ width: fc.integer({ min: 2, max: 12 }), levels: fc.integer({ min: 2, max: 12 }) }).map(({ width, levels }) => {
    let t = `a0: &a0 [${Array(width).fill('lol').join(', ')}]\n`;
    for (let i = 1; i < levels; i++) t += `a${i}: &a${i} [${Array(width).fill(`*a${i - 1}`).join(', ')}]\n`;
    return t;
  }),
  fc.integer({ min: 1, max: 2_000 }).map((n) => `name: deep\nx: ${'['.repeat(n)}${']'.repeat(n)}\n`),
  fc.integer({ min: 1, max: 1_000 }).map((n) => `name: deep\nx:\n${Array.from({ length: n }, (_, i) => `${' '.repeat(i + 1)}- `).join('\n')}\n`),
  fc.integer({ min: 1, max: 300 }).map((n) => `name: a\nname: b\n${'\tx: 1\n'.repeat(n)}`),
  fc.constantFrom('', '\n', '---\n---\n', '- 1\n- 2\n', 'null', '!!js/function "x"', '? [a, b]\n: c\n', '<<: *nothing\n', '%YAML 9.9\n---\nname: v\n', '\uFEFFname: bom\n'),
  mutatedText.map((t) => `${t}${'#'.repeat(200)}\n`),
);

describe('hostile scenario files', () => {
  it('parseScenario settles or throws a located, bounded ScenarioError, never anything else', () => {
    fc.assert(fc.property(fc.oneof({ weight: 3, arbitrary: mutatedText }, { weight: 2, arbitrary: textAttack }), (text) => void parseChecked(text)), { numRuns: 2_000 });
  });

  it('runs the counterexample it once found: a lost build\'s sibling container job placed while the siblings are stopped', () => {
    // Parallelism 8 on two clients with room for one task each; a client's agent dies at once. Stopping the lost
    // build's jobs one by one freed room, and the scheduler placed the next sibling in between (a crash of the run).
    const text = `name: small
duration: 1ms
topology: { nomad_clients: { count: 2, cpus: 4, memory_gb: 16 } }
workload:
  arrivals: { kind: trace, file: ok.csv }
  jobs:
    - { duration: { median: 1, p95: 4684 }, weight: 5e-324, parallelism: 8, workflow_jobs: 1, executor: docker, failure_rate: 0, artifacts: 1, test_results: true }
    - { duration: 1m, weight: 1, executor: machine }
  scheduled: [ { job: 0, every: 1m } ]
faults:
  - { at: 0, action: kill, target: nomad_client }
`;
    const s = parseChecked(text)!;
    const b = runScenario(s, loadProfile(s.version)).builds;
    expect(b.succeeded + b.failed + b.lost + b.stuck).toBe(b.triggered);
  });

  it('every accepted scenario of small size runs through the simulation without throwing', () => {
    const profile = loadProfile('2.19.6');
    const smallDuration = fc.oneof(fc.constantFrom('0ms', '1ms', '1s', '59s', '1m', '20m', '1h'), fc.integer({ min: 0, max: 3_600_000 }));
    const small = fc
      .record({
        duration: fc.constantFrom('1ms', '1m', '30m', '1h', '2h'),
        arrival: fc.constantFrom(...ARRIVAL_KINDS),
        rate: fc.constantFrom(0.001, 1, 60, 300),
        night: fc.constantFrom(0, 0.5, 10),
        dur: smallDuration,
        dur2: smallDuration,
        trace: fc.constantFrom('ok.csv', 'ok.jsonl', ...Object.keys(TRACES)),
        jobDuration: fc.oneof(
          smallDuration.map((d) => JSON.stringify(d)),
          fc.tuple(fc.integer({ min: 0, max: 600_000 }), fc.integer({ min: 1, max: 3_600_000 })).map(([a, b]) => `{ median: ${a}, p95: ${a + b} }`),
          fc.tuple(fc.integer({ min: 0, max: 600_000 }), fc.integer({ min: 0, max: 3_600_000 })).map(([a, b]) => `{ dist: uniform, min: ${a}, max: ${a + b} }`),
          smallDuration.map((d) => `{ dist: exponential, mean: ${JSON.stringify(d)} }`),
        ),
        weight: fc.constantFrom(Number.MIN_VALUE, 0.001, 1, 1_000_000),
        parallelism: fc.integer({ min: 1, max: 8 }),
        workflowJobs: fc.integer({ min: 1, max: 4 }),
        clients: fc.integer({ min: 0, max: 3 }),
        cpus: fc.constantFrom(4, 8),
        executor: fc.constantFrom('docker', 'machine', 'remote_docker'),
        failureRate: fc.constantFrom(0, 0.5, 1),
        fault: fc.option(
          fc.oneof(
            // Any action on any target (mostly refused), and the combinations the model runs.
            fc.record({ at: smallDuration, action: fc.constantFrom(...FAULT_ACTIONS), target: fc.constantFrom('rabbitmq', 'nomad_client', 'services_machine', 'frontend', 'nomad_server', 'logrotate', 'mongo'), for: fc.option(smallDuration) }),
            fc.record({ at: fc.integer({ min: 0, max: 60_000 }), action: fc.constantFrom('kill', 'stop', 'pause'), target: fc.constantFrom('rabbitmq', 'frontend', 'mongo', 'postgres', 'redis', 'nomad_server', 'output-processor'), for: fc.option(smallDuration) }),
            fc.record({ at: fc.integer({ min: 0, max: 60_000 }), action: fc.constantFrom('drain', 'terminate_instance', 'kill', 'partition'), target: fc.constant('nomad_client'), for: fc.constant(null) }),
          ),
          { freq: 2 },
        ),
        every: fc.constantFrom('1m', '7m', '1h'),
      })
      .map(
        (p) => `name: small
duration: ${p.duration}
topology: { nomad_clients: { count: ${p.clients}, cpus: ${p.cpus}, memory_gb: 16 } }
workload:
  arrivals: ${p.arrival.replace('RATE', String(p.rate)).replace('NIGHT', String(p.night)).replace('DUR2', JSON.stringify(p.dur2)).replace(/DUR/g, JSON.stringify(p.dur)).replace('TRACE', p.trace)}
  jobs:
    - { duration: ${p.jobDuration}, weight: ${p.weight}, parallelism: ${p.parallelism}, workflow_jobs: ${p.workflowJobs}, executor: ${p.executor}, failure_rate: ${p.failureRate}, artifacts: 1, test_results: true }
    - { duration: 1m, weight: 1, executor: ${p.executor === 'machine' ? 'docker' : 'machine'} }
  scheduled: [ { job: 0, every: ${p.every} } ]
${p.fault ? `faults:\n  - { at: ${JSON.stringify(p.fault.at)}, action: ${p.fault.action}, target: ${p.fault.target}${p.fault.for === null ? '' : `, for: ${JSON.stringify(p.fault.for)}`} }\n` : ''}`,
      );
    let accepted = 0;
    fc.assert(
      fc.property(small, (text) => {
        const s = parseChecked(text);
        if (s === undefined) return;
        accepted++;
        try {
          const report = runScenario(s, profile);
          expect(report.ledger.conserved).toBe(true);
        } catch (e) {
          throw new Error(`an accepted scenario failed to run: ${(e as Error).stack}\n--- scenario ---\n${text}`);
        }
      }),
      { numRuns: 250 },
    );
    // The generator is useful only if most of its scenarios are accepted and really run.
    expect(accepted).toBeGreaterThan(70);
  });

  it('the limits the generators lean on are the real ones', () => {
    expect(LIMITS.yamlAliases.value).toBe(100);
    expect(LIMITS.stringChars.value).toBe(4_096);
  });
});
