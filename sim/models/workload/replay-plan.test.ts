import { describe, expect, it } from 'vitest';
import { planReplay } from './replay-plan.ts';
import { runScenario } from '../../run.ts';
import { parseScenario } from '../../scenario/parse.ts';
import { fixtureContext } from '../../../harness/scenario/load.ts';
import { loadProfile } from '../../../fixtures/load.ts';

const ctx = fixtureContext();
const profile = loadProfile('2.19.6');
const YAML = `name: plan
seed: 11
duration: 3h
topology: { nomad_clients: { count: 6, cpus: 16, memory_gb: 64 } }
workload:
  arrivals: { kind: poisson, rate_per_hour: 120 }
  jobs:
    - { name: build, weight: 6, duration: { median: 5m, p95: 12m } }
    - { name: integration, weight: 2, executor: machine, duration: 6m }
    - { name: pipeline, weight: 1, workflow_jobs: 3, parallelism: 2, failure_rate: 0.5, duration: { dist: exponential, mean: 3m } }
  scheduled:
    - { job: 0, every: 30m }
`;

describe('planReplay', () => {
  const scenario = parseScenario(YAML, 'plan.yaml', ctx);
  const plan = planReplay(scenario);

  it('has the pushes and the scheduled workflows the simulation of the same seed has', () => {
    const report = runScenario(scenario, profile);
    expect(plan.filter((w) => w.source === 'push')).toHaveLength(report.webhooks.received);
    expect(plan.filter((w) => w.source === 'scheduled')).toHaveLength(report.scheduled_workflows.triggered);
  });

  it('is ordered in time, numbered, and the same for the same seed', () => {
    expect(plan.map((w) => w.seq)).toEqual(plan.map((_, i) => i + 1));
    for (let i = 1; i < plan.length; i++) expect(plan[i]!.atMs).toBeGreaterThanOrEqual(plan[i - 1]!.atMs);
    expect(planReplay(scenario)).toEqual(plan);
    expect(planReplay({ ...scenario, seed: 12 })).not.toEqual(plan);
  });

  it('gives each workflow its template\'s jobs, classes and durations', () => {
    for (const w of plan) {
      const t = scenario.workload.jobs[w.template]!;
      expect(w.jobs).toHaveLength(t.workflowJobs);
      for (const j of w.jobs) {
        expect(j.parallelism).toBe(t.parallelism);
        expect(j.executor).toBe(t.executor);
        expect(j.cpuMilli).toBe(scenario.topology.resourceClasses[`${t.executor === 'machine' ? 'machine' : 'docker'}:${t.resourceClass}`]!.cpuMilli);
        expect(j.durationMs).toBeGreaterThan(0);
      }
    }
    const pipelines = plan.filter((w) => w.templateName === 'pipeline');
    expect(pipelines[0]!.jobs.map((j) => j.name)).toEqual(['pipeline-1', 'pipeline-2', 'pipeline-3']);
    // failure_rate 0.5: some of the pipeline jobs fail on their own, the others do not.
    const fails = pipelines.flatMap((w) => w.jobs.map((j) => j.fails));
    expect(fails).toContain(true);
    expect(fails).toContain(false);
    expect(plan.filter((w) => w.templateName === 'build').every((w) => w.jobs.every((j) => !j.fails))).toBe(true);
    // Durations follow the template: fixed 6 min for integration.
    expect(plan.filter((w) => w.templateName === 'integration').every((w) => w.jobs[0]!.durationMs === 360_000)).toBe(true);
  });
});
