import type { ArrivalSpec, JobTemplate, ScheduledWorkflow } from '../models/workload/types.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** How much work a scenario asks for, before it runs: what the memory limits are checked against. */
export interface ExpectedWorkload {
  /** Builds (jobs of the pushes' workflows, and of scheduled workflows) over the duration: an upper estimate. */
  builds: number;
  /** Nomad tasks: each push's workflow jobs times their parallelism, weighted by the job mix. */
  tasks: number;
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

export function expectedWorkload(w: { arrivals: ArrivalSpec; jobs: readonly JobTemplate[]; scheduled: readonly ScheduledWorkflow[] }, durationMs: number): ExpectedWorkload {
  const buildsPer = (t: JobTemplate): number => t.workflowJobs;
  const tasksPer = (t: JobTemplate): number => t.workflowJobs * t.parallelism;
  // A trace may name templates directly; then the largest template is the honest bound, else the weighted mean.
  const perPush = (f: (t: JobTemplate) => number): number => {
    const total = w.jobs.reduce((a, t) => a + t.weight, 0);
    if (w.arrivals.kind === 'trace' || !(total > 0)) return Math.max(...w.jobs.map(f));
    return w.jobs.reduce((a, t) => a + t.weight * f(t), 0) / total;
  };
  const pushes = expectedArrivals(w.arrivals, durationMs);
  let builds = pushes * perPush(buildsPer);
  let tasks = pushes * perPush(tasksPer);
  for (const s of w.scheduled) {
    const runs = scheduledRuns(s, durationMs);
    const template = w.jobs[s.job];
    builds += runs * (template ? buildsPer(template) : 1);
    tasks += runs * (template ? tasksPer(template) : 1);
  }
  return { builds, tasks };
}
