import type { ArrivalSpec, JobTemplate, ScheduledWorkflow } from '../models/workload/types.ts';
import { meanDurationMs } from '../models/workload/durations.ts';
import type { SettledScenario } from './settled.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** How much work a scenario asks for, before it runs: what the memory limits are checked against. */
export interface ExpectedWorkload {
  /** Builds (jobs of the pushes' workflows, and of scheduled workflows) over the duration: an upper estimate. */
  builds: number;
  /** Nomad tasks: each push's workflow jobs times their parallelism, weighted by the job mix. */
  tasks: number;
  /**
   * Builds that cannot have run by the end of the duration because the fleet is too small (a fluid estimate:
   * the CPU and memory the builds ask for against what the clients offer after the reservation). A queued
   * build costs about three times the memory of one that ran.
   */
  queuedBuilds: number;
}

/**
 * The expected number of pushes an arrival process produces in `[0, durationMs)`: the rate's integral, or an
 * upper bound of it for the diurnal bell (its whole mass once per day) so that the limit can never be dodged.
 */
export function expectedArrivals(spec: ArrivalSpec, durationMs: number): number {
  const hours = durationMs / HOUR_MS;
  switch (spec.kind) {
    case 'poisson':
      return spec.ratePerHour * hours;
    case 'diurnal': {
      const days = Math.ceil(durationMs / DAY_MS);
      const bellHours = Math.min(hours, (days * spec.widthMs * Math.sqrt(2 * Math.PI)) / HOUR_MS);
      return spec.nightPerHour * hours + Math.max(0, spec.peakPerHour - spec.nightPerHour) * bellHours;
    }
    case 'burst': {
      if (spec.firstAtMs >= durationMs) return spec.baseRatePerHour * hours;
      const bursts = spec.everyMs === Infinity ? 1 : Math.floor((durationMs - spec.firstAtMs) / spec.everyMs) + 1;
      return spec.baseRatePerHour * hours + (spec.burstRatePerHour * Math.min(durationMs, bursts * spec.lengthMs)) / HOUR_MS;
    }
    case 'trace':
      return spec.arrivals.length;
  }
}

/** Runs of each schedule in `[0, durationMs)`, as cron-service fires them. */
export function scheduledRuns(s: ScheduledWorkflow, durationMs: number): number {
  if (s.firstAtMs >= durationMs) return 0;
  return Math.floor((durationMs - 1 - s.firstAtMs) / s.everyMs) + 1;
}

/** The work a settled scenario asks for, before it runs. */
export function expectedWorkload(s: SettledScenario): ExpectedWorkload {
  const w = s.workload;
  const durationMs = s.durationMs;
  const classOf = (t: JobTemplate) => s.topology.resourceClasses[`${t.executor === 'machine' ? 'machine' : 'docker'}:${t.resourceClass}`];
  const buildsPer = (t: JobTemplate): number => t.workflowJobs;
  const tasksPer = (t: JobTemplate): number => t.workflowJobs * t.parallelism;
  const cpuMsPer = (t: JobTemplate): number => tasksPer(t) * meanDurationMs(t.duration) * (classOf(t)?.cpuMilli ?? 0);
  const memMsPer = (t: JobTemplate): number => tasksPer(t) * meanDurationMs(t.duration) * (classOf(t)?.memoryMb ?? 0);
  // A trace may name templates directly; then the largest template is the honest bound, else the weighted mean.
  const perPush = (f: (t: JobTemplate) => number): number => {
    const total = w.jobs.reduce((a, t) => a + t.weight, 0);
    if (w.arrivals.kind === 'trace' || !(total > 0)) return Math.max(...w.jobs.map(f));
    return w.jobs.reduce((a, t) => a + t.weight * f(t), 0) / total;
  };
  const pushes = expectedArrivals(w.arrivals, durationMs);
  let builds = pushes * perPush(buildsPer);
  let tasks = pushes * perPush(tasksPer);
  let cpuMs = pushes * perPush(cpuMsPer);
  let memMs = pushes * perPush(memMsPer);
  for (const sch of w.scheduled) {
    const runs = scheduledRuns(sch, durationMs);
    const t = w.jobs[sch.job];
    if (t === undefined) continue;
    builds += runs * buildsPer(t);
    tasks += runs * tasksPer(t);
    cpuMs += runs * cpuMsPer(t);
    memMs += runs * memMsPer(t);
  }
  const c = s.topology.nomadClients;
  const supplyCpuMs = c.count * (c.cpus - 2) * 1000 * durationMs;
  const supplyMemMs = c.count * (c.memoryGb - 4) * 1024 * durationMs;
  const load = Math.max(supplyCpuMs > 0 ? cpuMs / supplyCpuMs : cpuMs > 0 ? Infinity : 0, supplyMemMs > 0 ? memMs / supplyMemMs : memMs > 0 ? Infinity : 0);
  const queuedBuilds = load > 1 ? builds * (1 - 1 / load) : 0;
  return { builds, tasks, queuedBuilds };
}
