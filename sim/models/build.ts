import type { JobTemplate } from './workload/types.ts';
import type { SettledResourceClass } from '../scenario/settled.ts';
import type { Fate } from '../ledger.ts';
import type { TaskSplit } from '../domain/task-split.ts';
import type { BuildDraws } from '../domain/build-draws.ts';

/** The resources of a build picard-dispatcher has not split yet: it reserves nothing. */
const NOT_SPLIT: SettledResourceClass = Object.freeze({ name: '', executor: 'docker', cpuMilli: 0, memoryMb: 0 });

/** A push to GitHub Enterprise that should trigger a workflow. */
export interface Webhook {
  id: number;
  /** Index of the job template in the workload mix. */
  template: number;
  sentAtMs: number;
  /** Delivery attempts so far (GitHub redelivery). */
  attempts: number;
}

/** Where a build is in the pipeline (what `docker logs` of each service would show it doing). */
export type BuildStage = 'usage-queue' | 'run-queue' | 'dispatching' | 'scheduling' | 'pending' | 'running' | 'finishing' | 'done';

/** A workflow: the jobs one webhook triggers, run in sequence by workflows-conductor. */
export interface Workflow {
  id: number;
  webhook: Webhook;
  template: JobTemplate;
  jobsTotal: number;
  jobsStarted: number;
  /** `inconsistent`: left running forever because a transition could not be recorded. */
  state: 'running' | 'succeeded' | 'failed' | 'inconsistent';
}

/**
 * A CircleCI build: one job of a workflow, with a build number, run as one Nomad job of `parallelism`
 * tasks. Its report name and Nomad job id are derived when first asked for: most builds are never named.
 */
export class Build {
  /** Set once, by the ledger. */
  fate: Fate | undefined = undefined;
  stage: BuildStage = 'usage-queue';
  enteredRunQueueMs = -1;
  acceptedAtMs = -1;
  /** When schedulerer registered the build's job with the Nomad server. */
  submittedAtMs = -1;
  firstTaskStartMs = -1;
  /** When its first task began running steps (after waiting for a VM, for machine and remote Docker jobs). */
  stepsStartMs = -1;
  tasksDone = 0;
  tasksFailed = 0;
  /** Set when the platform failed the build; the first reason wins. */
  infraFailure: string | undefined = undefined;
  /** Changes each time a consumer takes the build, so a callback of a consumer that died since is ignored. */
  token = 0;
  /** Its live step output (redis) was lost while it ran. */
  liveOutputLost = false;
  /** output-processor lost its buffered step output (killed while the build streamed). */
  outputLost = false;
  /** Lost allocations of this build (a Nomad client or the Nomad state went away under it). */
  tasksLost = 0;
  /** This build is a retry of another (CircleCI re-runs builds that failed for infrastructure reasons). */
  retryOf: number | undefined = undefined;
  /** Its tasks and the class each reserves: set by picard-dispatcher's split (`splitJob`), 0 and nothing before. */
  tasksTotal = 0;
  resourceClass: SettledResourceClass = NOT_SPLIT;
  /** Drawn when the build is created (`drawBuild`): whether its own tests fail (independent of the platform). */
  readonly failsOnItsOwn: boolean;
  /** Drawn when the build is created: how long each task's steps run, by task index. */
  readonly taskDurationsMs: readonly number[];
  private jobId: string | undefined = undefined;

  constructor(
    readonly id: number,
    readonly workflow: Workflow,
    readonly template: JobTemplate,
    readonly createdAtMs: number,
    draws: BuildDraws,
  ) {
    this.failsOnItsOwn = draws.failsOnItsOwn;
    this.taskDurationsMs = draws.taskDurationsMs;
  }

  /** picard-dispatcher split the build's job into tasks. */
  assignTasks(split: TaskSplit): void {
    this.tasksTotal = split.tasks;
    this.resourceClass = split.resourceClass;
  }

  /** `gh/<org>/<repo>/<n>` as the CircleCI UI names builds. */
  get name(): string {
    return `gh/acme/repo-${this.workflow.webhook.template + 1}/${this.id}`;
  }

  /** The Nomad job id of container 0, in the shape `nomad status` lists (`<24 hex>-0-build-<org>-<repo>-<n>`). */
  get nomadJobId(): string {
    this.jobId ??= this.nomadJobIdOf(0);
    return this.jobId;
  }

  /**
   * The Nomad job of container `index`: as the seeds say, a build with parallelism N runs as N Nomad jobs,
   * `<24 hex>-<index>-build-<org>-<repo>-<n>` (the seeds' `nomad status` shows the `-0-` of container 0).
   */
  nomadJobIdOf(index: number): string {
    return `${this.id.toString(16).padStart(24, '0')}-${index}-build-acme-repo-${this.workflow.webhook.template + 1}-${this.id}`;
  }
}

/** The container index of a `Build.nomadJobIdOf` id (the digits after the 24 hex and the dash), or -1. */
export function containerIndexOfNomadJob(jobId: string): number {
  let index = 0;
  let k = 25;
  for (; k < jobId.length; k++) {
    const ch = jobId.charCodeAt(k);
    if (ch === 45) break;
    if (ch < 48 || ch > 57) return -1;
    index = index * 10 + (ch - 48);
  }
  return k > 25 && jobId.charCodeAt(24) === 45 ? index : -1;
}

/** The build number a `Build.nomadJobId` was made from (its 24 leading hex digits), or -1 for another id. */
export function buildIdOfNomadJob(jobId: string): number {
  // Read in place: a slice and `parseInt` cost an allocation per placement.
  let id = 0;
  for (let k = 0; k < 24; k++) {
    const ch = jobId.charCodeAt(k);
    const v = ch >= 48 && ch <= 57 ? ch - 48 : ch >= 97 && ch <= 102 ? ch - 87 : -1;
    if (v < 0) return -1;
    id = id * 16 + v;
  }
  return id;
}
