import type { World } from '../world.ts';
import { REASONS } from '../../domain/fates.ts';
import { buildIdOfNomadJob, containerIndexOfNomadJob, type Build } from '../build.ts';
import type { NomadSubmitter } from '../services/schedulerer.ts';
import type { OutputProcessor } from '../services/output-processor.ts';
import type { AuditLog } from '../services/audit-log.ts';
import type { Fates } from '../services/fates.ts';
import type { VmService } from '../vm-service/vm-service.ts';
import { NomadScheduler, type Change, type NodeView, type Placement } from '../nomad/index.ts';
import { SampleSet } from '../../metrics/percentiles.ts';
import { TIMINGS } from '../timings.ts';
import { IdTable } from '../../util/id-table.ts';
import { ClientLiveness } from './client-liveness.ts';
import { ClientMetrics, type ClientReach } from './client-metrics.ts';
import { TimeIntegral } from '../autoscaling/cost.ts';

/** One task of a build placed on a Nomad client. */
interface TaskRun {
  /** The scheduler's allocation record (live, read-only): the run names it to the scheduler. */
  alloc: Placement;
  nodeId: string;
  build: Build;
  hasVm: boolean;
  running: boolean;
  /** The allocation is gone (node lost, job stopped, state wiped): pending callbacks are ignored. */
  gone: boolean;
}

export { HEARTBEAT_TIMEOUT_MS } from './client-liveness.ts';

/**
 * The Nomad server and its client fleet: the scheduler places each build's tasks; a client starts the build
 * agent, which (for `machine` and remote Docker jobs) first gets an EC2 instance from vm-service, runs the
 * steps, and reports to output-processor. Queue time ends when the build's first task starts running.
 *
 * Failure modes, from the mechanics:
 * - nomad_server down: nothing new can be registered (schedulerer drops what it takes); clients keep running
 *   their tasks and report the ends once the server is back (its state is on disk, in /opt/nomad);
 * - /opt/nomad wiped: the server forgets every job and allocation; clients kill allocations the server does
 *   not know, so running builds vanish (they show Running forever) and pending ones are forgotten;
 * - a client lost (terminated, or cut off by a partition past the heartbeat timeout): its allocations are
 *   lost; CircleCI fails those builds as infrastructure failures and re-runs them.
 */
export class NomadFleet implements NomadSubmitter {
  readonly scheduler: NomadScheduler;
  /** Task runs by allocation serial, i.e. in placement order. */
  private readonly runs = new IdTable<TaskRun>();
  /** Builds with a job at the Nomad server, by build number (see `buildOf`). */
  private readonly builds = new IdTable<Build>();
  /** Builds whose sibling jobs are being stopped after an allocation was lost (see `placed`). */
  private readonly retiredBuildIds = new Set<number>();
  readonly queueTimes = new SampleSet();
  /** Run-queue entry until the first task runs steps: queue time plus the wait for a VM. */
  readonly startDelays = new SampleSet();
  /** Wait for capacity: from registration with the Nomad server until the first task is placed. */
  readonly capacityWaits = new SampleSet();
  readonly nodeIds: string[] = [];
  /** Which clients heartbeat, and what the server decides when they stop (shared with the live replay). */
  private readonly liveness: ClientLiveness;
  /** End-of-task reports held by a stopped agent, delivered if it comes back. */
  private readonly heldByNode = new Map<string, (() => void)[]>();
  /** Client instances running (launched, not terminated) over time: machine-milliseconds, for the cost. */
  readonly instanceMs = new TimeIntegral();
  /** Queue time summed over builds (the developers' waiting, for the cost). */
  queueTimeSumMs = 0;
  runningTasks = 0;
  peakRunningTasks = 0;
  usedCpuMilli = 0;
  usedMemoryMb = 0;
  tasksCompleted = 0;
  tasksLost = 0;
  /** Each client's nomad-metrics (`--client`), sampled on the statsd tick. */
  private readonly clientMetrics: ClientMetrics;
  /** Scheduler updates clients could not deliver while the Nomad server was down, applied when it is back. */
  private deferred: (() => void)[] = [];
  /** Build agents' end-of-task reports held back by a partition. */
  private heldReports: (() => void)[] = [];
  private retryScheduled = false;
  private retryBuild: ((build: Build, reason: string) => void) | undefined;

