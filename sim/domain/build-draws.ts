import type { Rng } from '../engine/rng.ts';
import type { DurationSampler } from '../models/workload/durations.ts';

/** The label of the stream every build's own stream is forked from (`rng.fork(BUILDS_STREAM)`). */
export const BUILDS_STREAM = 'builds';

/** The first number of scheduled workflows (cron-service's), so that they never share a push's number. */
export const SCHEDULED_WORKFLOW_BASE = 1_000_000_000;

/** What is drawn for one build: whether its own tests fail, and how long each of its tasks runs (scenario ms). */
export interface BuildDraws {
  failsOnItsOwn: boolean;
  taskDurationsMs: number[];
}

/** What a build's draws depend on: its job template's failure rate, parallelism and duration distribution. */
export interface DrawnJob {
  failureRate: number;
  parallelism: number;
}

/**
 * The draws of the build of job `jobIndex` (0-based) of workflow `workflowKey` (a push's webhook number from 1,
 * or `SCHEDULED_WORKFLOW_BASE` + n for the n-th scheduled workflow). Forked from `builds` by that key, not by
 * event order, so the simulation and a live replay of the same seed draw the same numbers for the same build, and
 * a re-run of a job (after an infrastructure failure) draws what the first run drew: the same commit, the same
 * tests. Durations are whole milliseconds, at least 1.
 */
export function drawBuild(builds: Rng, workflowKey: number, jobIndex: number, job: DrawnJob, sampleMs: DurationSampler): BuildDraws {
  const rng = builds.fork(`${workflowKey}/${jobIndex}`);
  const failsOnItsOwn = job.failureRate > 0 && rng.chance(job.failureRate);
  const taskDurationsMs: number[] = [];
  for (let k = 0; k < job.parallelism; k++) taskDurationsMs.push(Math.max(1, Math.round(sampleMs(rng))));
  return { failsOnItsOwn, taskDurationsMs };
}
