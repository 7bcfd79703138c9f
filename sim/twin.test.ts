import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Twin } from './twin.ts';
import { runScenario } from './run.ts';
import { buildReport } from './report/build-report.ts';
import { toJson } from '../reports/json.ts';
import { parseScenario } from './scenario/parse.ts';
import { fixtureContext, loadScenarioFile } from '../harness/scenario/load.ts';
import { loadProfile } from '../fixtures/load.ts';
import { mmcMeanWaitMs } from './theory/erlang.ts';
import type { SettledScenario } from './scenario/settled.ts';

const ctx = fixtureContext();
const scenario = (yaml: string): SettledScenario => parseScenario(yaml, 'test.yaml', ctx);
const profile = loadProfile('2.19.6');
const SCENARIOS = new URL('../scenarios/', import.meta.url).pathname;

const SMALL = `name: small
seed: 5
duration: 2h
topology: { nomad_clients: { count: 3, cpus: 8, memory_gb: 32 } }
workload:
  arrivals: { kind: poisson, rate_per_hour: 90 }
  jobs:
    - { weight: 6, duration: { median: 5m, p95: 12m }, test_results: true, artifacts: 1 }
    - { weight: 2, executor: machine, duration: 6m }
    - { weight: 1, uses_contexts: true, workflow_jobs: 3, parallelism: 2, failure_rate: 0.2, duration: { dist: exponential, mean: 3m } }
`;

function runWithLog(s: SettledScenario): { json: string; log: string } {
  const lines: string[] = [];
  const twin = new Twin(s, profile, { trace: (l) => lines.push(l) });
  twin.run();
  return { json: toJson(buildReport(twin)), log: lines.join('\n') };
}