  constructor(
    private readonly world: World,
    private readonly vm: VmService,
    private readonly output: OutputProcessor,
    private readonly audit: AuditLog,
    private readonly fates: Fates,
  ) {
    const nc = world.profile.nomad_client;
    this.scheduler = new NomadScheduler({
      rng: world.rng.fork('nomad'),
      reservedCpuMilli: nc.reserved_cpu * 1000,
      reservedMemoryMb: nc.reserved_memory_gb * 1024,
      algorithm: world.scenario.topology.scheduler,
    });
    this.clientMetrics = new ClientMetrics(world.telegraf);
    this.liveness = new ClientLiveness(
      {
        isRunning: () => world.services.isUp('nomad_server'),
        whenReachable: (op) => this.whenServerUp(op),
        isDown: (id) => this.scheduler.node(id)?.status === 'down',
        setStatus: (id, status) => this.apply(this.scheduler.setNodeStatus(id, status)),
      },
      (ms, fn) => world.sim.schedule(ms, fn),
    );
    world.services.onChange('nomad_server', (_n, state) => {
      if (state === 'running') this.serverBack();
    });
  }

  /** How builds failed for infrastructure reasons are re-run (workflows-conductor's retry, wired by the twin). */
  onInfrastructureFailure(retry: (build: Build, reason: string) => void): void {
    this.retryBuild = retry;
  }

  private get serverUp(): boolean {
    return this.world.services.isUp('nomad_server') && !this.liveness.partitioned;
  }

  /** Adds `count` clients of the scenario's size; they register ready. */
  addClients(count: number): void {
    const { cpus, memoryGb } = this.world.scenario.topology.nomadClients;
    for (let i = 0; i < count; i++) {
      const n = this.nodeIds.length;
      const id = this.scheduler.addNode({ name: `ip-10-0-${(n >> 8) & 255}-${n & 255}`, cpuMilli: cpus * 1000, memoryMb: memoryGb * 1024, datacenter: 'us-east-1', nodeClass: this.world.profile.nomad_client.node_class });
      this.nodeIds.push(id);
    }
    this.countInstances();
    this.requestRetry();
  }

  /** Clients that are not lost (terminated or marked down). */
  liveNodeIds(): string[] {
    return this.nodeIds.filter((id) => !this.liveness.isGone(id));
  }

  /** Usable capacity of the live fleet after the per-client reservation. */
  usableCpuMilli(): number {
    const { cpus } = this.world.scenario.topology.nomadClients;
    return (this.nodeIds.length - this.liveness.goneCount) * (cpus - this.world.profile.nomad_client.reserved_cpu) * 1000;
  }

  submit(build: Build): void {
    const rc = build.resourceClass;
    this.builds.set(build.id, build);
    build.stage = 'pending';
    build.submittedAtMs = this.world.sim.nowMs;
    this.audit.record('workflow.job.scheduled');
    // As the seeds say: parallelism N runs as N Nomad jobs, one per container.
    for (let i = 0; i < build.tasksTotal; i++) this.apply(this.scheduler.registerJob({ id: build.nomadJobIdOf(i), count: 1, cpuMilli: rc.cpuMilli, memoryMb: rc.memoryMb }));
  }

  /** Drains a client (running allocations finish, nothing new is placed) or takes it out of drain. */
  setDrain(nodeId: string, enable: boolean): void {
    this.whenServerUp(() => this.apply(this.scheduler.setDrain(nodeId, enable)));
  }

  /** A client instance is terminated: its build agents die; the server marks it down after the heartbeat timeout. */
  terminate(nodeId: string): void {
    if (this.liveness.isTerminated(nodeId)) return;
    this.liveness.terminate(nodeId);
    this.countInstances();
    for (const run of [...this.runs.values()]) if (run.nodeId === nodeId) this.markGone(run);
  }

  /**
   * A client's Nomad agent stops (killed, or its instance gone): its tasks run on but it neither heartbeats
   * nor reports; what the server then decides is client liveness (`client-liveness.ts`). An agent back within
   * the timeout reattaches to its tasks and delivers the reports it held.
   */
  agentDown(nodeId: string): void {
    this.liveness.agentDown(nodeId);
  }

  /** Clients whose agent comes back (restarted, or started again): they re-register ready and deliver what they held. */
  restore(nodeIds: readonly string[]): void {
    for (const id of this.liveness.agentsBack(nodeIds)) {
      const held = this.heldByNode.get(id) ?? [];
      this.heldByNode.delete(id);
      for (const report of held) report();
    }
    this.requestRetry();
  }

