import { fixtureContext } from '../harness/scenario/load.ts';
import { loadProfile } from '../fixtures/load.ts';
import { parseScenario } from '../sim/scenario/parse.ts';
import { explore, twinRunner } from '../sim/explore/explore.ts';
import { INVARIANTS } from '../sim/explore/invariants.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

/** One hour of the baseline scenario's workload (120 pushes an hour on ten 8-CPU clients). */
const ONE_HOUR = `name: explore-bench
duration: 1h
topology: { nomad_clients: { count: 10, cpus: 8, memory_gb: 32 } }
workload:
  arrivals: { kind: poisson, rate_per_hour: 120 }
  jobs:
    - { name: unit-tests, weight: 8, executor: docker, resource_class: medium, duration: { median: 5m, p95: 12m }, test_results: true, artifacts: 2 }
    - { name: integration, weight: 1, executor: machine, duration: { median: 8m, p95: 20m } }
    - { name: deploy, weight: 1, executor: docker, uses_contexts: true, duration: { dist: exponential, mean: 3m } }
`;
const SCHEDULES = 1_000;
const ROUNDS = 3;
const TARGET_PER_MIN = 1_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export const exploreBench: BenchSuite = {
  name: 'explore',
  run(): BenchFigure[] {
    const context = fixtureContext();
    const scenario = parseScenario(ONE_HOUR, 'explore-bench.yaml', context);
    const profile = loadProfile(scenario.version);
    // Container faults: with nomad_client and services_machine targets a schedule the model cannot run yet ends
    // the search early (the invariant run-completes fails), which would measure shrinking, not exploring.
    const targets = profile.containers.map((c) => c.name);
    const rates: number[] = [];
    const plain: number[] = [];
    let schedules = 0;
    let failed = '';
    for (let r = 0; r < ROUNDS; r++) {
      // Whole calls, setup included: probing the validator for the fault kinds and the one baseline run.
      const t0 = performance.now();
      const result = explore(scenario, profile, { runs: SCHEDULES, seed: r + 1, context, targets, invariants: INVARIANTS });
      const s = (performance.now() - t0) / 1000;
      rates.push((result.schedulesRun / s) * 60);
      schedules += result.schedulesRun;
      if (result.failure) failed = ` (seed ${r + 1} found a failing schedule: ${result.failure.violations.map((v) => v.invariant).join(', ')})`;
      // Anchor: the same workload run without faults, back to back.
      const t1 = performance.now();
      for (let i = 0; i < 200; i++) twinRunner({ ...scenario, faults: [] }, profile);
      plain.push((200 / ((performance.now() - t1) / 1000)) * 60);
    }
    const rate = median(rates);
    const anchor = median(plain);
    return [
      {
        name: 'explore.schedules_per_min',
        value: Math.round(rate),
        unit: 'schedules/min',
        target: `>= ${TARGET_PER_MIN.toLocaleString('en-US')} (1-hour workload, one core)`,
        met: rate >= TARGET_PER_MIN,
        anchor: { name: 'fault-free runs of the same workload, back to back', value: Math.round(anchor), unit: 'runs/min', ratio: Math.round((rate / anchor) * 1000) / 1000 },
        note: `${ROUNDS} explorations of ${SCHEDULES} schedules of 1–4 container faults (median; ${schedules} schedules run), every invariant checked, fault-kind probing and the baseline included${failed}`,
      },
    ];
  },
};

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of await exploreBench.run()) console.log(JSON.stringify(f));
}