describe('the twin', () => {
  it('is deterministic: same scenario and seed give a byte-identical event log and report', () => {
    const a = runWithLog(scenario(SMALL));
    const b = runWithLog(scenario(SMALL));
    expect(a.log.length).toBeGreaterThan(1000);
    expect(a.log).toBe(b.log);
    expect(a.json).toBe(b.json);
    const other = runWithLog({ ...scenario(SMALL), seed: 6 });
    expect(other.log).not.toBe(a.log);
  });

  it('accounts for every build on every shipped scenario, and each scenario shows the effect it expects', () => {
    // Disaster-recovery scenarios are run by `twin dr` (harness/cli/commands/dr.test.ts runs every one of them).
    const files = readdirSync(SCENARIOS, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml') && !f.startsWith('dr/')).sort();
    expect(files.filter((f) => f.startsWith('failures/')).length).toBeGreaterThanOrEqual(17);
    for (const f of files) {
      const s = loadScenarioFile(join(SCENARIOS, f));
      const r = runScenario(s, loadProfile(s.version));
      const b = r.builds;
      expect(b.succeeded + b.failed + b.lost + b.stuck, f).toBe(b.triggered);
      expect(r.ledger.conserved, f).toBe(true);
      expect(r.webhooks.received, f).toBe(r.webhooks.accepted + r.webhooks.dropped);
      // Each failure scenario asserts its documented effect through `expect`: the twin must show it.
      const failed = r.expectations.filter((e) => !e.passed).map((e) => `${e.metric} ${e.op} ${String(e.expected)}: got ${String(e.actual)}`);
      expect(failed, `${f}: ${failed.join('; ')}`).toEqual([]);
    }
  });

  it('is deterministic with faults too: same scenario and seed, byte-identical log and report', () => {
    const faulty = `${SMALL}faults:\n  - { at: 20m, action: kill, target: rabbitmq, for: 5m }\n  - { at: 40m, action: partition, target: services_machine, for: 2m }\n  - { at: 1h, action: terminate_instance, target: nomad_client, count: 1 }\n`;
    const a = runWithLog(scenario(faulty));
    const b = runWithLog(scenario(faulty));
    expect(a.log).toContain('fault kill rabbitmq');
    expect(a.log).toBe(b.log);
    expect(a.json).toBe(b.json);
  });

  it('runs workflows of several jobs in order and stops a workflow at its first failed job', () => {
    const twin = new Twin(scenario(SMALL), profile);
    twin.run();
    const r = buildReport(twin);
    expect(r.workflows.started).toBe(r.webhooks.accepted);
    expect(r.workflows.succeeded + r.workflows.failed).toBe(r.workflows.started);
    // Three-job workflows with a 20% failure rate stop early: fewer builds than 3 per such workflow.
    expect(r.builds.failed).toBeGreaterThan(0);
    expect(r.builds.triggered).toBeGreaterThan(r.workflows.started);
    expect(r.affected_builds.every((a) => a.reason.length > 0)).toBe(true);
  });

  it('emits only metric names that the 2.19.6 seed documents, and runs the 2.17.2 profile without the newer ones', () => {
    const twin = new Twin(scenario(SMALL), profile);
    twin.run();
    expect([...twin.telegraf.undocumented]).toEqual([]);
    expect(Object.keys(twin.telegraf.summaries())).toEqual(expect.arrayContaining(['circle.run-queue.latency', 'circle.nomad.server_agent.jobs.pending']));
    const old = new Twin({ ...scenario(SMALL), version: '2.17.2' }, loadProfile('2.17.2'));
    old.run();
    expect(Object.keys(old.telegraf.summaries())).toContain('circle.nomad.server_agent.jobs.running');
    expect(Object.keys(old.telegraf.summaries())).not.toContain('circle.run-queue.latency');
  });

  it('queues jobs pending in Nomad while capacity is short and places them when it frees', () => {
    const s = scenario(SMALL.replace('count: 3', 'count: 1').replace('rate_per_hour: 90', 'rate_per_hour: 60'));
    const r = runScenario(s, profile);
    expect(r.capacity.peak_pending_jobs).toBeGreaterThan(0);
    expect(r.queue_time_ms.max).toBeGreaterThan(60_000);
    expect(r.builds.stuck + r.builds.lost).toBe(0);
  });

  it('holds builds in the run queue while picard-dispatcher is down and loses none (moderate)', () => {
    const s = scenario(`${SMALL}faults:\n  - { at: 30m, action: stop, target: picard-dispatcher, for: 20m }\n`);
    const r = runScenario(s, profile);
    expect(r.builds.lost + r.builds.stuck).toBe(0);
    expect(r.run_queue_latency_ms.max).toBeGreaterThan(15 * 60_000);
    expect(r.metrics['circle.build-queue.runnable.builds']!.max).toBeGreaterThan(5);
    expect(r.observed_severity).toBe('moderate');
  });

  it('drops webhooks while the frontend is down: not triggered, running builds unaffected', () => {
    const s = scenario(`${SMALL}faults:\n  - { at: 30m, action: kill, target: frontend, for: 15m }\n`);
    const r = runScenario(s, profile);
    expect(r.builds.not_triggered).toBeGreaterThan(5);
    expect(r.webhooks.dropped).toBe(r.builds.not_triggered);
    expect(r.builds.lost + r.builds.stuck).toBe(0);
    expect(r.observed_severity).toBe('moderate');
  });

  it('never places new work on drained clients', () => {
    const s = scenario(`${SMALL}faults:\n  - { at: 10m, action: drain, target: nomad_client, count: 2 }\n`);
    const lines: string[] = [];
    const twin = new Twin(s, profile, { trace: (l) => lines.push(l) });
    twin.run();
    const drained = new Set(twin.fleet.nodeIds.slice(0, 2));
    const late = lines.filter((l) => / placed on /.test(l) && Number(l.split(' ')[0]) > 10 * 60_000);
    expect(late.length).toBeGreaterThan(10);
    for (const l of late) expect(drained.has(l.split(' placed on ')[1]!)).toBe(false);
  });
});

describe('the twin against queueing theory', () => {
  it('matches Erlang C: Poisson arrivals, exponential durations, c identical slots (within 5%)', () => {
    // 4 clients × (8 − 2 reserved) CPU / 2 CPU per medium task = 12 identical slots. A slot is held from
    // placement to the task's end: the client start (1.5 s) plus the exponential duration (mean 5 min).
    // Independent replications (seeds) of 1,000 virtual hours each; their mean wait is compared with the
    // formula. One replication's mean wanders by about ±6% (waits are strongly autocorrelated at this load),
    // so ten of them put the standard error near 2%.
    const clients = 4;
    const slots = clients * 3;
    const meanServiceMs = 300_000 + 1_500;
    const rho = 0.75;
    const perHour = (rho * slots * 3_600_000) / meanServiceMs;
    const theory = mmcMeanWaitMs({ servers: slots, arrivalsPerHour: perHour, meanServiceMs });
    const means: number[] = [];
    let customers = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const s = scenario(`name: erlang
seed: ${seed}
duration: 1000h
topology: { nomad_clients: { count: ${clients}, cpus: 8, memory_gb: 32 } }
workload:
  arrivals: { kind: poisson, rate_per_hour: ${perHour} }
  jobs:
    - { duration: { dist: exponential, mean: 5m } }
`);
      const twin = new Twin(s, profile);
      twin.run();
      const waits = twin.fleet.capacityWaits;
      customers += waits.size;
      means.push(waits.percentiles().mean);
    }
    const simulated = means.reduce((a, b) => a + b, 0) / means.length;
    expect(customers).toBeGreaterThan(1_000_000);
    expect(Math.abs(simulated - theory) / theory).toBeLessThan(0.05);
  });

  it("obeys Little's law for the run queue: time-average depth = arrival rate × mean wait", () => {
    const s = scenario(`name: little
seed: 9
duration: 6h
topology: { nomad_clients: { count: 20, cpus: 8, memory_gb: 32 } }
workload:
  arrivals: { kind: poisson, rate_per_hour: 400 }
  jobs:
    - { duration: { median: 4m, p95: 9m } }
faults:
  - { at: 1h, action: stop, target: picard-dispatcher, for: 30m }
  - { at: 3h, action: stop, target: picard-dispatcher, for: 45m }
`);
    const twin = new Twin(s, profile, { withoutFaults: false, keepSeries: true });
    twin.run();
    const depth = twin.telegraf.points('circle.build-queue.runnable.builds');
    const intervalMs = profile.metrics.statsd_interval_ms;
    const spanMs = depth.times.length * intervalMs;
    const meanDepth = depth.values.reduce((a, v) => a + v, 0) / depth.values.length;
    const latency = twin.runQueueLatency.percentiles();
    const arrivalsPerMs = twin.runQueueLatency.size / spanMs;
    expect(meanDepth).toBeGreaterThan(10);
    expect(Math.abs(meanDepth - arrivalsPerMs * latency.mean) / meanDepth).toBeLessThan(0.03);
  });
});