  /**
   * Clients terminated outside the fleet's control (the `terminate_instance` fault) are replaced: by the Auto Scaling
   * Group when the scenario has one (it learns of the termination and launches a replacement that boots for its
   * `boot_time`), else by a launch that joins after `nomad_clients.boot_time`.
   */
  replaceTerminated(nodeIds: readonly string[]): void {
    if (this.onTerminatedOutside !== undefined) this.onTerminatedOutside(nodeIds);
    else for (let i = 0; i < nodeIds.length; i++) this.launch(this.world.scenario.topology.nomadClients.bootTimeMs);
  }

  /** Set by the Auto Scaling Group that owns the clients: it is told of terminations it did not make. */
  onTerminatedOutside: ((nodeIds: readonly string[]) => void) | undefined;

  /** Instances launched and still booting: billed from launch, in the fleet once booted. */
  booting = 0;

  /** Launches one client instance that registers after `bootMs`; `onBooted` learns its node id. */
  launch(bootMs: number, onBooted?: (nodeId: string) => void): void {
    this.booting++;
    this.countInstances();
    this.world.sim.schedule(bootMs, this.booted, onBooted);
  }

  private readonly booted = (onBooted: ((nodeId: string) => void) | undefined): void => {
    this.booting--;
    this.addClients(1);
    const id = this.nodeIds[this.nodeIds.length - 1]!;
    this.world.trace?.(`${this.world.sim.nowMs} client ${id} booted and registered`);
    onBooted?.(id);
  };

  /** How many client instances are not terminated (`instanceIds().length`, without the list). */
  get instanceCount(): number {
    return this.nodeIds.length - this.liveness.terminatedCount;
  }

  /** Client instances not terminated (in service, draining or with a stopped agent), in launch order. */
  instanceIds(): string[] {
    return this.nodeIds.filter((id) => !this.liveness.isTerminated(id));
  }

  /** Non-terminal allocations on a client. */
  allocsOn(nodeId: string): number {
    return this.scheduler.node(nodeId)?.runningAllocs ?? 0;
  }

  /** Clients (ready, eligible, not draining) with room for one more task of this size. */
  clientsWithRoomFor(cpuMilli: number, memoryMb: number): number {
    let n = 0;
    for (const v of this.scheduler.nodes()) {
      if (v.status !== 'ready' || v.drain || v.eligibility !== 'eligible' || this.liveness.isTerminated(v.id)) continue;
      const freeCpu = v.totalCpuMilli - Math.min(v.reservedCpuMilli, v.totalCpuMilli) - v.usedCpuMilli;
      const freeMem = v.totalMemoryMb - Math.min(v.reservedMemoryMb, v.totalMemoryMb) - v.usedMemoryMb;
      if (freeCpu >= cpuMilli && freeMem >= memoryMb) n++;
    }
    return n;
  }

  private countInstances(): void {
    this.instanceMs.set(this.world.sim.nowMs, this.nodeIds.length - this.liveness.terminatedCount + this.booting);
  }

  /** The Services machine and the clients cannot reach each other (or can again). */
  setPartitioned(on: boolean): void {
    if (on === this.liveness.partitioned) return;
    // Past the heartbeat timeout the server marks the cut-off clients down; on heal they re-register.
    this.liveness.setPartitioned(on, () => this.liveNodeIds());
    if (on) {
      // Build agents cannot reach output-processor: the live output of running steps is lost.
      for (const run of this.runs.values()) if (run.running) this.output.liveOutputInterrupted(run.build);
    } else {
      const held = this.heldReports;
      this.heldReports = [];
      for (const report of held) report();
      this.serverBack();
    }
  }

  /** Jobs of a restored /opt/nomad that no build agent runs (`restoreStaleJobs`), by job id. */
  private readonly staleJobIds = new Set<string>();

  /**
   * A restored /opt/nomad (the Services machine brought back from an older snapshot, its Nomad state kept): the
   * server holds jobs whose allocations no client runs. They are placed and read `running`, hold their CPU and
   * memory, and never end, so new builds wait behind them, until the state is wiped (`wipeServerState`).
   */
  restoreStaleJobs(jobs: readonly { id: string; cpuMilli: number; memoryMb: number }[]): void {
    for (const j of jobs) {
      this.staleJobIds.add(j.id);
      this.apply(this.scheduler.registerJob({ id: j.id, count: 1, cpuMilli: j.cpuMilli, memoryMb: j.memoryMb }));
    }
  }

