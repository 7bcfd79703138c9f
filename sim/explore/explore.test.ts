import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explore, faultKinds, reproducerExpectations, reproducerYaml, settleSchedule, twinRunner, type ExploreRunner } from './explore.ts';
import { INVARIANTS, isHealed, mildFaultsAffectNoBuild, mildModerateFaultsLoseNoData, healedBacklogDrains, violations, type ExploredRun, type Invariant } from './invariants.ts';
import { parseScenario } from '../scenario/parse.ts';
import type { SettledFault } from '../scenario/settled.ts';
import { SIM_FAULT_ACTIONS } from '../faults/injector.ts';
import { runScenario } from '../run.ts';
import { sampleReport } from '../report/sample.ts';
import type { Report } from '../report/types.ts';
import { fixtureContext, loadScenarioFile } from '../../harness/scenario/load.ts';
import { loadProfile } from '../../fixtures/load.ts';

const context = fixtureContext();
const profile = loadProfile('2.19.6');
const containers = profile.containers.map((c) => c.name);

const SMALL = `# A small workload for exploration tests.
name: explore-small
duration: 1h
topology: { nomad_clients: { count: 4, cpus: 8, memory_gb: 32 } }
workload:
  arrivals: { kind: poisson, rate_per_hour: 60 }
  jobs:
    - { name: tests, weight: 6, duration: { median: 4m, p95: 10m }, test_results: true, artifacts: 1 }
    - { name: deploy, weight: 1, uses_contexts: true, duration: 2m }
    - { name: machine, weight: 1, executor: machine, duration: 5m }
faults:
  - { at: 10m, action: kill, target: rabbitmq }
expect:
  - { metric: observed_severity, equals: severe }
`;
const small = () => parseScenario(SMALL, 'explore-small.yaml', context);

/** Deliberately wrong: dropping webhooks is the documented effect of several containers' absence. */
const noFaultIncreasesNotTriggered: Invariant = {
  name: 'no-fault-increases-not-triggered',
  description: 'deliberately wrong, for the test: no fault ever makes a webhook go untriggered',
  check: (run) => (run.report === undefined ? null : run.report.builds.not_triggered > run.baseline.builds.not_triggered ? [`${run.report.builds.not_triggered} not triggered`] : []),
  expectations: (baseline) => [{ metric: 'builds.not_triggered', max: baseline.builds.not_triggered }],
};

function fault(atMs: number, action: SettledFault['action'], target: string, forMs?: number): SettledFault {
  return { atMs, action, target, writtenTarget: target, count: 1, ...(forMs === undefined ? {} : { forMs }) };
}

describe('faultKinds', () => {
  it('offers only what the validator accepts, from the modelled actions, on containers, nomad_client and services_machine', () => {
    const s = small();
    const kinds = faultKinds(s, profile, context);
    expect(kinds.length).toBeGreaterThan(containers.length);
    for (const k of kinds) {
      expect(SIM_FAULT_ACTIONS.has(k.action)).toBe(true);
      const at = k.later ? '30m' : '0s';
      const text = `name: k\nduration: 1h\nworkload: { arrivals: { kind: poisson, rate_per_hour: 1 }, jobs: [ { duration: 1m } ] }\nfaults: [ { at: ${at}, action: ${k.action}, target: ${JSON.stringify(k.target)}${k.target === 'nomad_client' ? ', count: 2' : ''} } ]\n`;
      expect(() => parseScenario(text, 'k.yaml', context), `${k.action} ${k.target}`).not.toThrow();
    }
    // `drain` applies to Nomad clients only (the validator says so; explore never hard-codes it).
    expect(kinds.filter((k) => k.action === 'drain').map((k) => k.target)).toEqual(['nomad_client']);
    expect(new Set(kinds.map((k) => k.target))).toEqual(new Set([...containers, 'nomad_client', 'services_machine']));
  });

  it('settles generated faults the way settle() would: sorted by time, `for` only where it can undo', () => {
    const kinds = [
      { action: 'kill' as const, target: 'frontend', undoable: true, atStart: true, later: true },
      { action: 'restart' as const, target: 'frontend', undoable: false, atStart: true, later: true },
    ];
    const settled = settleSchedule(
      [
        { kind: 1, atS: 600, forS: 30, count: 3 },
        { kind: 0, atS: 60, forS: 30, count: 3 },
      ],
      kinds,
    );
    expect(settled).toEqual([fault(60_000, 'kill', 'frontend', 30_000), fault(600_000, 'restart', 'frontend')]);
  });
});

