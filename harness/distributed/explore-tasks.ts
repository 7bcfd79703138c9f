import { loadProfile } from '../../fixtures/load.ts';
import type { Profile } from '../../fixtures/schema.ts';
import { explore, plannedSchedules, twinRunner, type ExploreOptions, type ExploreResult, type ExploreRunner } from '../../sim/explore/explore.ts';
import type { Report } from '../../sim/report/types.ts';
import type { SettledFault, SettledScenario } from '../../sim/scenario/settled.ts';
import { runOnQueue } from './submit.ts';

/**
 * `twin explore --workers <redis-url>`: the schedules an exploration runs, run on the queue, then the exploration
 * itself run here with those reports. `plannedSchedules` gives the schedules `explore` will ask for, in order;
 * they go out in tasks of EXPLORE_SCHEDULES_PER_TASK, with the baseline (no faults) as task 0; `explore` then runs
 * with a runner that answers from the reports that came back, so its result (which schedule failed first, the
 * counts, the shrinking) is the local one by construction. Shrinking a failure runs here: each step depends on
 * the one before.
 */

/** Schedules per task: about half a second of a 1-hour workload, so a worker's lost task costs little. */
export const EXPLORE_SCHEDULES_PER_TASK = 8;

/** A task of kind `explore-schedules`: the scenario without faults or expectations, and the schedules to run on it. */
export interface ExploreTask {
  scenario: SettledScenario;
  schedules: SettledFault[][];
}

/** One schedule's outcome: its report, or the message of what the simulation threw (as `explore` records it). */
export type ScheduleOutcome = { report: Report } | { error: string };

/** The executor of `explore-schedules` tasks, on a worker: each schedule run as `explore` runs it. Deterministic. */
export function runExploreTask(task: ExploreTask): ScheduleOutcome[] {
  const profile = loadProfile(task.scenario.version);
  return task.schedules.map((faults): ScheduleOutcome => {
    try {
      return { report: twinRunner({ ...task.scenario, faults }, profile) };
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  });
}

/** The tasks of an exploration: the baseline first, then the planned schedules in order, EXPLORE_SCHEDULES_PER_TASK at a time. */
export function exploreTasks(scenario: SettledScenario, planned: readonly SettledFault[][]): ExploreTask[] {
  const quiet: SettledScenario = { ...scenario, faults: [], expect: [] };
  const tasks: ExploreTask[] = [{ scenario: quiet, schedules: [[]] }];
  for (let i = 0; i < planned.length; i += EXPLORE_SCHEDULES_PER_TASK) tasks.push({ scenario: quiet, schedules: planned.slice(i, i + EXPLORE_SCHEDULES_PER_TASK) });
  return tasks;
}

/** A runner answering from outcomes computed elsewhere, keyed by the schedule; anything else is run here (shrinking). */
export function cachedRunner(outcomes: ReadonlyMap<string, ScheduleOutcome>, onLocal: () => void): ExploreRunner {
  return (scenario, profile) => {
    const o = outcomes.get(JSON.stringify(scenario.faults));
    if (o === undefined) {
      onLocal();
      return twinRunner(scenario, profile);
    }
    if ('error' in o) throw new Error(o.error);
    return o.report;
  };
}

export interface QueueExploreOptions extends Omit<ExploreOptions, 'runner'> {
  url: string;
  workerTimeoutMs?: number;
  /** Progress of the queued tasks: schedules done of the total. */
  onQueueProgress?: (schedulesDone: number, total: number, started: number) => void;
}

export interface QueueExploreResult {
  result: ExploreResult;
  /** Schedules run on the queue (the baseline included) and here (shrinking). */
  queued: number;
  local: number;
  /** Tasks the queue ran more than once (a worker died mid-task); each counted once. */
  retried: number;
}

/** `explore` with its schedules run on the queue at `url`; the result equals `explore(scenario, profile, opts)`'s. */
export async function exploreOnQueue(scenario: SettledScenario, profile: Profile, opts: QueueExploreOptions): Promise<QueueExploreResult> {
  const { url, workerTimeoutMs, onQueueProgress, ...exploreOpts } = opts;
  const planned = plannedSchedules(scenario, profile, exploreOpts);
  const tasks = exploreTasks(scenario, planned);
  const total = planned.length + 1;
  const sizes = tasks.map((t) => t.schedules.length);
  const { results, retried } = await runOnQueue<ScheduleOutcome[]>({
    url,
    kind: 'explore-schedules',
    tasks,
    ...(workerTimeoutMs === undefined ? {} : { workerTimeoutMs }),
    onProgress: (finished, started) => onQueueProgress?.(Math.min(total, sizes.slice(0, finished).reduce((a, b) => a + b, 0)), total, started),
  });
  const outcomes = new Map<string, ScheduleOutcome>();
  tasks.forEach((task, i) => {
    const got = results[i]!;
    if (got.length !== task.schedules.length) throw new Error(`task ${i} returned ${got.length} outcomes for ${task.schedules.length} schedules`);
    task.schedules.forEach((faults, j) => outcomes.set(JSON.stringify(faults), got[j]!));
  });
  let local = 0;
  const result = explore(scenario, profile, { ...exploreOpts, runner: cachedRunner(outcomes, () => local++) });
  return { result, queued: total, local, retried };
}
