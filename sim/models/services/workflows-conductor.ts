import type { World } from '../world.ts';
import { Build, type Webhook, type Workflow } from '../build.ts';
import type { Rng } from '../../engine/rng.ts';
import type { JobMix } from '../workload/job-mix.ts';
import type { JobTemplate } from '../workload/types.ts';
import type { SettledResourceClass } from '../../scenario/settled.ts';
import type { AuditLog } from './audit-log.ts';
import { TIMINGS } from '../timings.ts';

/** Where a new build goes: the dispatcher's usage queue. */
export interface BuildSink {
  enqueue(build: Build): void;
}

/**
 * workflows-conductor: turns a webhook into a workflow and its jobs into builds, one after another; a failed
 * job ends the workflow (later jobs depend on it and never start).
 */
export class WorkflowsConductor {
  private readonly rng: Rng;
  private nextWorkflowId = 1;
  private nextBuildId = 1;
  started = 0;
  /** Webhooks refused because workflows-conductor was down. */
  rejected = 0;
  succeeded = 0;
  failed = 0;
  /** Builds created and not yet given a fate (for end-of-run accounting). */
  readonly inflight = new Map<number, Build>();
  private sink: BuildSink | undefined;

  constructor(
    private readonly world: World,
    private readonly mix: JobMix,
    private readonly audit: AuditLog,
  ) {
    this.rng = world.rng.fork('workflows');
  }

  connect(sink: BuildSink): void {
    this.sink = sink;
  }

  readonly startWorkflow = (webhook: Webhook): void => {
    const { services, ledger, sim } = this.world;
    if (!services.isUp('workflows-conductor')) {
      this.rejected++;
      ledger.notTriggered(`webhook ${webhook.id}`, 'workflows-conductor down: no new workflows start', sim.nowMs);
      return;
    }
    const template = this.mix.template(webhook.template);
    const workflow: Workflow = { id: this.nextWorkflowId++, webhook, template, jobsTotal: template.workflowJobs, jobsStarted: 0, state: 'running' };
    this.started++;
    this.audit.record('workflow.start');
    sim.schedule(TIMINGS.workflowStartMs, this.startNextJob, workflow);
  };

  /** Called by output-processor once a build has its fate. */
  buildFinished(build: Build, succeeded: boolean): void {
    this.inflight.delete(build.id);
    const wf = build.workflow;
    if (!succeeded) {
      wf.state = 'failed';
      this.failed++;
    } else if (wf.jobsStarted < wf.jobsTotal) {
      this.world.sim.schedule(TIMINGS.workflowStartMs, this.startNextJob, wf);
    } else {
      wf.state = 'succeeded';
      this.succeeded++;
    }
  }

  /** A build ended without reaching output-processor (lost or stuck): its workflow cannot go on. */
  buildAbandoned(build: Build): void {
    this.inflight.delete(build.id);
    if (build.workflow.state === 'running') {
      build.workflow.state = 'failed';
      this.failed++;
    }
  }

  private readonly startNextJob = (wf: Workflow): void => {
    const { ledger, sim } = this.world;
    const t = wf.template;
    const rc = this.classOf(t);
    const id = this.nextBuildId++;
    const build = new Build(id, wf, t, rc, sim.nowMs, t.failureRate > 0 && this.rng.chance(t.failureRate));
    wf.jobsStarted++;
    ledger.trigger();
    this.world.trace?.(`${sim.nowMs} build ${build.name} created (workflow ${wf.id}, job ${wf.jobsStarted}/${wf.jobsTotal})`);
    this.inflight.set(id, build);
    this.sink!.enqueue(build);
  };

  private resourceClassFor(executor: string, name: string): SettledResourceClass {
    const kind = executor === 'machine' ? 'machine' : 'docker';
    const rc = this.world.scenario.topology.resourceClasses[`${kind}:${name}`];
    if (!rc) throw new Error(`resource class ${kind}:${name} was not settled`);
    return rc;
  }

  /** The resource class of a template, looked up once per template. */
  private classOf(t: JobTemplate): SettledResourceClass {
    let rc = this.classes.get(t);
    if (rc === undefined) {
      rc = this.resourceClassFor(t.executor, t.resourceClass);
      this.classes.set(t, rc);
    }
    return rc;
  }

  private readonly classes = new Map<JobTemplate, SettledResourceClass>();
}
