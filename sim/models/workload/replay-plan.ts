import { Rng } from '../../engine/rng.ts';
import type { SettledScenario } from '../../scenario/settled.ts';
import { createArrivalProcess, takeArrivalsUntil } from './arrivals.ts';
import { createDurationSampler } from './durations.ts';
import { BUILDS_STREAM, drawBuild, SCHEDULED_WORKFLOW_BASE } from '../../domain/build-draws.ts';
import { JobMix } from './job-mix.ts';
import type { Executor } from './types.ts';

/** One job of a planned workflow: what its build asks of Nomad and how long its steps run (virtual ms). */
export interface PlannedJob {
  name: string;
  /** How long its longest task runs (virtual ms). */
  durationMs: number;
  /** How long each task runs, by task index: the simulation's draws for the same build (`drawBuild`). */
  taskDurationsMs: number[];
  parallelism: number;
  executor: Executor;
  resourceClass: string;
  cpuMilli: number;
  memoryMb: number;
  /** The build fails on its own (a red test): drawn with the template's failure rate. */
  fails: boolean;
  /** Artifacts the job stores, and whether it stores test results. */
  artifacts: number;
  testResults: boolean;
  /** The job uses a context (its secrets come from contexts-service and vault-cci). */
  usesContexts: boolean;
}

/** A push (a GitHub webhook) or a scheduled workflow (cron-service), at a virtual time, and its jobs in order. */
export interface PlannedWorkflow {
  /** 1-based, in order of `atMs` (pushes and schedules interleaved). */
  seq: number;
  /** The simulation's number for the same workflow: a push's webhook number, or a scheduled workflow's. */
  key: number;
  atMs: number;
  source: 'push' | 'scheduled';
  template: number;
  templateName: string;
  jobs: PlannedJob[];
}

/**
 * The workload of a scenario as a list a live replay can act out: the same arrival times and job templates as
 * the simulation of the same seed (the same labelled random streams `arrivals` and `mix`), plus the scheduled
 * workflows. Each build's durations and failure are the simulation's own draws for that build: both fork them
 * from `builds` by the workflow's number and the job's place in it (`drawBuild`), never by event order.
 */
export function planReplay(scenario: SettledScenario): PlannedWorkflow[] {
  const root = new Rng(scenario.seed);
  const arrivalsRng = root.fork('arrivals');
  const mixRng = root.fork('mix');
  const builds = root.fork(BUILDS_STREAM);
  const samplers = scenario.workload.jobs.map((j) => createDurationSampler(j.duration));
  const mix = new JobMix(scenario.workload.jobs);
  const events: { atMs: number; source: 'push' | 'scheduled'; template: number }[] = [];
  for (const a of takeArrivalsUntil(createArrivalProcess(scenario.workload.arrivals, arrivalsRng), scenario.durationMs)) {
    events.push({ atMs: a.atMs, source: 'push', template: mix.indexFor(a.job, mixRng) });
  }
  for (const s of scenario.workload.scheduled) {
    for (let t = s.firstAtMs; t < scenario.durationMs; t += s.everyMs) events.push({ atMs: t, source: 'scheduled', template: s.job });
  }
  // Stable: at the same instant a push comes before a schedule, as they were added.
  events.sort((a, b) => a.atMs - b.atMs);
  let pushes = 0;
  let schedules = 0;
  return events.map((e, i) => {
    const key = e.source === 'push' ? ++pushes : SCHEDULED_WORKFLOW_BASE + schedules++;
    const t = mix.template(e.template);
    const kind = t.executor === 'machine' ? 'machine' : 'docker';
    const rc = scenario.topology.resourceClasses[`${kind}:${t.resourceClass}`];
    if (!rc) throw new Error(`resource class ${kind}:${t.resourceClass} was not settled`);
    const templateName = scenario.workload.jobNames[e.template] ?? `job-${e.template}`;
    const jobs: PlannedJob[] = [];
    for (let j = 0; j < t.workflowJobs; j++) {
      const draws = drawBuild(builds, key, j, t, samplers[e.template]!);
      jobs.push({
        name: t.workflowJobs === 1 ? templateName : `${templateName}-${j + 1}`,
        durationMs: Math.max(...draws.taskDurationsMs),
        taskDurationsMs: draws.taskDurationsMs,
        parallelism: t.parallelism,
        executor: t.executor,
        resourceClass: rc.name,
        cpuMilli: rc.cpuMilli,
        memoryMb: rc.memoryMb,
        fails: draws.failsOnItsOwn,
        artifacts: t.artifacts,
        testResults: t.testResults,
        usesContexts: t.usesContexts,
      });
    }
    return { seq: i + 1, key, atMs: e.atMs, source: e.source, template: e.template, templateName, jobs };
  });
}
