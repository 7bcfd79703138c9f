import { describe, expect, it } from 'vitest';
import { BUILDS_STREAM, drawBuild } from './build-draws.ts';
import { Rng } from '../engine/rng.ts';
import { Twin } from '../twin.ts';
import { planReplay } from '../models/workload/replay-plan.ts';
import { createDurationSampler } from '../models/workload/durations.ts';
import { parseScenario } from '../scenario/parse.ts';
import { fixtureContext } from '../../harness/scenario/load.ts';
import { loadProfile } from '../../fixtures/load.ts';
import type { Build } from '../models/build.ts';

const YAML = `name: draws
seed: 5
duration: 2h
topology: { nomad_clients: { count: 6, cpus: 16, memory_gb: 64 } }
workload:
  arrivals: { kind: poisson, rate_per_hour: 90 }
  jobs:
    - { name: build, weight: 3, duration: { median: 5m, p95: 12m }, failure_rate: 0.2 }
    - { name: pipeline, weight: 1, workflow_jobs: 3, parallelism: 3, failure_rate: 0.3, duration: { dist: exponential, mean: 3m } }
  scheduled:
    - { job: 0, every: 30m }
`;

describe('drawBuild', () => {
  it('depends on the build (its workflow and job), not on what was drawn before', () => {
    const job = { failureRate: 0.5, parallelism: 4 };
    const sample = createDurationSampler({ kind: 'exponential', meanMs: 60_000 });
    const a = drawBuild(new Rng(1).fork(BUILDS_STREAM), 7, 1, job, sample);
    const other = new Rng(1).fork(BUILDS_STREAM);
    drawBuild(other, 3, 0, job, sample);
    expect(drawBuild(other, 7, 1, job, sample)).toEqual(a);
    expect(a.taskDurationsMs).toHaveLength(4);
    expect(drawBuild(new Rng(1).fork(BUILDS_STREAM), 7, 2, job, sample)).not.toEqual(a);
    expect(drawBuild(new Rng(2).fork(BUILDS_STREAM), 7, 1, job, sample)).not.toEqual(a);
  });

  it("gives the simulation's builds the draws the live replay's plan pushes for the same builds", () => {
    const scenario = parseScenario(YAML, 'draws.yaml', fixtureContext());
    const twin = new Twin(scenario, loadProfile('2.19.6'));
    const seen: { key: number; job: number; build: Build }[] = [];
    twin.conductor.connect({
      enqueue: (b) => {
        seen.push({ key: b.workflow.webhook.id, job: b.workflow.jobsStarted - 1, build: b });
        twin.dispatcher.enqueue(b);
      },
    });
    twin.run();
    const plan = new Map(planReplay(scenario).map((w) => [w.key, w]));
    expect(seen.length).toBeGreaterThan(200);
    let failing = 0;
    let differing = 0;
    for (const { key, job, build } of seen) {
      const planned = plan.get(key)?.jobs[job];
      if (planned === undefined) throw new Error(`build ${build.name} (workflow ${key}, job ${job}) is not in the plan`);
      expect({ key, job, fails: build.failsOnItsOwn, tasks: build.taskDurationsMs }).toEqual({ key, job, fails: planned.fails, tasks: planned.taskDurationsMs });
      if (planned.fails) failing++;
      if (new Set(planned.taskDurationsMs).size > 1) differing++;
    }
    // The comparison covered failing builds and builds whose tasks ran for different times.
    expect(failing).toBeGreaterThan(10);
    expect(differing).toBeGreaterThan(10);
  });
});