  /** Stale allocations the server holds (placed for a job of a restored /opt/nomad, not ended). */
  staleAllocations(): number {
    let n = 0;
    for (const id of this.staleJobIds) n += this.scheduler.jobAllocs(id).filter((a) => a.clientStatus === 'running' || a.clientStatus === 'pending').length;
    return n;
  }

  /** The seeds' `rm -rf /opt/nomad`: the server forgets every job and allocation. */
  wipeServerState(): void {
    this.staleJobIds.clear();
    const { lostJobs } = this.scheduler.wipeState();
    const reason = REASONS.nomadWipedRunning;
    for (const run of [...this.runs.values()]) {
      this.markGone(run);
      this.fates.lose(run.build, reason);
      this.output.abandon(run.build);
    }
    for (const jobId of lostJobs) {
      const build = this.buildOf(jobId);
      if (build === undefined) continue;
      this.builds.delete(build.id);
      this.fates.lose(build, REASONS.nomadWipedPending);
      this.output.abandon(build);
    }
    this.deferred = [];
  }

  /**
   * The statsd tick's look at the clients, one pass over the server's nodes: each client's nomad-metrics
   * (`client-metrics.ts`) and the fragmentation sample.
   */
  readonly sampleClients = (): void => {
    const nodes = this.scheduler.nodesNow();
    // What the clients get across this tick (see `ClientReach`): the same for all unless some agent is gone.
    this.serverReach = this.liveness.partitioned ? 'silent' : this.world.services.isUp('nomad_server') ? 'report' : 'poll_failure';
    // Every client's reach stays what it was while the server's reach, the gone agents and the nodes' positions do.
    const registrations = this.scheduler.registrations;
    if (this.serverReach !== this.keyedReach || this.liveness.changes !== this.keyedLiveness || registrations !== this.keyedRegistrations) {
      this.reachKey++;
      this.keyedReach = this.serverReach;
      this.keyedLiveness = this.liveness.changes;
      this.keyedRegistrations = registrations;
    }
    this.clientMetrics.sample(nodes, this.liveness.goneCount === 0 ? this.sameReach : this.clientReach, this.reachKey);
    this.sampleFragmentation(nodes);
  };

  private serverReach: ClientReach = 'report';
  private reachKey = 0;
  private keyedReach: ClientReach | undefined;
  private keyedLiveness = -1;
  private keyedRegistrations = -1;
  private readonly sameReach = (): ClientReach => this.serverReach;
  /** A terminated machine sends nothing; a stopped agent fails its polls. */
  private readonly clientReach = (nodeId: string): ClientReach => {
    if (this.serverReach === 'silent' || this.liveness.isTerminated(nodeId)) return 'silent';
    return this.liveness.isGone(nodeId) ? 'poll_failure' : this.serverReach;
  };

  /**
   * Samples fragmentation: the share of the fleet's free usable CPU that sits on partly used clients (ready,
   * eligible, running at least one allocation) rather than on empty ones. Bin-packing keeps it low (free
   * capacity stays in whole clients, which large jobs and scale-in need); spread drives it towards 1.
   * Samples with no free CPU, or with no allocation anywhere (nothing to fragment), are skipped.
   */
  private sampleFragmentation(nodes: readonly NodeView[]): void {
    let freeOnPartial = 0;
    let free = 0;
    let busy = 0;
    for (const n of nodes) {
      if (n.status !== 'ready' || n.drain || n.eligibility !== 'eligible') continue;
      const f = n.totalCpuMilli - Math.min(n.reservedCpuMilli, n.totalCpuMilli) - n.usedCpuMilli;
      free += f;
      if (n.runningAllocs > 0) {
        busy++;
        freeOnPartial += f;
      }
    }
    if (free <= 0 || busy === 0) return;
    this.fragmentationSum += freeOnPartial / free;
    this.fragmentationSamples++;
  }

  private fragmentationSum = 0;
  private fragmentationSamples = 0;

  /** Mean of the fragmentation samples (0 with none). */
  get fragmentation(): number {
    return this.fragmentationSamples === 0 ? 0 : this.fragmentationSum / this.fragmentationSamples;
  }

