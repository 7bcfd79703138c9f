import { describe, expect, it } from 'vitest';
import { explore, plannedSchedules, twinRunner, type ExploreRunner } from '../../sim/explore/explore.ts';
import type { Invariant } from '../../sim/explore/invariants.ts';
import { parseScenario } from '../../sim/scenario/parse.ts';
import type { SettledFault } from '../../sim/scenario/settled.ts';
import { loadProfile } from '../../fixtures/load.ts';
import { fixtureContext } from '../scenario/load.ts';
import { cachedRunner, EXPLORE_SCHEDULES_PER_TASK, exploreTasks, runExploreTask, type ExploreTask, type ScheduleOutcome } from './explore-tasks.ts';

const context = fixtureContext();
const profile = loadProfile('2.19.6');
const targets = profile.containers.map((c) => c.name);
const scenario = () =>
  parseScenario(
    [
      'name: queued-explore',
      'duration: 30m',
      'topology: { nomad_clients: { count: 3, cpus: 8, memory_gb: 32 } }',
      'workload:',
      '  arrivals: { kind: poisson, rate_per_hour: 40 }',
      '  jobs: [ { weight: 3, duration: 4m, artifacts: 1 }, { weight: 1, executor: machine, duration: 6m } ]',
    ].join('\n'),
    'queued-explore.yaml',
    context,
  );

/** Deliberately wrong, so that an exploration fails and shrinks: any fault on telegraf is called a violation. */
const telegrafIsForbidden: Invariant = {
  name: 'telegraf-is-forbidden',
  description: 'deliberately wrong, for the test',
  check: (run) => (run.schedule.some((f) => f.target === 'telegraf') ? ['a fault on telegraf'] : []),
};

/** What the queue does to a task, here: JSON there, the executor, JSON back. */
function throughQueue(tasks: readonly ExploreTask[]): Map<string, ScheduleOutcome> {
  const outcomes = new Map<string, ScheduleOutcome>();
  for (const task of tasks) {
    const sent = JSON.parse(JSON.stringify(task)) as ExploreTask;
    const got = JSON.parse(JSON.stringify(runExploreTask(sent))) as ScheduleOutcome[];
    task.schedules.forEach((faults, i) => outcomes.set(JSON.stringify(faults), got[i]!));
  }
  return outcomes;
}

describe('explore on the queue, without Redis', () => {
  it('plans exactly the schedules a clean exploration asks its runner for, in order', () => {
    const seen: SettledFault[][] = [];
    const recording: ExploreRunner = (s, p) => {
      seen.push(s.faults);
      return twinRunner(s, p);
    };
    const s = scenario();
    const r = explore(s, profile, { runs: 30, seed: 11, context, targets, runner: recording });
    expect(r.failure).toBeUndefined();
    const planned = plannedSchedules(s, profile, { runs: 30, seed: 11, context, targets });
    expect(planned).toHaveLength(30);
    expect(seen.slice(1)).toEqual(planned);
    expect(seen[0]).toEqual([]);
  });

  it('splits the baseline and the schedules into tasks, and the queued result equals the local one with nothing run here', () => {
    const s = scenario();
    const opts = { runs: 30, seed: 11, context, targets };
    const tasks = exploreTasks(s, plannedSchedules(s, profile, opts));
    expect(tasks.map((t) => t.schedules.length)).toEqual([1, ...Array.from({ length: 3 }, () => EXPLORE_SCHEDULES_PER_TASK), 30 - 3 * EXPLORE_SCHEDULES_PER_TASK]);
    expect(tasks.every((t) => t.scenario.faults.length === 0 && t.scenario.expect.length === 0)).toBe(true);
    let local = 0;
    const queued = explore(s, profile, { ...opts, runner: cachedRunner(throughQueue(tasks), () => local++) });
    expect(local).toBe(0);
    expect(JSON.stringify(queued)).toBe(JSON.stringify(explore(s, profile, opts)));
  });

  it('a failing exploration: the first failure, its shrinking (run here) and the result are the local ones', () => {
    const s = scenario();
    const opts = { runs: 60, seed: 3, context, targets, invariants: [telegrafIsForbidden] };
    const localResult = explore(s, profile, opts);
    expect(localResult.failure?.schedule.map((f) => f.target)).toEqual(['telegraf']);
    let local = 0;
    const queued = explore(s, profile, { ...opts, runner: cachedRunner(throughQueue(exploreTasks(s, plannedSchedules(s, profile, opts))), () => local++) });
    expect(local).toBeGreaterThan(0);
    expect(JSON.stringify(queued)).toBe(JSON.stringify(localResult));
  });

  it('a schedule that threw on a worker throws the same message here', () => {
    const runner = cachedRunner(new Map([['[]', { error: 'event limit reached' }]]), () => undefined);
    expect(() => runner({ ...scenario(), faults: [] }, profile)).toThrow(/^event limit reached$/);
  });
});
