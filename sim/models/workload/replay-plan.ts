import { Rng } from '../../engine/rng.ts';
import type { SettledScenario } from '../../scenario/settled.ts';
import { createArrivalProcess, takeArrivalsUntil } from './arrivals.ts';
import { sampleDurationMs } from './durations.ts';
import { JobMix } from './job-mix.ts';
import type { Executor } from './types.ts';

/** One job of a planned workflow: what its build asks of Nomad and how long its steps run (virtual ms). */
export interface PlannedJob {
  name: string;
  durationMs: number;
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
  atMs: number;
  source: 'push' | 'scheduled';
  template: number;
  templateName: string;
  jobs: PlannedJob[];
}

/**
 * The workload of a scenario as a list a live replay can act out: the same arrival times and job templates as
 * the simulation of the same seed (the same labelled random streams `arrivals` and `mix`), plus the scheduled
 * workflows. Job durations come from a stream of their own (`replay-durations`): the simulation draws its
 * durations in event order, which a replay in wall-clock time cannot follow, so the distributions match and the
 * individual draws do not.
 */
export function planReplay(scenario: SettledScenario): PlannedWorkflow[] {
  const root = new Rng(scenario.seed);
  const arrivalsRng = root.fork('arrivals');
  const mixRng = root.fork('mix');
  const durationsRng = root.fork('replay-durations');
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
  return events.map((e, i) => {
    const t = mix.template(e.template);
    const kind = t.executor === 'machine' ? 'machine' : 'docker';
    const rc = scenario.topology.resourceClasses[`${kind}:${t.resourceClass}`];
    if (!rc) throw new Error(`resource class ${kind}:${t.resourceClass} was not settled`);
    const templateName = scenario.workload.jobNames[e.template] ?? `job-${e.template}`;
    const jobs: PlannedJob[] = [];
    for (let j = 0; j < t.workflowJobs; j++) {
      jobs.push({
        name: t.workflowJobs === 1 ? templateName : `${templateName}-${j + 1}`,
        durationMs: Math.max(1, Math.round(sampleDurationMs(t.duration, durationsRng))),
        parallelism: t.parallelism,
        executor: t.executor,
        resourceClass: rc.name,
        cpuMilli: rc.cpuMilli,
        memoryMb: rc.memoryMb,
        fails: t.failureRate > 0 && durationsRng.chance(t.failureRate),
        artifacts: t.artifacts,
        testResults: t.testResults,
        usesContexts: t.usesContexts,
      });
    }
    return { seq: i + 1, atMs: e.atMs, source: e.source, template: e.template, templateName, jobs };
  });
}
