import type { World } from '../world.ts';
import type { Build } from '../build.ts';
import type { Rng } from '../../engine/rng.ts';
import type { NomadSubmitter } from '../services/schedulerer.ts';
import type { OutputProcessor } from '../services/output-processor.ts';
import type { AuditLog } from '../services/audit-log.ts';
import type { VmService } from '../vm-service/vm-service.ts';
import { NomadScheduler, CPU_MHZ_PER_CORE, type Change, type Placement } from '../nomad/index.ts';
import { createDurationSampler, type DurationSampler } from '../workload/durations.ts';
import { SampleSet } from '../../metrics/percentiles.ts';
import { TIMINGS } from '../timings.ts';

/** One task of a build placed on a Nomad client. */
interface TaskRun {
  allocId: string;
  nodeId: string;
  build: Build;
  taskIndex: number;
  hasVm: boolean;
}

/**
 * The Nomad server and its client fleet: the scheduler places each build's tasks; a client starts the build
 * agent, which (for `machine` and remote Docker jobs) first gets an EC2 instance from vm-service, runs the
 * steps, and reports to output-processor. Queue time ends when the build's first task starts running.
 */
export class NomadFleet implements NomadSubmitter {
  readonly scheduler: NomadScheduler;
  private readonly rng: Rng;
  private readonly durations: DurationSampler[];
  private readonly runs = new Map<string, TaskRun>();
  private readonly buildsByJob = new Map<string, Build>();
  readonly queueTimes = new SampleSet();
  /** Wait for capacity: from registration with the Nomad server until the first task is placed. */
  readonly capacityWaits = new SampleSet();
  readonly nodeIds: string[] = [];
  runningTasks = 0;
  peakRunningTasks = 0;
  usedCpuMilli = 0;
  usedMemoryMb = 0;
  tasksCompleted = 0;

  constructor(
    private readonly world: World,
    private readonly vm: VmService,
    private readonly output: OutputProcessor,
    private readonly audit: AuditLog,
  ) {
    const nc = world.profile.nomad_client;
    this.rng = world.rng.fork('fleet');
    this.scheduler = new NomadScheduler({ rng: world.rng.fork('nomad'), reservedCpuMilli: nc.reserved_cpu * 1000, reservedMemoryMb: nc.reserved_memory_gb * 1024 });
    this.durations = world.scenario.workload.jobs.map((j) => createDurationSampler(j.duration));
  }

  /** Adds `count` clients of the scenario's size; they register ready. */
  addClients(count: number): void {
    const { cpus, memoryGb } = this.world.scenario.topology.nomadClients;
    for (let i = 0; i < count; i++) {
      const n = this.nodeIds.length;
      const id = this.scheduler.addNode({ name: `ip-10-0-${(n >> 8) & 255}-${n & 255}`, cpuMilli: cpus * 1000, memoryMb: memoryGb * 1024, datacenter: 'us-east-1', nodeClass: this.world.profile.nomad_client.node_class });
      this.nodeIds.push(id);
    }
    this.world.sim.schedule(0, this.capacityChanged);
  }

  /** Usable capacity of the whole fleet after the per-client reservation. */
  usableCpuMilli(): number {
    const { cpus } = this.world.scenario.topology.nomadClients;
    return this.nodeIds.length * (cpus - this.world.profile.nomad_client.reserved_cpu) * 1000;
  }

  submit(build: Build): void {
    const rc = build.resourceClass;
    this.buildsByJob.set(build.nomadJobId, build);
    build.stage = 'pending';
    build.submittedAtMs = this.world.sim.nowMs;
    this.audit.record('workflow.job.scheduled');
    this.apply(this.scheduler.registerJob({ id: build.nomadJobId, count: build.tasksTotal, cpuMilli: rc.cpuMilli, memoryMb: rc.memoryMb }));
  }

  /** Offers capacity to blocked evaluations (after nodes join, or when a bounded retry left some over). */
  private readonly capacityChanged = (): void => {
    this.retryScheduled = false;
    this.apply(this.scheduler.retryBlocked());
  };

  private retryScheduled = false;

  /** Drains a client (running allocations finish, nothing new is placed) or takes it out of drain. */
  setDrain(nodeId: string, enable: boolean): void {
    this.apply(this.scheduler.setDrain(nodeId, enable));
  }

