import type { JobTemplate } from './workload/types.ts';
import type { SettledResourceClass } from '../scenario/settled.ts';

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
  state: 'running' | 'succeeded' | 'failed';
}

/** A CircleCI build: one job of a workflow, with a build number, run as one Nomad job of `parallelism` tasks. */
export interface Build {
  id: number;
  /** `gh/org/repo/<n>` style name for reports. */
  name: string;
  workflow: Workflow;
  template: JobTemplate;
  resourceClass: SettledResourceClass;
  stage: BuildStage;
  createdAtMs: number;
  enteredRunQueueMs: number;
  acceptedAtMs: number;
  firstTaskStartMs: number;
  tasksTotal: number;
  tasksDone: number;
  tasksFailed: number;
  /** Drawn when the build is created: whether its own tests fail (independent of the platform). */
  failsOnItsOwn: boolean;
  nomadJobId: string;
  /** Set when the platform failed the build; the first reason wins. */
  infraFailure?: string;
}