describe('invariants', () => {
  const base = (): Report => sampleReport({ faults: [], observed_severity: 'none' });
  const run = (schedule: SettledFault[], report: Report | undefined, baseline = base()): ExploredRun => ({
    schedule,
    report,
    error: report === undefined ? 'boom' : undefined,
    baseline,
    documented: (t) => (t === 'telegraf' ? 'mild' : t === 'redis' ? 'moderate' : t === 'mongo' ? 'severe' : null),
  });

  it('(b) applies only to schedules on mild containers, during operation', () => {
    const worse = base();
    worse.builds.failed += 1;
    expect(mildFaultsAffectNoBuild.check(run([fault(0, 'kill', 'telegraf')], worse))).toEqual([`builds.failed: ${worse.builds.failed} (baseline ${worse.builds.failed - 1})`]);
    expect(mildFaultsAffectNoBuild.check(run([fault(0, 'kill', 'telegraf'), fault(0, 'kill', 'redis')], worse))).toBeNull();
    expect(mildFaultsAffectNoBuild.check(run([fault(0, 'fail_at_startup', 'telegraf')], worse))).toBeNull();
    expect(mildFaultsAffectNoBuild.check(run([fault(0, 'kill', 'telegraf')], base()))).toEqual([]);
  });

  it('(c) counts durable data only, for mild or moderate containers', () => {
    const lossy = base();
    lossy.data_loss.artifacts += 2;
    expect(mildModerateFaultsLoseNoData.check(run([fault(0, 'kill', 'redis')], lossy))).toEqual([`data_loss.artifacts: ${lossy.data_loss.artifacts} (baseline ${lossy.data_loss.artifacts - 2})`]);
    expect(mildModerateFaultsLoseNoData.check(run([fault(0, 'kill', 'mongo')], lossy))).toBeNull();
  });

  it('(d) applies once every fault has healed and none is on a severe container', () => {
    expect(isHealed([fault(0, 'kill', 'redis', 60_000)])).toBe(true);
    expect(isHealed([fault(0, 'kill', 'redis'), fault(60_000, 'restart', 'redis')])).toBe(true);
    expect(isHealed([fault(0, 'kill', 'redis'), fault(60_000, 'restart', 'frontend')])).toBe(false);
    expect(isHealed([fault(60_000, 'restart', 'redis'), fault(120_000, 'stop', 'redis')])).toBe(false);
    expect(isHealed([fault(0, 'wipe_state', 'redis')])).toBe(false);
    const stuck = base();
    stuck.builds.stuck += 1;
    expect(healedBacklogDrains.check(run([fault(0, 'kill', 'redis', 1000)], stuck))).toHaveLength(1);
    expect(healedBacklogDrains.check(run([fault(0, 'kill', 'mongo', 1000)], stuck))).toBeNull();
    // Stopping the whole Services machine stops the severe stores too (found by explore once `stop` of it was modelled).
    expect(healedBacklogDrains.check(run([fault(0, 'stop', 'services_machine', 1000)], stuck))).toBeNull();
    expect(healedBacklogDrains.check(run([fault(0, 'partition', 'services_machine', 1000)], stuck))).toHaveLength(1);
    expect(healedBacklogDrains.check(run([fault(0, 'kill', 'redis')], stuck))).toBeNull();
  });

  it('a run that threw violates run-completes and nothing else', () => {
    expect(violations(run([fault(0, 'kill', 'telegraf')], undefined), INVARIANTS)).toEqual([{ invariant: 'run-completes', because: ['the run threw: boom'] }]);
  });
});

