import type { World } from '../world.ts';
import { Build, type Webhook, type Workflow } from '../build.ts';
import type { Rng } from '../../engine/rng.ts';
import type { JobMix } from '../workload/job-mix.ts';
import type { JobTemplate } from '../workload/types.ts';
import type { AuditLog } from './audit-log.ts';
import { NEEDS } from './dependencies.ts';
import { TIMINGS } from '../timings.ts';
import { IdTable } from '../../util/id-table.ts';
import { BUILDS_STREAM, drawBuild } from '../../domain/build-draws.ts';
import { createDurationSampler, type DurationSampler } from '../workload/durations.ts';

/** Where a new build goes: the dispatcher's usage queue. */
export interface BuildSink {
  enqueue(build: Build): void;
}

/**
 * workflows-conductor: turns a webhook into a workflow and its jobs into builds, one after another; a failed
 * job ends the workflow (later jobs depend on it and never start).
 *
 * Its failure modes: while it (or what it needs) is down no new workflow starts (the webhook is refused),
 * and a running workflow whose job ends, or whose next job should start, cannot record that transition: it
 * is left running forever, "in an inconsistent state".
 */
export class WorkflowsConductor {
  /** The stream each build's own stream is forked from, by its workflow and job (`drawBuild`). */
  private readonly builds: Rng;
  /** A duration sampler per job template, by template index. */
  private readonly durations: DurationSampler[];
  private nextWorkflowId = 1;
  private nextBuildId = 1;
  started = 0;
  /** Webhooks refused because workflows-conductor or a service it needs was down. */
  rejected = 0;
  succeeded = 0;
  failed = 0;
  inconsistent = 0;
  /** Builds created and not yet given a fate (for end-of-run accounting), by build number. */
  readonly inflight = new IdTable<Build>();
  private sink: BuildSink | undefined;
  /** Workflows still running (for a wiped postgres: their records go), by workflow id (creation order). */
  private readonly active = new IdTable<Workflow>();

  constructor(
    private readonly world: World,
    private readonly mix: JobMix,
    private readonly audit: AuditLog,
  ) {
    this.builds = world.rng.fork(BUILDS_STREAM);
    this.durations = world.scenario.workload.jobs.map((j) => createDurationSampler(j.duration));
  }

  connect(sink: BuildSink): void {
    this.sink = sink;
  }

  /** Workflows neither finished nor abandoned. */
  get running(): number {
    return this.started - this.succeeded - this.failed - this.inconsistent;
  }

  readonly startWorkflow = (webhook: Webhook): void => {
    const { services, ledger, sim } = this.world;
    const down = services.firstDown(NEEDS.workflowStart);
    if (down !== undefined) {
      this.rejected++;
      ledger.notTriggered(`webhook ${webhook.id}`, `${down} down: the workflow could not start`, sim.nowMs);
      return;
    }
    const template = this.mix.template(webhook.template);
    const workflow: Workflow = { id: this.nextWorkflowId++, webhook, template, jobsTotal: template.workflowJobs, jobsStarted: 0, state: 'running' };
    this.started++;
    this.active.set(workflow.id, workflow);
    this.audit.record('workflow.start');
    // The caller's delay already covered creating the workflow and its first build.
    this.startNextJob(workflow);
  };

  /** Output-processor reports a build's fate; recording it needs workflows-conductor and postgres up. */
  buildFinished(build: Build, succeeded: boolean): void {
    this.inflight.delete(build.id);
    const wf = build.workflow;
    if (wf.state !== 'running') return;
    const down = this.world.services.firstDown(NEEDS.workflowRecord);
    if (down !== undefined) return this.makeInconsistent(wf, `${down} down when build ${build.name} ended`);
    if (!succeeded) {
      wf.state = 'failed';
      this.failed++;
      this.active.delete(wf.id);
    } else if (wf.jobsStarted < wf.jobsTotal) {
      this.world.sim.schedule(TIMINGS.workflowStartMs, this.startNextJob, wf);
    } else {
      wf.state = 'succeeded';
      this.succeeded++;
      this.active.delete(wf.id);
    }
  }

  /** A build ended without a visible outcome (lost or stuck): its workflow can never finish. */
  buildAbandoned(build: Build, reason: string): void {
    this.inflight.delete(build.id);
    this.makeInconsistent(build.workflow, reason);
  }

  /** A build that failed for an infrastructure reason is re-run as a new build of the same workflow job. */
  retry(build: Build): Build {
    const retry = this.createBuild(build.workflow);
    retry.retryOf = build.id;
    return retry;
  }

  private makeInconsistent(wf: Workflow, reason: string): void {
    if (wf.state !== 'running') return;
    wf.state = 'inconsistent';
    this.inconsistent++;
    this.active.delete(wf.id);
    this.world.trace?.(`${this.world.sim.nowMs} workflow ${wf.id} inconsistent: ${reason}`);
  }

  /** postgres's data deleted: finished workflows' records are gone and running workflows lose their state. */
  wipeRecords(): void {
    this.world.ledger.lose('workflow_records', this.succeeded + this.failed + this.active.size);
    for (const wf of [...this.active.values()]) this.makeInconsistent(wf, 'postgres data wiped');
  }

  private readonly startNextJob = (wf: Workflow): void => {
    if (wf.state !== 'running') return;
    const down = this.world.services.firstDown(wf.jobsStarted === 0 ? NEEDS.workflowRecord : NEEDS.workflowAdvance);
    if (down !== undefined) return this.makeInconsistent(wf, `${down} down when job ${wf.jobsStarted + 1} should start`);
    wf.jobsStarted++;
    this.sink!.enqueue(this.createBuild(wf));
  };

  private createBuild(wf: Workflow): Build {
    const { ledger, sim } = this.world;
    const t = wf.template;
    const draws = drawBuild(this.builds, wf.webhook.id, wf.jobsStarted - 1, t, this.durations[wf.webhook.template]!);
    const build = new Build(this.nextBuildId++, wf, t, sim.nowMs, draws);
    ledger.trigger();
    this.world.trace?.(`${sim.nowMs} build ${build.name} created (workflow ${wf.id}, job ${wf.jobsStarted}/${wf.jobsTotal})`);
    this.inflight.set(build.id, build);
    return build;
  }
}