  /** The fleet's `circle.nomad.client_agent.resources.*` gauges summed over clients (CPU in MHz, memory in MB). */
  clusterResources(): { totalCpu: number; usedCpu: number; availableCpu: number; totalMemory: number; usedMemory: number; availableMemory: number } {
    const { cpus, memoryGb } = this.world.scenario.topology.nomadClients;
    const nc = this.world.profile.nomad_client;
    const n = this.nodeIds.length;
    const mhz = CPU_MHZ_PER_CORE / 1000;
    const totalCpu = n * cpus * 1000 * mhz;
    const usedCpu = this.usedCpuMilli * mhz;
    const totalMemory = n * memoryGb * 1024;
    return {
      totalCpu,
      usedCpu,
      availableCpu: totalCpu - n * nc.reserved_cpu * 1000 * mhz - usedCpu,
      totalMemory,
      usedMemory: this.usedMemoryMb,
      availableMemory: totalMemory - n * nc.reserved_memory_gb * 1024 - this.usedMemoryMb,
    };
  }

  private apply(change: Change): void {
    for (const p of change.placed) this.placed(p);
    if (change.lost.length > 0) throw new Error('lost allocations are not modelled yet');
    if (change.unblockPending && !this.retryScheduled) {
      this.retryScheduled = true;
      this.world.sim.schedule(0, this.capacityChanged);
    }
  }

  private placed(p: Placement): void {
    const build = this.buildsByJob.get(p.jobId);
    if (build === undefined) throw new Error(`placement for unknown job ${p.jobId}`);
    if (p.taskIndex === 0) this.capacityWaits.add(this.world.sim.nowMs - build.submittedAtMs);
    const run: TaskRun = { allocId: p.allocId, nodeId: p.nodeId, build, taskIndex: p.taskIndex, hasVm: false };
    this.runs.set(p.allocId, run);
    this.world.trace?.(`${this.world.sim.nowMs} alloc ${p.allocId} of ${build.name} task ${p.taskIndex} placed on ${p.nodeId}`);
    const rc = build.resourceClass;
    this.usedCpuMilli += rc.cpuMilli;
    this.usedMemoryMb += rc.memoryMb;
    this.world.sim.schedule(TIMINGS.clientStartMs, this.startTask, run);
  }

  private readonly startTask = (run: TaskRun): void => {
    const { sim } = this.world;
    const build = run.build;
    this.scheduler.markRunning(run.allocId);
    this.runningTasks++;
    if (this.runningTasks > this.peakRunningTasks) this.peakRunningTasks = this.runningTasks;
    if (build.firstTaskStartMs < 0) {
      build.firstTaskStartMs = sim.nowMs;
      build.stage = 'running';
      this.queueTimes.add(sim.nowMs - build.enteredRunQueueMs);
      this.audit.record('workflow.job.start');
      this.output.started(build);
    }
    const executor = build.template.executor;
    if (executor === 'machine' || executor === 'remote_docker') {
      run.hasVm = true;
      this.vm.acquire(executor, run, this.runSteps, this.vmFailed);
    } else this.runSteps(run);
  };

  private readonly runSteps = (run: TaskRun): void => {
    const templateIndex = run.build.workflow.webhook.template;
    const ms = this.durations[templateIndex]!(this.rng);
    this.world.sim.schedule(ms, this.endTask, run);
  };

  private readonly vmFailed = (run: TaskRun, reason: string): void => {
    run.hasVm = false;
    run.build.infraFailure ??= reason;
    this.endTask(run, false);
  };

  private readonly endTask = (run: TaskRun, ok = true): void => {
    const build = run.build;
    this.world.trace?.(`${this.world.sim.nowMs} alloc ${run.allocId} of ${build.name} ended ${ok ? 'complete' : 'failed'}`);
    if (run.hasVm) this.vm.release();
    this.runs.delete(run.allocId);
    this.runningTasks--;
    this.tasksCompleted++;
    const rc = build.resourceClass;
    this.usedCpuMilli -= rc.cpuMilli;
    this.usedMemoryMb -= rc.memoryMb;
    build.tasksDone++;
    if (!ok) build.tasksFailed++;
    if (build.tasksDone === build.tasksTotal) {
      this.buildsByJob.delete(build.nomadJobId);
      this.output.finish(build);
    }
    this.apply(this.scheduler.finishAlloc(run.allocId, ok ? 'complete' : 'failed'));
  };

  /** Nomad's periodic garbage collection of terminal jobs. */
  readonly gc = (): void => {
    this.scheduler.gc();
  };
}