describe('explore', () => {
  it('runs the baseline once and is deterministic for a seed', () => {
    const calls: number[] = [];
    const counting: ExploreRunner = (s, p) => {
      calls.push(s.faults.length);
      return twinRunner(s, p);
    };
    const a = explore(small(), profile, { runs: 40, seed: 5, context, targets: containers, runner: counting });
    expect(calls.filter((n) => n === 0)).toHaveLength(1);
    expect(calls).toHaveLength(1 + a.schedulesRun);
    const b = explore(small(), profile, { runs: 40, seed: 5, context, targets: containers });
    expect(JSON.stringify({ ...b, baseline: undefined })).toBe(JSON.stringify({ ...a, baseline: undefined }));
  });

  it('runs clean with the real invariants over container faults on a small scenario', () => {
    const r = explore(small(), profile, { runs: 100, seed: 11, context, targets: containers });
    expect(r.failure?.violations).toBeUndefined();
    expect(r.schedulesRun).toBe(100);
    expect(r.invariants).toEqual(INVARIANTS.map((i) => i.name));
  });

  it('finds a deliberately broken invariant, shrinks it to one fault, and writes a scenario that reproduces it', () => {
    const scenario = small();
    const seed = 42;
    const r = explore(scenario, profile, { runs: 300, seed, context, invariants: [noFaultIncreasesNotTriggered] });
    expect(r.failure).toBeDefined();
    const f = r.failure!;
    expect(f.schedule).toHaveLength(1);
    expect(f.original.length).toBeGreaterThanOrEqual(1);
    expect(f.violations.map((v) => v.invariant)).toEqual(['no-fault-increases-not-triggered']);
    expect(f.path).toMatch(/^\d+(:\d+)*$/);

    const dir = mkdtempSync(join(tmpdir(), 'twin-explore-'));
    try {
      const file = join(dir, 'minimal.yaml');
      const expectations = reproducerExpectations(f, r.baseline, [noFaultIncreasesNotTriggered]);
      expect(expectations).toEqual([{ metric: 'builds.not_triggered', max: r.baseline.builds.not_triggered }]);
      writeFileSync(file, reproducerYaml(SMALL, { name: `explore-small-explore-${seed}`, seed: scenario.seed, schedule: f.schedule, expect: expectations, comment: [`twin explore explore-small.yaml --runs 300 --seed ${seed}`] }));
      // It validates (what `twin validate` does) and its faults are the minimal schedule.
      const written = loadScenarioFile(file);
      expect(written.faults).toEqual(f.schedule);
      expect(written.name).toBe(`explore-small-explore-${seed}`);
      // `twin run` of it fails the restated invariant.
      const report = runScenario(written, profile);
      expect(report.passed).toBe(false);
      expect(report.expectations.find((e) => e.metric === 'builds.not_triggered')).toMatchObject({ passed: false, actual: f.report!.builds.not_triggered });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds a bug injected through the runner hook and shrinks it to the one fault that triggers it', () => {
    // The injected bug: any fault on telegraf (documented mild) "loses" three artifacts.
    const buggy: ExploreRunner = (s, p) => {
      const report = twinRunner(s, p);
      if (s.faults.some((f) => f.target === 'telegraf')) report.data_loss.artifacts += 3;
      return report;
    };
    const r = explore(small(), profile, { runs: 300, seed: 7, context, targets: containers, invariants: [mildModerateFaultsLoseNoData], runner: buggy });
    expect(r.failure?.schedule.map((f) => [f.target, f.atMs, f.forMs])).toEqual([['telegraf', 0, undefined]]);
    expect(r.failure?.violations[0]?.because[0]).toMatch(/^data_loss\.artifacts: \d+ \(baseline \d+\)$/);
  });
});

describe('reproducerYaml', () => {
  it('replaces faults and expectations, keeps the rest of the file, and validates', () => {
    const text = reproducerYaml(SMALL, {
      name: 'explore-small-explore-1',
      seed: 1,
      schedule: [fault(60_000, 'kill', 'frontend', 600_000), { ...fault(120_000, 'drain', 'nomad_client', 60_000), count: 2 }],
      expect: [{ metric: 'builds.stuck', max: 0 }],
      comment: ['found by twin explore', 'Replay: twin explore x.yaml --runs 10 --seed 1'],
    });
    expect(text).toMatch(/^# found by twin explore\n# Replay: twin explore x\.yaml --runs 10 --seed 1\n/);
    expect(text).toContain('# A small workload for exploration tests.');
    expect(text).toContain('  - { at: 1m, action: kill, target: frontend, for: 10m }');
    expect(text).toContain('  - { at: 2m, action: drain, target: nomad_client, for: 1m, count: 2 }');
    expect(text).not.toContain('rabbitmq');
    expect(text).not.toContain('observed_severity');
    const s = parseScenario(text, 'r.yaml', context);
    expect(s.faults.map((f) => [f.action, f.target, f.count])).toEqual([
      ['kill', 'frontend', 1],
      ['drain', 'nomad_client', 2],
    ]);
    expect(s.expect).toEqual([{ metric: 'builds.stuck', op: 'max', expected: 0 }]);
    expect(s.workload).toEqual(small().workload);
  });
});