  /** Nomad's periodic garbage collection of terminal jobs. */
  readonly gc = (): void => {
    if (this.serverUp) this.scheduler.gc();
  };

  /** Runs a scheduler update now, or when the server is reachable again. */
  private whenServerUp(op: () => void): void {
    if (this.serverUp) op();
    else this.deferred.push(op);
  }

  private serverBack(): void {
    if (!this.serverUp) return;
    const ops = this.deferred;
    this.deferred = [];
    for (const op of ops) op();
    this.requestRetry();
  }

  /** Offers capacity to blocked evaluations (after nodes join, or when a bounded retry left some over). */
  private requestRetry(): void {
    if (this.retryScheduled) return;
    this.retryScheduled = true;
    this.world.sim.schedule(0, this.retryBlocked);
  }

  private readonly retryBlocked = (): void => {
    this.retryScheduled = false;
    if (this.serverUp) this.apply(this.scheduler.retryBlocked());
  };

  /** The build whose Nomad job this is: its id leads back to the build number (`Build.nomadJobId`). */
  private buildOf(jobId: string): Build | undefined {
    const build = this.builds.get(buildIdOfNomadJob(jobId));
    if (build === undefined) return undefined;
    const index = containerIndexOfNomadJob(jobId);
    return index >= 0 && index < build.tasksTotal && build.nomadJobIdOf(index) === jobId ? build : undefined;
  }

  private apply(change: Change): void {
    // Indexed loops: `for…of` allocated an iterator per list here (the lists mix the shared frozen empty
    // array with ordinary ones), and this runs once or twice per task.
    const { placed, lost, stopped } = change;
    for (let k = 0; k < placed.length; k++) this.placed(placed[k]!);
    for (let k = 0; k < lost.length; k++) this.allocLost(lost[k]!, REASONS.allocationLost);
    for (let k = 0; k < stopped.length; k++) {
      const run = this.runs.get(stopped[k]!.serial);
      if (run) this.markGone(run);
    }
    if (change.unblockPending) this.requestRetry();
  }

  private placed(p: Placement): void {
    if (this.staleJobIds.has(p.jobId)) {
      // The server's record says it runs: nothing does, nothing will end it (see restoreStaleJobs).
      this.scheduler.markRunning(p);
      return;
    }
    const build = this.buildOf(p.jobId);
    if (build === undefined) {
      // A container's job placed while its build was being torn down: stopping a lost build's sibling jobs one by
      // one frees capacity, and the scheduler may place the next sibling before it is stopped in turn. Its build
      // already has a fate, so the job is stopped now (as the later stopJob would have done).
      if (this.retiredBuildIds.has(buildIdOfNomadJob(p.jobId))) {
        this.apply(this.scheduler.stopJob(p.jobId));
        return;
      }
      throw new Error(`placement for unknown job ${p.jobId}`);
    }
    const container = containerIndexOfNomadJob(p.jobId);
    if (container === 0) this.capacityWaits.add(this.world.sim.nowMs - build.submittedAtMs);
    const run: TaskRun = { alloc: p, nodeId: p.nodeId, build, hasVm: false, running: false, gone: false };
    this.runs.set(p.serial, run);
    this.world.trace?.(`${this.world.sim.nowMs} alloc ${p.allocId} of ${build.name} task ${container} placed on ${p.nodeId}`);
    const rc = build.resourceClass;
    this.usedCpuMilli += rc.cpuMilli;
    this.usedMemoryMb += rc.memoryMb;
    this.world.sim.schedule(TIMINGS.clientStartMs, this.startTask, run);
  }

  private readonly startTask = (run: TaskRun): void => {
    if (run.gone) return;
    const { sim } = this.world;
    const build = run.build;
    run.running = true;
    if (this.serverUp) this.scheduler.markRunning(run.alloc);
    else
      this.deferred.push(() => {
        if (this.scheduler.alloc(run.alloc)?.clientStatus === 'pending') this.scheduler.markRunning(run.alloc);
      });
    this.runningTasks++;
    if (this.runningTasks > this.peakRunningTasks) this.peakRunningTasks = this.runningTasks;
    if (build.firstTaskStartMs < 0) {
      build.firstTaskStartMs = sim.nowMs;
      build.stage = 'running';
      this.queueTimes.add(sim.nowMs - build.enteredRunQueueMs);
      this.queueTimeSumMs += sim.nowMs - build.enteredRunQueueMs;
      this.audit.record('workflow.job.start');
      this.output.started(build);
    }
    const executor = build.template.executor;
    if (executor === 'machine' || executor === 'remote_docker') {
      run.hasVm = true;
      this.vm.acquire(executor, run, this.runSteps, this.vmFailed, build.template.dockerLayerCaching === true);
    } else this.runSteps(run);
  };

  private readonly runSteps = (run: TaskRun): void => {
    if (run.gone) return;
    const build = run.build;
    if (build.stepsStartMs < 0) {
      build.stepsStartMs = this.world.sim.nowMs;
      this.startDelays.add(build.stepsStartMs - build.enteredRunQueueMs);
    }
    // One Nomad job per container (the seeds' parallelism): the container's index is in its job id.
    const ms = run.build.taskDurationsMs[containerIndexOfNomadJob(run.alloc.jobId)]!;
    this.world.sim.schedule(ms, this.endTask, run);
  };

  private readonly vmFailed = (run: TaskRun, reason: string): void => {
    if (run.gone) return;
    run.hasVm = false;
    run.build.infraFailure ??= reason;
    this.endTask(run, false);
  };

  private readonly endTask = (run: TaskRun, ok = true): void => {
    if (run.gone) return;
    if (this.liveness.partitioned) {
      // The build agent cannot report its end across the partition; it retries once the network is back.
      this.heldReports.push(() => this.endTask(run, ok));
      return;
    }
    if (this.liveness.isGone(run.nodeId)) {
      const held = this.heldByNode.get(run.nodeId) ?? [];
      held.push(() => this.endTask(run, ok));
      this.heldByNode.set(run.nodeId, held);
      return;
    }
    const build = run.build;
    this.world.trace?.(`${this.world.sim.nowMs} alloc ${run.alloc.allocId} of ${build.name} ended ${ok ? 'complete' : 'failed'}`);
    this.release(run);
    this.tasksCompleted++;
    build.tasksDone++;
    if (!ok) build.tasksFailed++;
    if (build.tasksDone === build.tasksTotal) {
      this.builds.delete(build.id);
      this.output.finish(build);
    }
    if (this.serverUp) this.apply(this.scheduler.finishAlloc(run.alloc, ok ? 'complete' : 'failed'));
    else
      this.deferred.push(() => {
        // The server may have declared the allocation lost meanwhile (a partition past the heartbeat timeout).
        const status = this.scheduler.alloc(run.alloc)?.clientStatus;
        if (status === 'pending' || status === 'running') this.apply(this.scheduler.finishAlloc(run.alloc, ok ? 'complete' : 'failed'));
      });
  };

  /** An allocation the server declared lost: CircleCI fails the build as an infrastructure failure and re-runs it. */
  private allocLost(p: Placement, reason: string): void {
    const run = this.runs.get(p.serial);
    if (run) this.markGone(run);
    const build = run?.build ?? this.buildOf(p.jobId);
    if (build === undefined) return;
    build.tasksLost++;
    this.tasksLost++;
    if (build.fate !== undefined) return;
    this.builds.delete(build.id);
    this.output.abandon(build);
    this.retiredBuildIds.add(build.id);
    for (let i = 0; i < build.tasksTotal; i++) {
      // A container's job that ended may have been collected already.
      const id = build.nomadJobIdOf(i);
      if (this.scheduler.job(id) !== undefined) this.apply(this.scheduler.stopJob(id));
    }
    this.retiredBuildIds.delete(build.id);
    if (this.retryBuild) this.retryBuild(build, reason);
    else this.fates.fail(build, reason);
  }

  /** Frees what a run held; its pending callbacks become no-ops. */
  private markGone(run: TaskRun): void {
    if (run.gone) return;
    this.release(run);
    run.gone = true;
  }

  private release(run: TaskRun): void {
    if (!this.runs.delete(run.alloc.serial)) return;
    if (run.hasVm) this.vm.release();
    run.hasVm = false;
    if (run.running) this.runningTasks--;
    run.running = false;
    const rc = run.build.resourceClass;
    this.usedCpuMilli -= rc.cpuMilli;
    this.usedMemoryMb -= rc.memoryMb;
  }
}
